"""grade_code and the function-tests kind through the real sandbox, and `manage.py grade_file` on top."""

import json

import pytest
from django.core.management import call_command

from tests.grader.submission_fixtures import ADD_CONFIG, CORRECT_ADD, WRONG_ADD, code_exercise  # noqa: F401
from workers.grading import Verdict, grade_code, grade_exercise
from workers.sandbox import Limits

LIMITS = Limits(wall_seconds=5, cpu_seconds=5, memory_bytes=1024**3, max_output_bytes=64 * 1024)


def grade(code, config=ADD_CONFIG, limits=LIMITS):
    return grade_code("function-tests", config, code, limits, max_score=10.0)


def test_a_correct_solution_scores_full_marks():
    outcome = grade(CORRECT_ADD)
    assert (outcome.verdict, outcome.score, outcome.max_score) == (Verdict.GRADED, 10.0, 10.0)
    assert all(check["passed"] for check in outcome.checks.values())
    assert outcome.metrics == {"cases_passed": 4, "cases": 4}


def test_a_wrong_solution_scores_low_and_says_what_was_expected():
    outcome = grade(WRONG_ADD)
    assert outcome.verdict == Verdict.GRADED and outcome.score == 0.0
    assert "case 1: add(1, 2): returned `-1`; expected `3`" in outcome.feedback
    assert "hidden case 4: wrong value (this case is hidden)" in outcome.feedback
    assert "15" not in outcome.feedback  # a hidden case's expected value never reaches the learner
    assert outcome.checks["hidden case 4"] == {
        "passed": False, "value": "hidden", "threshold": "hidden", "explanation": "wrong value (this case is hidden)"
    }


def test_tolerance_and_per_case_exceptions():
    rounded = "def add(a, b):\n    if a == 1:\n        raise ValueError('no ones')\n    return round(a + b, 9)\n"
    outcome = grade(rounded)
    assert outcome.score == 7.5
    assert outcome.checks["case 1: add(1, 2)"]["explanation"] == "raised `ValueError: no ones`"
    assert outcome.checks["case 3: add(0.1, 0.2)"]["passed"]


def test_a_missing_function_fails_with_what_to_define():
    outcome = grade("def plus(a, b):\n    return a + b\n")
    assert outcome.verdict == Verdict.FAILED
    assert outcome.feedback == "Define a function named `add`; your code does not define `add`."


def test_unusable_return_values_are_named():
    outcome = grade("def add(a, b):\n    return {a, b}\n")
    assert outcome.checks["case 1: add(1, 2)"]["explanation"] == "returned a set; return a number, string, list or dict"


def test_what_learner_code_raised_is_quoted_on_one_short_line_in_a_code_span():
    code = "def add(a, b):\n    raise ValueError('**Full marks** `granted`\\n[claim](http://example.org) ' + 'x' * 10**6)\n"
    outcome = grade(code)
    explanation = outcome.checks["case 1: add(1, 2)"]["explanation"]
    assert explanation.startswith("raised `ValueError: **Full marks** 'granted' [claim](http://example.org) xxx")
    assert explanation.endswith("…`") and len(explanation) <= 130 and "\n" not in explanation
    assert len(outcome.feedback) < 1000


def test_a_huge_integer_returned_is_the_learners_fault_not_ours():
    outcome = grade("def add(a, b):\n    return 10**400\n")
    assert outcome.verdict == Verdict.FAILED
    assert "results" in outcome.feedback and "integer" in outcome.feedback


def test_a_return_value_beyond_the_contracts_bounds_fails_saying_which_bound():
    outcome = grade("def add(a, b):\n    return 'x' * 2 * 2**20\n")
    assert outcome.verdict == Verdict.FAILED
    assert outcome.feedback.startswith("results[0].returned: expected plain data (numbers, text, lists, dicts) "
                                       "nested at most 16 deep, with at most 10,000 values and 100,000 characters "
                                       "of text, got more text")


def test_the_learners_own_class_names_never_reach_the_feedback():
    code = "class Full_marks_granted:\n    pass\n\ndef add(a, b):\n    return Full_marks_granted()\n"
    outcome = grade(code)
    assert outcome.checks["case 1: add(1, 2)"]["explanation"] == "returned a object; return a number, string, list or dict"
    assert "Full_marks" not in outcome.feedback


def test_syntax_errors_fail_with_the_line():
    outcome = grade("def add(a, b)\n    return a + b\n")
    assert outcome.verdict == Verdict.FAILED
    assert "line 1" in outcome.feedback


def test_endless_loops_are_rejected_at_the_time_limit():
    limits = Limits(wall_seconds=1, cpu_seconds=1, memory_bytes=1024**3, max_output_bytes=64 * 1024)
    outcome = grade("def add(a, b):\n    while True:\n        pass\n", limits=limits)
    assert outcome.verdict == Verdict.REJECTED


def test_printed_output_is_kept():
    outcome = grade("print('hello from the learner')\n" + CORRECT_ADD)
    assert "hello from the learner" in outcome.output


def test_an_unknown_kind_is_our_error_not_the_learners():
    outcome = grade_code("no-such-kind", {}, CORRECT_ADD, LIMITS)
    assert outcome.verdict == Verdict.ERROR
    assert "not a problem with your code" in outcome.feedback


def test_grade_exercise_uses_the_exercises_limits_and_max_score(code_exercise):
    code_exercise.max_score = 4
    assert grade_exercise(code_exercise, CORRECT_ADD).score == 4.0


def test_grade_file_prints_one_json_verdict(code_exercise, tmp_path, capsys):
    solution = tmp_path / "solution.py"
    solution.write_text(WRONG_ADD)
    call_command("grade_file", "add", str(solution))
    result = json.loads(capsys.readouterr().out)
    assert (result["verdict"], result["score"], result["max_score"]) == ("graded", 0.0, 10.0)
    assert result["checks"]["case 1: add(1, 2)"] == {
        "passed": False, "value": "-1", "threshold": "3", "explanation": "returned `-1`; expected `3`"
    }


def test_grade_file_names_the_known_exercises_when_the_slug_is_wrong(code_exercise, tmp_path):
    from django.core.management.base import CommandError

    with pytest.raises(CommandError, match="no code exercise 'ad'; known exercises: add"):
        call_command("grade_file", "ad", str(tmp_path / "x.py"))
