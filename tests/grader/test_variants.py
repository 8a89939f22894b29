"""Generators: deterministic per learner, different across learners, and right against hand-computed values."""

import pytest

from django.core.exceptions import ValidationError
from django.urls import reverse

from grader.attempts.seeds import learner_rng
from grader.attempts.selectors import expected_answers, learner_variant
from grader.attempts.variants import feature_capacity, feature_direction, feature_interference
from grader.attempts.variants.base import Variant, show
from grader.attempts.variants.registry import generator_choices, get_generator, validate_generator


def test_example_1_with_the_lesson_activations_gives_the_lesson_answer():
    answers = feature_direction.solve([0.8, -0.3, 0.5], [-0.6, 0.2, -0.4])
    assert answers["w"] == pytest.approx([0.805, -0.288, 0.518], abs=1e-3)
    assert answers["projection-positive"] == pytest.approx(0.989, abs=1e-3)
    assert answers["projection-negative"] == pytest.approx(-0.748, abs=1e-3)


def test_problem_1_with_the_lesson_feature_gives_the_lesson_answer():
    answers = feature_interference.solve([0.6, 0.6, 0.528])
    assert answers == pytest.approx({"f1-f4": 0.6, "f2-f4": 0.6, "f3-f4": 0.528, "f4-squared-norm": 0.998784})


def test_problem_4_with_the_lesson_numbers_gives_about_1130_features():
    assert feature_capacity.solve(512, 0.01)["max-features"] == pytest.approx(1131.4, abs=0.05)


@pytest.mark.parametrize("slug", ["feature_direction", "feature_interference", "feature_capacity"])
def test_every_generator_is_registered_and_produces_its_answer_keys(slug):
    generator = get_generator(slug)
    variant = generator.variant(learner_rng(1, "test"))
    assert set(variant.answers) == set(generator.answer_keys)
    assert (slug, generator.title) in generator_choices()


@pytest.mark.parametrize("slug", ["feature_direction", "feature_interference", "feature_capacity"])
def test_a_learner_always_gets_the_same_variant_and_learners_differ(slug):
    generator = get_generator(slug)
    first = generator.variant(learner_rng(7, "variant:x:1"))
    assert generator.variant(learner_rng(7, "variant:x:1")) == first
    others = {str(generator.variant(learner_rng(learner, "variant:x:1")).values) for learner in range(8, 40)}
    assert len(others | {str(first.values)}) > 3


def test_drawn_example_1_numbers_solve_to_the_drawn_answers():
    variant = get_generator("feature_direction").variant(learner_rng(3, "variant:x:1"))
    a1 = [float(x) for x in variant.values["a1"].strip("[]").split(",")]
    a2 = [float(x) for x in variant.values["a2"].strip("[]").split(",")]
    solved = feature_direction.solve(a1, a2)
    assert variant.answers["w"] == pytest.approx(solved["w"])
    assert variant.answers["projection-positive"] == pytest.approx(solved["projection-positive"])
    assert variant.answers["projection-negative"] == pytest.approx(solved["projection-negative"])


def test_parameters_from_the_admin_override_the_defaults():
    variant = get_generator("feature_capacity").variant(learner_rng(1, "p"), {"dimensions": [64], "probabilities": [0.5]})
    assert variant.values["d"] == "64"
    assert variant.answers["max-features"] == pytest.approx(0.5 * 8 / 0.5)


def test_seeds_depend_on_the_secret_key(settings):
    before = learner_rng(1, "variant:x:1").random()
    settings.SECRET_KEY = "another secret entirely"
    assert learner_rng(1, "variant:x:1").random() != before


def test_statement_placeholders_are_filled_and_unknown_ones_left_visible():
    variant = Variant(values={"a1": show([0.8, -0.0, 0.5])})
    assert variant.fill("a = {{ a1 }}, b = {{b}}") == "a = [0.8, 0, 0.5], b = {{b}}"


def test_admin_validation_names_unknown_generators_parameters_and_parts():
    with pytest.raises(ValidationError, match="known generators: feature_capacity"):
        validate_generator("nope", {})
    with pytest.raises(ValidationError, match="Unknown parameters"):
        validate_generator("feature_capacity", {"dimension": 3})
    with pytest.raises(ValidationError, match=r"\['n'\] are not produced by feature_capacity"):
        validate_generator("feature_capacity", {}, part_keys={"n"})
    with pytest.raises(ValidationError, match=r"must show the learner's numbers: add \{\{p\}\}"):
        validate_generator("feature_capacity", {}, statement="d = {{d}}, p = 0.01")
    validate_generator("feature_capacity", {"interference": 0.25}, part_keys={"max-features"}, statement="{{d}} {{p}}")


def test_an_item_shows_each_learner_their_own_numbers(example_1, learner, other_learner):
    mine, theirs = learner_variant(learner.pk, example_1), learner_variant(other_learner.pk, example_1)
    assert mine == learner_variant(learner.pk, example_1)
    assert mine != theirs
    assert expected_answers(example_1.parts.all(), mine)["w"] == mine.answers["w"]


def test_an_item_without_generator_uses_the_expected_values_of_its_parts(problem_1, learner):
    assert learner_variant(learner.pk, problem_1) is None
    assert expected_answers(problem_1.parts.all(), None)["f3-f4"] == 0.528


def test_the_admin_offers_the_generators_and_refuses_a_mismatched_configuration(example_1, admin_client):
    url = reverse("admin:courses_workedexample_change", args=[example_1.pk])
    page = admin_client.get(url).content.decode()
    assert '<option value="feature_direction" selected>' in page
    assert "fills answer parts w, projection-positive, projection-negative" in page

    form = {
        "lesson": example_1.lesson_id, "order": 1, "title": example_1.title, "statement": example_1.statement,
        "grading": "numeric", "generator": "feature_capacity", "generator_params": "{}",
        "parts-TOTAL_FORMS": 0, "parts-INITIAL_FORMS": 0, "question-TOTAL_FORMS": 0, "question-INITIAL_FORMS": 0,
    }
    page = admin_client.post(url, form).content.decode()
    assert "The statement must show the learner&#x27;s numbers: add {{d}}, {{p}}." in page
    form.update(statement="d = {{d}}, p = {{p}}")
    assert "are not produced by feature_capacity" in admin_client.post(url, form).content.decode()
    form.update(generator="feature_direction", generator_params='{"decimals": 2, "colour": "red"}')
    assert "Unknown parameters [&#x27;colour&#x27;]" in admin_client.post(url, form).content.decode()
