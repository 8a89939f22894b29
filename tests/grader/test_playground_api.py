"""The playground's JSON API: a run is queued on the playground queue, its result is only its author's, and
nothing is recorded as a submission. (The run itself, through the sandbox: tests/workers/test_playground.py.)"""

import json

from grader.models import Submission
from tests.grader.submission_fixtures import make_exercise
from workers import playground


def start(client, slug, code):
    return client.post(f"/api/playground/exercises/{slug}/runs", json.dumps({"code": code}), content_type="application/json")


def test_a_run_is_queued_with_the_exercises_limits_and_model_and_records_no_submission(learner_client, learner, sent):
    make_exercise(slug="circuit", kind="induction-circuit", config={}, needs_gpu=True)
    response = start(learner_client, "circuit", "print(model.cfg)")
    assert response.status_code == 202
    (run_id, learner_id, code, model, limits), queue = sent[0]
    assert (run_id, learner_id, code, model, queue) == (response.json()["id"], learner.pk, "print(model.cfg)", "induction-2l", "playground")
    assert limits["wall_seconds"] == 5.0 and limits["memory_bytes"] == 1024 * 1024 * 1024
    assert learner_client.get(f"/api/playground/runs/{run_id}").json()["status"] == "queued"
    assert not Submission.objects.exists()


def test_the_result_is_shown_to_its_author_only(learner_client, learner, other_learner, client, sent):
    make_exercise()
    run_id = start(learner_client, "add", "print(1)").json()["id"]
    playground.save_run(run_id, {"learner": learner.pk, "status": "ok", "stdout": "1\n", "figures": ["data:image/png;base64,x"]})
    result = learner_client.get(f"/api/playground/runs/{run_id}").json()
    assert (result["status"], result["stdout"], result["figures"]) == ("ok", "1\n", ["data:image/png;base64,x"])
    client.force_login(other_learner)
    assert client.get(f"/api/playground/runs/{run_id}").status_code == 404


def test_empty_code_is_refused_with_a_reason(learner_client, sent):
    make_exercise()
    response = start(learner_client, "add", "   ")
    assert response.status_code == 422
    assert "Your code is empty" in response.json()["detail"]
    assert sent == []


def test_unpublished_exercises_cannot_be_run_by_learners(learner_client, sent):
    make_exercise(is_published=False)
    assert start(learner_client, "add", "print(1)").status_code == 404


def test_the_run_button_posts_to_this_exercises_runs(rf, learner):
    from django.template.loader import render_to_string

    exercise = make_exercise()
    html = render_to_string("grader/submissions/_playground.html", {"exercise": exercise})
    assert 'data-start="/api/playground/exercises/add/runs"' in html
    assert 'id="run-button"' in html and "grader/playground.js" in html


def test_the_exercise_page_has_the_run_button_beside_submit(learner_client):
    make_exercise()
    html = learner_client.get("/grader/exercises/add/").content.decode()
    assert html.index("Submit for grading") < html.index('id="run-button"')
