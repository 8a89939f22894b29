"""The gradebook (learners × items, CSV) and item analysis, for staff only."""

import csv
import io

import pytest
from django.urls import reverse

from grader.attempts import services


@pytest.fixture
def answered(quiz, example_2, learner, other_learner):
    one, two = quiz.questions.order_by("order")
    services.submit_quiz(learner.pk, quiz, {one.pk: ["B"], two.pk: ["A", "C"]})
    services.submit_quiz(other_learner.pk, quiz, {one.pk: ["A"], two.pk: ["A"]})
    services.submit_quiz(other_learner.pk, quiz, {one.pk: ["B"], two.pk: ["A", "D"]})
    services.submit_problem(learner.pk, example_2, selected=["B"])
    return quiz


@pytest.fixture
def staff_client(client, admin_user):
    client.force_login(admin_user)
    return client


def test_the_gradebook_csv_has_a_row_per_learner_and_best_scores_per_item(answered, staff_client):
    response = staff_client.get(reverse("admin:grader_gradebook"), {"format": "csv"})
    assert response["Content-Type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(response.content.decode())))
    assert rows[0] == [
        "learner", "email",
        "25-01 Example 2: Detecting Polysemanticity", "25-01 Quiz",
        "25-01 Example 2: Detecting Polysemanticity (attempts)", "25-01 Quiz (attempts)",
    ]
    assert rows[1:] == [
        ["ada", "ada@example.org", "1.000", "1.000", "1", "1"],
        ["grace", "grace@example.org", "", "0.500", "0", "2"],
    ]


def test_the_gradebook_page_shows_scores_and_attempts(answered, staff_client):
    page = staff_client.get(reverse("admin:grader_gradebook")).content.decode()
    assert "50% (2)" in page and "100% (1)" in page


def test_item_analysis_counts_picks_mean_scores_and_first_attempts(answered, staff_client):
    page = staff_client.get(reverse("admin:grader_item_analysis", args=[answered.pk])).content.decode()
    assert "3 attempts by 2 learners" in page
    # Question 1: B picked twice, A once; mean 2/3; first attempts: ada right, grace wrong.
    assert "Responses: 3 · mean score 67% · mean on first attempts 50%" in page
    assert "Worked example: Example 2: Detecting Polysemanticity" in page


def test_learners_cannot_see_the_gradebook_or_item_analysis(answered, learner_client):
    assert learner_client.get(reverse("admin:grader_gradebook"), {"format": "csv"}).status_code == 302
    assert learner_client.get(reverse("admin:grader_item_analysis", args=[answered.pk])).status_code == 302


def test_the_attempt_list_links_to_both(answered, staff_client):
    page = staff_client.get(reverse("admin:grader_quizattempt_changelist")).content.decode()
    assert reverse("admin:grader_gradebook") in page
    assert reverse("admin:grader_item_analysis", args=[answered.pk]) in page


@pytest.mark.parametrize(
    ("username", "email"),
    [("+cmd", "=cmd|'/Ccalc'!A0@x.org"), ("-2+3", "@SUM(1+1)@x.org"), ("=HYPERLINK", "ok@x.org")],
)
def test_the_gradebook_csv_never_starts_a_cell_with_a_formula_character(answered, staff_client, django_user_model, username, email):
    django_user_model.objects.create_user(username, email, "pw-123-abc")
    rows = list(csv.reader(io.StringIO(staff_client.get(reverse("admin:grader_gradebook"), {"format": "csv"}).content.decode())))
    row = next(row for row in rows if row[0].lstrip("'") == username)
    assert row[:2] == ["'" + username, email if email.startswith("ok") else "'" + email]
    for cell in (cell for row in rows for cell in row):
        assert not cell or cell[0] not in "=+-@\t\r"


def test_tab_and_carriage_return_prefixes_are_neutralised_too():
    from grader.attempts.admin import safe_cell

    assert [safe_cell(v) for v in ["\t=1", "\r=1", "plain", "", 3, "1.000"]] == ["'\t=1", "'\r=1", "plain", "", 3, "1.000"]
