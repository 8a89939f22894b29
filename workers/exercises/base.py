"""The one interface every code-exercise kind implements.

An exercise kind is one module in ``workers/exercises/`` that defines one ``ExerciseKind`` subclass.
It says three things:

1. what the learner must define (``learner_interface``: Markdown shown on the exercise page, with the
   exact function names, signatures, tensor shapes and the TransformerLens API they write against);
2. what the sandboxed child computes with it (``run_in_child``: runs *inside* the sandbox, after the
   learner's module was executed; it calls the learner's functions and returns plain data only), and
   what that data must be (``outputs``: a contract the parent validates it against before grading);
3. how the trusted parent turns that data into a grade (``grade``: runs in the worker, never in the
   sandbox; held-out data, answer keys and thresholds live only here).

Its configuration is a pydantic model (``Config``) that the admin validates; ``reference_solution``
is the code an instructor's "grade the reference solution" action must score full marks with.
Kinds register themselves by ``slug`` (see ``workers.exercises.registry``); adding a kind is adding
one module, nothing else.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any, ClassVar

import pydantic

from workers.exercises import contract
from workers.exercises.contract import InvalidOutput  # noqa: F401 - where kinds and the sandbox import it from


@dataclass(frozen=True)
class Check:
    """One named pass/fail criterion with the measured value and the threshold it was held to."""

    name: str
    passed: bool
    value: float | int | str | None
    threshold: float | int | str | None = None
    explanation: str = ""


@dataclass
class Grade:
    """What trusted grading code concluded. ``feedback`` is Markdown for the learner."""

    score: float
    max_score: float
    checks: list[Check] = field(default_factory=list)
    feedback: str = ""
    metrics: dict[str, Any] = field(default_factory=dict)
    figures: dict[str, str] = field(default_factory=dict)  # name -> SVG or PNG data URI, produced by trusted code

    @property
    def passed(self) -> bool:
        return all(check.passed for check in self.checks)

    def as_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["passed"] = self.passed
        data["checks"] = {c.name: {k: v for k, v in asdict(c).items() if k != "name"} for c in self.checks}
        return data


@dataclass(frozen=True)
class HiddenRun:
    """Learner code run on a model learners never see, in a child of its own.

    That child holds only the learner's code and a fresh reparameterisation of ``model`` (never the
    public run's state, never another model's secrets); it has no writable descriptor but its result
    pipe, and nothing it prints or raises reaches the learner beyond a built-in exception's name. Only
    ``output`` is taken from what ``entry`` returns, and the parent validates it like any output.

    ``entry(learner, model)`` runs in that child: ``learner`` is the namespace of the learner's module,
    ``model`` the reparameterised hidden model. ``function`` names the learner's function it calls, for
    messages.
    """

    output: str
    model: str
    entry: Callable[[dict[str, Any], Any], Any]
    function: str


class ExerciseKind:
    """Base class of exercise kinds. Subclasses set the class attributes and implement the three methods."""

    slug: ClassVar[str]
    title: ClassVar[str]
    learner_interface: ClassVar[str]
    starter_code: ClassVar[str] = ""
    reference_solution: ClassVar[str]
    needs_gpu: ClassVar[bool] = False

    class Config(pydantic.BaseModel):
        model_config = pydantic.ConfigDict(extra="forbid")

    def __init__(self, config: dict[str, Any] | pydantic.BaseModel | None = None) -> None:
        if isinstance(config, pydantic.BaseModel):
            self.config = config
        else:
            self.config = self.Config.model_validate(config or {})

    def reference_models(self) -> list[str]:
        """Names of reference models (``workers.reference_models``) the child and the grader need."""
        return []

    def hidden_runs(self) -> list[HiddenRun]:
        """Runs of the learner's code on hidden models, each in its own quiet child (see ``HiddenRun``)."""
        return []

    def hidden_variant_differs(self, run: HiddenRun, variant: int, hidden_seed: int) -> bool:
        """Whether the hidden model's reparameterisation ``hidden_seed`` differs enough from the learner's own
        ``variant`` of the public models that an answer read off the latter cannot pass on the former.

        Grading draws reparameterisations of the hidden model until one does: without this, a fixed answer
        would pass now and then (a head permutation repeats one time in a few dozen), and resubmitting
        would be a lottery.
        """
        return True

    def outputs(self) -> contract.Record:
        """What ``run_in_child`` returns, declared for the parent's one validation (``workers.exercises.contract``).

        It may depend on the configuration (a dimension, a number of cases); bounds come from the
        parent's own configuration, never from a model object the child could have changed.
        """
        raise NotImplementedError

    def validate_outputs(self, outputs: Any) -> dict[str, Any]:
        """The child's outputs, cleaned by ``outputs()``; ``InvalidOutput`` says which field fails and how.
        Grading calls this before ``grade``, which therefore only ever sees validated values."""
        return contract.validate(self.outputs(), outputs)

    def child_inputs(self) -> dict[str, Any]:
        """Non-secret data handed to the child (JSON values and numpy arrays). Never held-out data."""
        return {}

    @staticmethod
    def run_in_child(learner: dict[str, Any], inputs: dict[str, Any], models: dict[str, Any]) -> dict[str, Any]:
        """Runs inside the sandbox. ``learner`` is the namespace of the learner's executed module.

        Returns JSON values and numpy arrays only; the sandbox refuses anything else.
        """
        raise NotImplementedError

    def grade(self, outputs: dict[str, Any], models: dict[str, Any], device: str) -> Grade:
        """Runs in the trusted parent on ``validate_outputs``' result. Raises ``InvalidOutput`` for values
        that are well-formed but unusable for this kind (a zero direction)."""
        raise NotImplementedError
