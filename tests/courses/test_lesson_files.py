"""Lesson folders: import is idempotent and all-or-nothing, export round-trips, errors say where."""

import shutil
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from courses.lesson_files import LessonFileError, write_lesson_folder
from courses.models import Choice, Lesson, PracticeProblem, WorkedExample
from courses.services import import_lesson_folder
from tests.courses.conftest import LESSON_25_01, snapshot


@pytest.fixture
def folder(tmp_path) -> Path:
    """A copy of lesson 25-01's files to edit."""
    return Path(shutil.copytree(LESSON_25_01, tmp_path / "25-01"))


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert text.count(old) >= 1, f"{old!r} not in {path.name}"
    path.write_text(text.replace(old, new, 1))


def line_of(path: Path, text: str) -> int:
    """The line on which the first occurrence of ``text`` ends."""
    content = path.read_text()
    return content[: content.index(text) + len(text)].count("\n") + 1


def test_lesson_25_01_is_imported_whole(lesson):
    assert (lesson.code, lesson.title, lesson.status) == ("25-01", "Mechanistic Interpretability", "published")
    assert str(lesson.phase) == "25 — Frontiers & Active Research Areas"
    assert lesson.objectives.count() == 5
    assert lesson.worked_examples.count() == 3
    assert lesson.practice_problems.count() == 5
    assert lesson.quiz.questions.count() == 6
    assert all(q.choices.count() == 4 and q.choices.filter(is_correct=True).count() == 1 for q in lesson.quiz.questions.all())
    assert not Choice.objects.filter(explanation="").exists()
    assert lesson.pitfalls.count() == 5
    assert lesson.key_terms.count() >= 10
    assert lesson.summary and lesson.next_steps
    assert (lesson.next_lesson.code, lesson.next_lesson.status) == ("25-02", Lesson.Status.UPCOMING)


def test_grading_configuration_of_25_01(lesson):
    example_1, example_2, example_3 = lesson.worked_examples.all()
    assert [(p.key, p.expected, p.abs_tolerance) for p in example_1.parts.all()] == [
        ("w", [0.805, -0.288, 0.518], 0.005),
        ("projection-positive", 0.989, 0.005),
        ("projection-negative", -0.748, 0.005),
    ]
    assert example_2.grading == "choice"
    assert [c.text for c in example_2.question.choices.filter(is_correct=True)] == ["Polysemantic"]
    assert example_3.grading == "none"
    problems = list(lesson.practice_problems.all())
    assert [p.grading for p in problems] == ["numeric", "self", "self", "numeric", "self"]
    assert [p.expected for p in problems[0].parts.all()] == [0.6, 0.6, 0.528, 0.999]
    (estimate,) = problems[3].parts.all()
    assert (estimate.expected, estimate.rel_tolerance) == (1130, 0.05)
    assert [p.rubric.count() for p in problems] == [0, 4, 5, 0, 3]


def test_reimport_changes_nothing_and_keeps_ids(lesson):
    before = snapshot(lesson)
    ids = list(WorkedExample.objects.values_list("pk", flat=True)) + list(PracticeProblem.objects.values_list("pk", flat=True))
    report = import_lesson_folder(LESSON_25_01)
    assert (report.created, report.changed, report.deleted) == (0, 0, 0)
    assert snapshot(lesson) == before
    assert list(WorkedExample.objects.values_list("pk", flat=True)) + list(PracticeProblem.objects.values_list("pk", flat=True)) == ids


def test_an_edit_updates_in_place(lesson, folder):
    problem = lesson.practice_problems.get(order=2)
    edit(folder / "practice-problems.md", "The probe achieves 99% accuracy.", "The probe achieves 97% accuracy.")
    edit(folder / "pitfalls.md", "+++\ntitle = 'Assuming perfect orthogonality'", "+++\ntitle = 'Assuming exact orthogonality'")
    report = import_lesson_folder(folder)
    assert (report.created, report.changed, report.deleted) == (0, 2, 0)
    problem.refresh_from_db()
    assert "97% accuracy" in problem.statement
    assert lesson.pitfalls.filter(title="Assuming exact orthogonality").exists()


def test_removed_entries_are_deleted(lesson, folder):
    path = folder / "pitfalls.md"
    path.write_text(path.read_text().split("\n+++\ntitle = 'Focusing")[0] + "\n")
    report = import_lesson_folder(folder)
    assert report.deleted == 2
    assert lesson.pitfalls.count() == 3


def test_export_then_import_round_trips(lesson, tmp_path):
    before = snapshot(lesson)
    write_lesson_folder(lesson, tmp_path / "out")
    Lesson.objects.filter(code="25-01").delete()
    reimported = import_lesson_folder(tmp_path / "out").lesson
    assert snapshot(reimported) == before


def test_export_of_the_fixture_is_the_fixture(lesson, tmp_path):
    """The committed files are in the exporter's canonical form, so exports diff cleanly against them."""
    call_command("export_lesson", "25-01", str(tmp_path / "out"))
    exported = {p.name: p.read_text() for p in (tmp_path / "out").iterdir()}
    assert exported == {p.name: p.read_text() for p in LESSON_25_01.iterdir()}


def test_export_removes_section_files_the_lesson_no_longer_has(lesson, tmp_path):
    out = tmp_path / "out"
    write_lesson_folder(lesson, out)
    lesson.pitfalls.all().delete()
    write_lesson_folder(lesson, out)
    assert not (out / "pitfalls.md").exists()


BAD_FILES = [
    ("lesson.toml", "status = 'published'", "status = 'publishd'", "status must be one of draft, upcoming, published"),
    ("lesson.toml", "[phase]", "[phaze]", "unknown key 'phaze'"),
    ("core.md", r"\in \mathbb{R}^d$ is the activation", r"\in \mathbb{R}^$ is the activation", "cannot render the formula"),
    ("core.md", r"\sqrt{d_k}", r"\sqrtt{d_k}", r"uses \sqrtt, which the renderer does not know"),
    ("core.md", "(figure:superposition-pentagon", "(figure:pentagon", "unknown figure 'pentagon'"),
    ("worked-examples.md", "abs_tolerance = 0.005", "abs_tolerence = 0.005", "unknown key 'abs_tolerence' in [parts]"),
    ("worked-examples.md", "expected = 0.989", "expected = 'about one'", "expected must be a number or a list of numbers"),
    ("worked-examples.md", "+++ solution", "+++ soluton", "unknown field '+++ soluton' (allowed: solution, answer)"),
    ("practice-problems.md", "expected = 0.528", "expected = 0.5.28", "invalid TOML"),
    ("practice-problems.md", "expected = 1130\nrel_tolerance = 0.05", "expected = 1130",
     "part 'max-features' needs abs_tolerance, rel_tolerance or sig_figs", "key = 'max-features'"),
    ("practice-problems.md", "proves'\ngrading = 'self'", "proves'\ngrading = 'numeric'", "grading = 'numeric' needs [[parts]] answer boxes"),
    ("quiz.md", "correct = true", "correct = 'yes'", "correct must be true or false"),
    ("key-terms.md", "'Circuit'\nanchor = 'circuit'", "'Circuit'\nanchor = 'feature'", "key term anchor 'feature' is used twice"),
]


@pytest.mark.parametrize("bad", BAD_FILES, ids=[f"{b[0]}:{b[3][:30]}" for b in BAD_FILES])
def test_a_bad_file_names_file_line_and_problem_and_changes_nothing(lesson, folder, bad):
    """Each case: (file, text, its replacement, the message, the text on the line named; default the replacement)."""
    name, old, new, message, *at = bad
    before = snapshot(lesson)
    edit(folder / "lesson.toml", "title = 'Mechanistic Interpretability'\n", "title = 'Renamed'\n")
    edit(folder / name, old, new)
    expected_line = line_of(folder / name, at[0] if at else new)
    with pytest.raises(LessonFileError) as caught:
        import_lesson_folder(folder)
    error = caught.value
    assert (error.path.name, error.line) == (name, expected_line), str(error)
    assert message in error.message
    assert str(error).startswith(f"{folder / name}:{expected_line}: ")
    assert snapshot(lesson) == before


def test_a_problem_found_by_the_database_also_changes_nothing(lesson, folder):
    """Model validation runs after earlier rows were written; the transaction undoes them."""
    before = snapshot(lesson)
    edit(folder / "lesson.toml", "title = 'Mechanistic Interpretability'\n", "title = 'Renamed'\n")
    long_title = "Over-interpreting " + "very " * 50 + "individual neurons"
    edit(folder / "pitfalls.md", "title = 'Over-interpreting individual neurons in the superposition regime'", f"title = '{long_title}'")
    with pytest.raises(LessonFileError) as caught:
        import_lesson_folder(folder)
    assert caught.value.path.name == "pitfalls.md"
    assert caught.value.line == line_of(folder / "pitfalls.md", long_title) - 1
    assert "at most 200 characters" in caught.value.message
    assert snapshot(lesson) == before


def test_import_command_reports_the_error_and_that_nothing_changed(db, folder):
    edit(folder / "quiz.md", "correct = true", "correct = false")
    with pytest.raises(CommandError, match=r"quiz\.md:\d+: no choice is marked correct = true\nNothing was changed\."):
        call_command("import_lesson", str(folder))
    assert not Lesson.objects.exists()


def test_a_missing_lesson_file_is_named(db, tmp_path):
    with pytest.raises(LessonFileError, match="lesson.toml: missing"):
        import_lesson_folder(tmp_path)
