"""Function tests: the learner writes one named function; each configured case is a call and its expected value.

The child only ever sees the function's name and the arguments; expected values stay in the trusted
parent, which compares with a tolerance and scores one point per case. Hidden cases report pass/fail
without revealing their arguments or expected values.

What the learner's function returned or raised is learner data: the contract bounds it (``RETURNED``,
``RAISED_CHARS``), and feedback quotes it only through ``contract.shown_value``/``shown_text``: one
line, at most ``_SHOWN`` characters, in a code span.
"""

from __future__ import annotations

import builtins
import json
import math
from typing import Any

import pydantic

from workers.exercises import contract
from workers.exercises.base import Check, ExerciseKind, Grade, InvalidOutput

_SHOWN = 120  # characters of a value quoted back in feedback
RAISED_CHARS = 500  # characters of an exception's "Type: message" the child sends (it cuts longer ones)
RETURNED = contract.Json(max_depth=16, max_values=10_000, max_chars=100_000)  # a return value's bounds
# Type names the parent shows: built-in ones, and "object" for the rest (a learner's class names its own).
_TYPE_NAMES = sorted({name for name, value in vars(builtins).items() if isinstance(value, type)} | {
    "NoneType", "function", "module", "object"})


class Case(pydantic.BaseModel):
    model_config = pydantic.ConfigDict(extra="forbid")

    args: list[Any] = []
    kwargs: dict[str, Any] = {}
    expected: Any
    abs_tol: float = pydantic.Field(1e-6, ge=0)
    rel_tol: float = pydantic.Field(1e-6, ge=0)
    hidden: bool = False


class FunctionTests(ExerciseKind):
    slug = "function-tests"
    title = "Function tests (calls with expected values)"
    learner_interface = (
        "Define the function named in the statement. It is called with each test case's arguments; "
        "return plain numbers, strings, lists or dicts (NumPy arrays and tensors are converted with `.tolist()`)."
    )
    starter_code = "def solve(x):\n    # Replace this with your solution.\n    return x\n"

    class Config(ExerciseKind.Config):
        function: str = pydantic.Field("solve", pattern=r"^[A-Za-z_][A-Za-z0-9_]*$")
        cases: list[Case] = pydantic.Field(default_factory=lambda: [Case(args=[1], expected=1)], min_length=1)
        reference_solution: str = pydantic.Field(
            "def solve(x):\n    return x\n", description="The instructor's solution; it must pass every case."
        )

    @property
    def reference_solution(self) -> str:  # type: ignore[override]  # each exercise brings its own
        return self.config.reference_solution

    def child_inputs(self) -> dict[str, Any]:
        return {
            "function": self.config.function,
            "calls": [{"args": case.args, "kwargs": case.kwargs} for case in self.config.cases],
        }

    @staticmethod
    def run_in_child(learner: dict[str, Any], inputs: dict[str, Any], models: dict[str, Any]) -> dict[str, Any]:
        function = learner.get(inputs["function"])
        if not callable(function):
            return {"missing": _type_name(function) if inputs["function"] in learner else ""}
        results = []
        for call in inputs["calls"]:
            try:
                value = function(*call["args"], **call["kwargs"])
            except Exception as error:  # the learner's exception is a result to report, not a crash
                results.append({"raised": f"{type(error).__name__}: {error}"[:RAISED_CHARS]})
                continue
            value = value.tolist() if hasattr(value, "tolist") else value
            try:
                json.dumps(value)
            except (TypeError, ValueError):
                results.append({"unusable": _type_name(value)})
                continue
            results.append({"returned": value})
        return {"results": results}

    def outputs(self) -> contract.Record:
        result = contract.Tagged({
            "returned": RETURNED,
            "raised": contract.Text(RAISED_CHARS),
            "unusable": contract.Text(40, "|".join(_TYPE_NAMES), "a built-in type name or object"),
        })
        cases = len(self.config.cases)
        return contract.Record({}, optional={
            "missing": contract.Text(40, "|".join(["", *_TYPE_NAMES]), "a built-in type name or object"),
            "results": contract.ListOf(result, min_len=cases, max_len=cases),
        })

    def grade(self, outputs: dict[str, Any], models: dict[str, Any], device: str) -> Grade:
        name = self.config.function
        if "missing" in outputs or "results" not in outputs:
            found = outputs.get("missing")
            raise InvalidOutput(
                f"Define a function named `{name}`; your code "
                + (f"defines `{name}` as a {found}, not a function." if found else f"does not define `{name}`.")
            )
        results = outputs["results"]
        checks = [self._check(number, case, result) for number, (case, result) in enumerate(zip(self.config.cases, results), 1)]
        passed = sum(check.passed for check in checks)
        lines = [f"{passed} of {len(checks)} test cases passed."]
        lines += [f"- {check.name}: {check.explanation}" for check in checks if not check.passed]
        return Grade(
            score=float(passed),
            max_score=float(len(checks)),
            checks=checks,
            feedback="\n".join(lines),
            metrics={"cases_passed": passed, "cases": len(checks)},
        )

    def _check(self, number: int, case: Case, result: dict[str, Any]) -> Check:
        if case.hidden:
            name = f"hidden case {number}"
        else:
            arguments = [repr(a) for a in case.args] + [f"{k}={v!r}" for k, v in case.kwargs.items()]
            name = f"case {number}: {self.config.function}({', '.join(arguments)})"[:_SHOWN]
        threshold = "hidden" if case.hidden else contract.plain_value(case.expected, _SHOWN)
        if "raised" in result:
            return Check(name, False, "raised", threshold, f"raised {contract.shown_text(result['raised'], _SHOWN)}")
        if "unusable" in result:
            explanation = f"returned a {result['unusable']}; return a number, string, list or dict"
            return Check(name, False, result["unusable"], threshold, explanation)
        value = result.get("returned")
        passed = _close(value, case.expected, case.abs_tol, case.rel_tol)
        if passed:
            explanation = "correct"
        elif case.hidden:
            explanation = "wrong value (this case is hidden)"
        else:
            explanation = f"returned {_shown(value)}; expected {_shown(case.expected)}"
        return Check(name, passed, "hidden" if case.hidden else contract.plain_value(value, _SHOWN), threshold,
                     explanation)


def _type_name(value: Any) -> str:
    """In the child: a built-in type's name, or "object" (the parent shows no name a learner chose)."""
    kind = type(value)
    return kind.__name__ if kind.__module__ == "builtins" and kind.__name__ in _TYPE_NAMES else "object"


def _shown(value: Any) -> str:
    return contract.shown_value(value, _SHOWN)


def _close(value: Any, expected: Any, abs_tol: float, rel_tol: float) -> bool:
    """Numbers within tolerance, sequences and mappings element by element, anything else exactly."""
    if isinstance(expected, bool) or isinstance(value, bool):
        return value is expected
    if isinstance(expected, (int, float)) and isinstance(value, (int, float)):
        if math.isnan(expected) or math.isnan(value):
            return math.isnan(expected) and math.isnan(value)
        return math.isclose(value, expected, rel_tol=rel_tol, abs_tol=abs_tol)
    if isinstance(expected, (list, tuple)) and isinstance(value, (list, tuple)):
        return len(value) == len(expected) and all(_close(v, e, abs_tol, rel_tol) for v, e in zip(value, expected))
    if isinstance(expected, dict) and isinstance(value, dict):
        return value.keys() == expected.keys() and all(_close(value[k], expected[k], abs_tol, rel_tol) for k in expected)
    return value == expected
