"""Code exercises as files: `manage.py import_exercises`, its errors, and publishing only what the reference passes."""

from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from grader.models import CodeExercise
from grader.submissions.exercise_files import ExerciseFileError, import_exercises
from grader.submissions.services import check_reference_solution
from tests.grader.submission_fixtures import ADD_CONFIG

LESSON_25_01_EXERCISES = Path(__file__).resolve().parents[2] / "fixtures" / "exercises" / "25-01.toml"
ADD_FILE = """lesson = "25-01"

[[exercise]]
slug = "add"
title = "Add two numbers"
kind = "function-tests"
statement = "Write `add(a, b)`."
wall_seconds = 5
[exercise.config]
function = "add"
reference_solution = "def add(a, b):\\n    return a + b\\n"
cases = [{args = [1, 2], expected = 3}, {args = [10, 5], expected = 15, hidden = true}]
"""


def write(tmp_path, text: str) -> Path:
    path = tmp_path / "exercises.toml"
    path.write_text(text)
    return path


def test_the_25_01_file_creates_every_exercise_unpublished_and_reimporting_updates_in_place(lesson):
    call_command("import_exercises", str(LESSON_25_01_EXERCISES))
    slugs = list(CodeExercise.objects.filter(lesson=lesson).values_list("slug", flat=True))
    assert slugs == ["probe-sentiment", "scrub-induction", "superposition-toy-5x2", "superposition-toy-20x5",
                     "orthogonal-packing", "induction-circuit"]
    assert not CodeExercise.objects.filter(is_published=True).exists()
    first_pks = set(CodeExercise.objects.values_list("pk", flat=True))

    call_command("import_exercises", str(LESSON_25_01_EXERCISES))
    assert set(CodeExercise.objects.values_list("pk", flat=True)) == first_pks
    assert CodeExercise.objects.get(slug="superposition-toy-20x5").config == {
        "n_features": 20, "d_hidden": 5, "sparsity": 0.9
    }


@pytest.mark.parametrize(
    ("replace", "by", "message"),
    [
        ('kind = "function-tests"', 'kind = "no-such-kind"', "line 3 (exercise 'add'): kind: Value 'no-such-kind' is not a valid choice"),
        ('function = "add"', 'function = "add"\nsurprise = 1', "line 3 (exercise 'add'): config: Not a valid function-tests configuration"),
        ('title = "Add two numbers"\n', "", "line 3 (exercise 'add'): missing title"),
        ("wall_seconds = 5", "wall_second = 5", "unknown field wall_second"),
        ('lesson = "25-01"', 'lesson = "99-99"', "line 1: lesson = '99-99' is not in the database"),
        ("[[exercise]]", "[[exercise]", "not valid TOML"),
    ],
)
def test_a_bad_file_names_the_file_the_line_and_the_problem_and_changes_nothing(tmp_path, lesson, replace, by, message):
    path = write(tmp_path, ADD_FILE.replace(replace, by) + '\n[[exercise]]\nslug = "second"\ntitle = "t"\n'
                 'kind = "orthogonal-packing"\nstatement = "s"\n')
    with pytest.raises(ExerciseFileError) as error:
        import_exercises(path)
    assert str(error.value).startswith(str(path)) and message in str(error.value)
    assert not CodeExercise.objects.exists()


def test_the_command_reports_errors_as_command_errors(tmp_path, lesson):
    with pytest.raises(CommandError, match="missing statement"):
        call_command("import_exercises", str(write(tmp_path, ADD_FILE.replace('statement = "Write `add(a, b)`."', ""))))


@pytest.mark.django_db(transaction=True)
def test_publishing_needs_the_reference_solution_to_score_full_marks(tmp_path, lesson):
    call_command("import_exercises", str(write(tmp_path, ADD_FILE)), "--publish")
    exercise = CodeExercise.objects.get(slug="add")
    assert exercise.is_published and exercise.reference_is_current

    exercise.config = ADD_CONFIG | {"reference_solution": "def add(a, b):\n    return a - b\n"}
    exercise.save()
    outcome = check_reference_solution(exercise, publish=True)
    exercise.refresh_from_db()
    assert outcome.score < outcome.max_score
    assert not exercise.is_published and not exercise.reference_is_current


def test_an_error_in_a_later_exercise_rolls_back_the_earlier_ones(tmp_path, lesson):
    broken_second = ADD_FILE + '\n[[exercise]]\nslug = "second"\ntitle = "t"\nkind = "orthogonal-packing"\n'
    with pytest.raises(ExerciseFileError, match=r"line 14 \(exercise 'second'\): missing statement"):
        import_exercises(write(tmp_path, broken_second))
    assert not CodeExercise.objects.exists()


def test_the_lesson_page_links_published_exercises_and_hides_drafts_from_learners(lesson, learner_client):
    import_exercises(LESSON_25_01_EXERCISES)
    CodeExercise.objects.filter(slug="orthogonal-packing").update(is_published=True)
    page = learner_client.get(lesson.get_absolute_url()).content.decode()
    assert 'id="code-exercises"' in page
    assert 'href="/grader/exercises/orthogonal-packing/"' in page
    assert "/grader/exercises/probe-sentiment/" not in page
