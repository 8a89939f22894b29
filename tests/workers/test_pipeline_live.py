"""The whole road through a real Redis and a real Celery worker process: every submission ends graded
exactly once, also when the broker restarts with submissions queued. The worker is shared by the module."""

import pytest

from grader.models import Submission
from grader.submissions import services
from tests.courses.test_browser import ARTIFACTS, CHROMEDRIVER, CHROMIUM, browser  # noqa: F401
from tests.grader.submission_fixtures import CORRECT_ADD, WRONG_ADD, make_exercise, slow_add
from tests.workers.live_pipeline import (  # noqa: F401
    assert_graded_exactly_once, broker, shared_worker, unlimited, wait_all_final, wait_for,
)

pytestmark = [pytest.mark.live_worker, pytest.mark.django_db(transaction=True)]
State = Submission.State


def test_happy_path_through_redis_and_a_worker(shared_worker, broker, learner, unlimited):
    exercise = make_exercise()
    right = services.submit(learner=learner, exercise=exercise, code=CORRECT_ADD)
    wrong = services.submit(learner=learner, exercise=exercise, code=WRONG_ADD)
    wait_all_final([right, wrong], 30, shared_worker)
    assert_graded_exactly_once([right])
    wrong.refresh_from_db()
    assert wrong.state == State.GRADED and wrong.score == 0.0
    assert "returned `-1`; expected `3`" in wrong.feedback
    assert (right.device, right.deliveries) == ("cpu", 1)
    assert right.worker.startswith("shared@")
    assert [e.to_state for e in right.events.all()] == [State.QUEUED, State.RUNNING, State.GRADED]


def test_redis_restarted_with_submissions_queued(shared_worker, broker, learner, unlimited):
    exercise = make_exercise()
    submissions = [services.submit(learner=learner, exercise=exercise, code=slow_add(seconds=0.2)) for _ in range(8)]
    wait_for(lambda: Submission.objects.filter(state=State.GRADED).exists(), 30, "the first grade", shared_worker)
    broker.restart()
    assert Submission.objects.filter(state=State.QUEUED).exists()  # some were still waiting in Redis
    wait_all_final(submissions, 60, shared_worker)
    assert_graded_exactly_once(submissions)


@pytest.mark.browser
@pytest.mark.skipif(not (CHROMIUM.exists() and CHROMEDRIVER.exists()), reason="needs Chromium: apt-get install chromium chromium-driver")
def test_a_learner_submits_in_the_browser_and_watches_it_graded(shared_worker, live_server, browser, client, learner, unlimited):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys
    from selenium.webdriver.support.ui import WebDriverWait

    exercise = make_exercise()
    client.force_login(learner)
    browser.get(f"{live_server.url}/accounts/login/")
    browser.add_cookie({"name": "sessionid", "value": client.cookies["sessionid"].value})
    browser.get(f"{live_server.url}{exercise.get_absolute_url()}")

    editor = WebDriverWait(browser, 10).until(lambda b: b.find_element(By.CSS_SELECTOR, ".CodeMirror"))
    assert editor.find_elements(By.CSS_SELECTOR, ".CodeMirror-linenumber")
    browser.execute_script("arguments[0].CodeMirror.setValue('')", editor)
    editor.click()
    editor.find_element(By.CSS_SELECTOR, "textarea").send_keys(Keys.TAB, "x")
    assert browser.execute_script("return arguments[0].CodeMirror.getValue()", editor) == "    x"
    assert editor.find_elements(By.CSS_SELECTOR, ".cm-variable")  # Python highlighting

    browser.execute_script("arguments[0].CodeMirror.setValue(arguments[1])", editor, CORRECT_ADD)
    browser.find_element(By.CSS_SELECTOR, "#submit-form button[type=submit]").click()
    live = browser.find_element(By.ID, "live")
    WebDriverWait(browser, 60).until(lambda b: "state-graded" in live.get_attribute("class"))
    assert "Graded: 10 / 10" in live.text and "4 of 4 test cases passed." in live.text
    row = browser.find_element(By.CSS_SELECTOR, "#history tbody tr")
    assert "graded" in row.text and "10 / 10" in row.text
    assert Submission.objects.get(learner=learner).state == State.GRADED
    ARTIFACTS.mkdir(exist_ok=True)
    browser.set_window_size(1280, 1600)
    browser.save_screenshot(str(ARTIFACTS / "exercise-page-graded.png"))
