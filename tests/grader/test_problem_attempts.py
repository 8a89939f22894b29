"""Numeric and choice worked examples / practice problems, and self-assessed problems."""

import pytest
from django.urls import reverse

from grader.attempts import services
from grader.attempts.grading import InvalidAnswers
from grader.attempts.selectors import learner_variant, problem_state
from grader.models import ProblemAttempt, SelfAssessment


def typed_answers(variant):
    """What a learner who solved their own variant correctly types, to three decimals."""
    w = ", ".join(f"{x:.3f}" for x in variant.answers["w"])
    return {
        "w": f"[{w}]",
        "projection-positive": f"{variant.answers['projection-positive']:.3f}",
        "projection-negative": f"{variant.answers['projection-negative']:.3f}".replace("-", "\u2212"),
    }


def test_a_correct_solution_of_the_learners_own_variant_earns_full_marks(example_1, learner):
    typed = typed_answers(learner_variant(learner.pk, example_1))
    attempt = services.submit_problem(learner.pk, example_1, typed=typed)
    assert attempt.score == 1.0
    assert attempt.answers == typed
    assert attempt.variant == learner_variant(learner.pk, example_1).values


def test_another_learners_numbers_do_not_pass(example_1, learner, other_learner):
    typed = typed_answers(learner_variant(other_learner.pk, example_1))
    assert services.submit_problem(learner.pk, example_1, typed=typed).score < 0.5


def test_partial_credit_per_part_and_the_off_components_are_named(example_1, learner):
    variant = learner_variant(learner.pk, example_1)
    typed = typed_answers(variant)
    w = variant.answers["w"]
    typed["w"] = f"[{w[0]:.3f}, {w[1] + 0.5:.3f}, {w[2]:.3f}]"
    attempt = services.submit_problem(learner.pk, example_1, typed=typed)
    assert attempt.score == pytest.approx(2 / 3)
    assert attempt.part_results["w"]["passed"] is False
    assert attempt.part_results["w"]["off"] == [2]
    assert attempt.part_results["projection-positive"]["passed"] is True


def test_part_weights_shape_the_score(problem_1, learner):
    problem_1.parts.filter(key="f4-squared-norm").update(weight=2)
    typed = {"f1-f4": "0.6", "f2-f4": "3/5", "f3-f4": ".528", "f4-squared-norm": "0.5"}
    assert services.submit_problem(learner.pk, problem_1, typed=typed).score == pytest.approx(3 / 5)


def test_the_lesson_numbers_of_problem_1_pass_and_a_wrong_answer_scores_low(problem_1, learner):
    right = {"f1-f4": "0.6", "f2-f4": "0.6", "f3-f4": "0.528", "f4-squared-norm": "0.999"}
    assert services.submit_problem(learner.pk, problem_1, typed=right).score == 1.0
    wrong = {"f1-f4": "1", "f2-f4": "1", "f3-f4": "1", "f4-squared-norm": "3"}
    assert services.submit_problem(learner.pk, problem_1, typed=wrong).score == 0.0


def test_problem_4_accepts_about_1130_written_as_people_write_it(problem_4, learner):
    expected = learner_variant(learner.pk, problem_4).answers["max-features"]
    attempt = services.submit_problem(learner.pk, problem_4, typed={"max-features": f"{expected * 1.04:,.0f}"})
    assert attempt.score == 1.0
    assert services.submit_problem(learner.pk, problem_4, typed={"max-features": f"{expected * 1.2:.3e}"}).score == 0.0


def test_unreadable_parts_are_all_reported_and_use_no_attempt(problem_1, learner):
    typed = {"f1-f4": "1..2", "f2-f4": "0.6", "f3-f4": "", "f4-squared-norm": "nan"}
    with pytest.raises(InvalidAnswers) as refusal:
        services.submit_problem(learner.pk, problem_1, typed=typed)
    assert set(refusal.value.errors) == {"f1-f4", "f3-f4", "f4-squared-norm"}
    assert "received “1..2”" in refusal.value.errors["f1-f4"]
    assert not ProblemAttempt.objects.exists()


def test_example_2_is_graded_as_a_choice_question(example_2, learner):
    wrong = services.submit_problem(learner.pk, example_2, selected=["A"])
    right = services.submit_problem(learner.pk, example_2, selected=["B"])
    assert (wrong.number, wrong.score, right.number, right.score) == (1, 0.0, 2, 1.0)
    assert right.responses.get().selected == ["B"]


def test_self_assessment_keeps_the_written_answer_and_the_ticked_points(problem_2, learner):
    assert not problem_state(problem_2, learner.pk).reference_visible
    services.write_self_assessment(learner.pk, problem_2, "Presence is not use.")
    assert problem_state(problem_2, learner.pk).reference_visible
    first_point = problem_2.rubric.get(order=1)
    assessment = services.assess_self(learner.pk, problem_2, [first_point.pk])
    assert assessment.response == "Presence is not use."
    assert list(assessment.points_made.all()) == [first_point]
    assert assessment.score == pytest.approx(2 / 3)


def test_self_assessment_happens_once_in_order_with_points_of_this_problem(problem_2, learner):
    with pytest.raises(services.AttemptRefused, match="Write your own answer first"):
        services.assess_self(learner.pk, problem_2, [])
    with pytest.raises(InvalidAnswers, match="received nothing"):
        services.write_self_assessment(learner.pk, problem_2, "   ")
    services.write_self_assessment(learner.pk, problem_2, "My answer")
    with pytest.raises(services.AttemptRefused, match="already written"):
        services.write_self_assessment(learner.pk, problem_2, "A better answer after peeking")
    with pytest.raises(InvalidAnswers, match="received \\[999\\]"):
        services.assess_self(learner.pk, problem_2, [999])
    services.assess_self(learner.pk, problem_2, [])
    with pytest.raises(services.AttemptRefused, match="already marked"):
        services.assess_self(learner.pk, problem_2, [p.pk for p in problem_2.rubric.all()])
    assert SelfAssessment.objects.get().score == 0.0


# --- pages ----------------------------------------------------------------------------------------


def test_the_problem_page_shows_the_learners_numbers_and_no_solution_before_an_attempt(example_1, learner, learner_client):
    variant = learner_variant(learner.pk, example_1)
    page = learner_client.get(reverse("grader:problem", args=["worked-example", example_1.pk])).content.decode()
    assert variant.values["a1"] in page and variant.values["a2"] in page
    assert "{{a1}}" not in page
    assert f"{variant.answers['projection-positive']:.3f}" not in page


def test_the_problem_form_grades_and_shows_each_part(example_1, learner, learner_client):
    url = reverse("grader:problem", args=["worked-example", example_1.pk])
    typed = typed_answers(learner_variant(learner.pk, example_1))
    typed["projection-negative"] = "0.4"
    page = learner_client.post(url, {f"part-{k}": v for k, v in typed.items()}, follow=True).content.decode()
    assert page.count("✓ Within tolerance.") == 2
    assert "✗ Not within tolerance." in page
    assert "Latest score: <strong>67%</strong>" in page


def test_the_problem_form_explains_unreadable_input_inline_and_keeps_it(problem_1, learner_client):
    url = reverse("grader:problem", args=["practice-problem", problem_1.pk])
    form = {"part-f1-f4": "abc", "part-f2-f4": "0.6", "part-f3-f4": "0.528", "part-f4-squared-norm": "1"}
    page = learner_client.post(url, form).content.decode()
    assert "Expected a number such as 0.6, 3/5, -0.748 or 1.13e3; received “abc”." in page
    assert 'value="abc"' in page
    assert not ProblemAttempt.objects.exists()


def test_example_2_page_hides_explanations_until_answered(example_2, learner_client):
    url = reverse("grader:problem", args=["worked-example", example_2.pk])
    assert "Because B explains" not in learner_client.get(url).content.decode()
    page = learner_client.post(url, {"choice": "A"}, follow=True).content.decode()
    assert "Because A explains" in page and "Because B explains" in page
    assert "Wrong choice, and you chose it." in page


def test_the_self_assessment_pages_reveal_the_reference_only_after_writing(problem_2, learner_client):
    url = reverse("grader:problem", args=["practice-problem", problem_2.pk])
    page = learner_client.get(url).content.decode()
    assert "Presence is not use; intervene causally" not in page and "Says presence is not use" not in page
    page = learner_client.post(url, {"response": "Only correlation"}, follow=True).content.decode()
    assert "No: presence is not use; intervene causally." in page
    assert "Says presence is not use" in page
    point = problem_2.rubric.get(order=2)
    page = learner_client.post(url, {"points": [str(point.pk)]}, follow=True).content.decode()
    assert "33%" in page


def test_staff_can_see_any_learners_variant(example_1, learner, client, admin_user, learner_client):
    url = reverse("grader:variants", args=["worked-example", example_1.pk])
    assert learner_client.get(url).status_code == 302
    client.force_login(admin_user)
    page = client.get(url, {"learner": learner.pk}).content.decode()
    assert learner_variant(learner.pk, example_1).values["a1"] in page
    assert "ada" in page
