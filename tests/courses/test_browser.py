"""Lesson 25-01 in headless Chromium: math is laid out, sections are visible, reveals work.

Needs Debian's chromium and chromium-driver (`apt-get install chromium chromium-driver`); skips
without them. Leaves a full-page screenshot in test-artifacts/ for a person to look at.
"""

import shutil
import tempfile
from pathlib import Path

import pytest
from django.conf import settings

from courses.services import import_lesson_folder
from tests.courses.conftest import LESSON_25_01

CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")
ARTIFACTS = Path(settings.BASE_DIR) / "test-artifacts"

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(
        not (CHROMIUM.exists() and CHROMEDRIVER.exists()),
        reason="needs Chromium: apt-get install chromium chromium-driver",
    ),
]


@pytest.fixture
def browser():
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    profile = tempfile.mkdtemp(prefix="mechgrade-chromium-")
    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for flag in ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                 "--disable-background-networking", "--disable-component-update", "--no-first-run",
                 "--disable-sync", f"--user-data-dir={profile}", "--window-size=1280,900"]:
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(executable_path=str(CHROMEDRIVER)), options=options)
    driver.set_page_load_timeout(30)
    yield driver
    driver.quit()
    shutil.rmtree(profile, ignore_errors=True)


def size(element) -> tuple[float, float]:
    return element.size["width"], element.size["height"]


def test_lesson_page_lays_out_math_and_reveals_answers(transactional_db, live_server, browser):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as EC
    from selenium.webdriver.support.ui import WebDriverWait

    import_lesson_folder(LESSON_25_01)
    browser.get(f"{live_server.url}/lessons/25-01/")
    assert browser.title.startswith("25-01 — Mechanistic Interpretability")

    display = browser.find_elements(By.CSS_SELECTOR, 'math[display="block"]')
    inline = browser.find_elements(By.CSS_SELECTOR, 'math[display="inline"]')
    assert display and inline
    for element in display[:5] + inline[:5]:
        width, height = size(element)
        assert width > 5 and height > 5, "MathML is laid out as math, not collapsed"
    fraction = browser.find_element(By.CSS_SELECTOR, "mfrac")
    assert size(fraction)[1] > size(inline[0])[1], "a fraction stacks numerator over denominator"

    for section in ["objectives", "core-content", "key-terms", "worked-examples", "practice-problems",
                    "quiz", "pitfalls", "summary", "next-steps"]:
        assert browser.find_element(By.ID, section).is_displayed()
    figure = browser.find_element(By.CSS_SELECTOR, "figure.figure img")
    assert browser.execute_script("return arguments[0].complete && arguments[0].naturalWidth", figure) > 0

    reveal = browser.find_element(By.CSS_SELECTOR, "#example-3 a[data-reveal]")
    browser.execute_script("arguments[0].scrollIntoView()", reveal)
    reveal.click()
    revealed = WebDriverWait(browser, 10).until(EC.visibility_of_element_located((By.CSS_SELECTOR, "#example-3 .revealed")))
    assert "Scrubbing tests whether L1.H3" in revealed.text
    assert browser.current_url.endswith("/lessons/25-01/"), "revealed in place, without leaving the page"

    ARTIFACTS.mkdir(exist_ok=True)
    height = browser.execute_script("return document.documentElement.scrollHeight")
    browser.set_window_size(1280, min(height + 100, 16000))
    browser.execute_script("window.scrollTo(0, 0)")
    assert browser.save_screenshot(str(ARTIFACTS / "lesson-25-01.png"))
