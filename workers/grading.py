"""Grading one piece of code: run it in the sandbox, then let the exercise kind grade what came back.

``grade_code`` is the one code path behind both the Celery task and ``manage.py grade_file``, so an
instructor checking a reference solution sees exactly what a learner's submission would get. It maps
what happened to a verdict:

- ``graded``: the code ran and the kind graded its outputs (any score, zero included);
- ``failed``: the learner's code did not compile, raised, or returned something unusable;
- ``rejected``: the code hit a limit (time, memory, output) or was stopped by the sandbox;
- ``error``: something on our side broke; the submission is retried and the learner is not blamed.

The trust boundary: the learner's code first runs in a child that holds only public inputs and the
learner's own variant of the public models; each of the kind's hidden runs then runs it again in a
fresh, quiet child holding only a reparameterisation of one hidden model drawn for this grading alone.
Everything the children send is validated once, by the kind's declared outputs, before the kind grades
it; every text that reaches the learner is composed here or by the kind, and bounded.

Each grading draws a master ``seed`` (recorded with the outcome): the children's random state and the
hidden models' reparameterisations derive from it, so a grading can be reproduced exactly.
"""

from __future__ import annotations

import builtins
import enum
import hashlib
import logging
import os
import secrets
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any

from workers import reference_models
from workers.exercises import child_side
from workers.exercises.base import ExerciseKind, HiddenRun, InvalidOutput
from workers.exercises.registry import get_kind
from workers.reference_models import reparameterise

if TYPE_CHECKING:  # the sandbox is imported where it is used, so web processes never load it
    from grader.models import CodeExercise
    from workers.sandbox import Limits, Sandbox, SandboxResult

logger = logging.getLogger(__name__)

OUTPUT_KEPT = 10_000  # characters of the learner's printed output kept with the result
FEEDBACK_KEPT = 20_000  # characters of feedback kept with the result
MESSAGE_KEPT = 4_000  # characters of an error message from the learner's run (it may be learner text)
_HIDDEN_DRAWS = 64  # reparameterisations of a hidden model tried before grading gives up (our error)
_BUILT_IN_EXCEPTIONS = frozenset(
    name for name, value in vars(builtins).items() if isinstance(value, type) and issubclass(value, BaseException)
)


class Verdict(enum.StrEnum):
    GRADED = "graded"
    FAILED = "failed"
    REJECTED = "rejected"
    ERROR = "error"


_SANDBOX_VERDICTS = {
    "syntax_error": Verdict.FAILED,
    "exception": Verdict.FAILED,
    "invalid_result": Verdict.FAILED,
    "time_limit": Verdict.REJECTED,
    "memory_limit": Verdict.REJECTED,
    "output_limit": Verdict.REJECTED,
    "killed": Verdict.REJECTED,
}


@dataclass
class GradingOutcome:
    """What grading concluded, in the form a submission stores and ``grade_file`` prints."""

    verdict: Verdict
    score: float | None = None
    max_score: float | None = None
    feedback: str = ""
    checks: dict[str, Any] = field(default_factory=dict)
    metrics: dict[str, Any] = field(default_factory=dict)
    output: str = ""
    resources: dict[str, Any] = field(default_factory=dict)
    device: str = ""
    seed: int | None = None  # the grading's master seed: grade_code(..., seed=seed) reproduces it

    def as_dict(self) -> dict[str, Any]:
        return asdict(self) | {"verdict": str(self.verdict)}


@dataclass
class WarmWorker:
    """What one worker process keeps between tasks: its sandbox (with the reference models) and its device."""

    pid: int
    device: str
    sandbox: Sandbox


_warm: WarmWorker | None = None


def warm_worker() -> WarmWorker:
    """This process's warm worker, started on first use (Celery starts it when the process starts)."""
    global _warm
    if _warm is None or _warm.pid != os.getpid():
        import torch

        from workers.sandbox import Sandbox

        # A child forked from a process that ran torch hangs on its first op unless torch is single-threaded.
        torch.set_num_threads(1)
        device = "cuda" if torch.cuda.is_available() else "cpu"
        sandbox = Sandbox(preload=reference_models.preload, device=device)
        _warm = WarmWorker(pid=os.getpid(), device=device, sandbox=sandbox)
        logger.info("worker process %d warm on %s", _warm.pid, device)
    return _warm


def grade_exercise(
    exercise: CodeExercise,
    code: str,
    *,
    worker: WarmWorker | None = None,
    variant: int | None = None,
    seed: int | None = None,
) -> GradingOutcome:
    """Grades ``code`` for a code exercise with its kind, configuration, limits and maximum score.

    ``variant`` picks the learner's own reparameterisation of the public models (``None``: a fresh one).
    """
    from workers.sandbox import Limits

    limits = Limits(
        wall_seconds=exercise.wall_seconds,
        cpu_seconds=exercise.cpu_seconds,
        memory_bytes=exercise.memory_mb * 1024 * 1024,
        max_output_bytes=exercise.max_output_kb * 1024,
    )
    return grade_code(exercise.kind, exercise.config, code, limits, max_score=exercise.max_score, worker=worker,
                      variant=variant, seed=seed)


def grade_code(
    kind_slug: str,
    config: dict[str, Any],
    code: str,
    limits: Limits,
    *,
    max_score: float | None = None,
    worker: WarmWorker | None = None,
    variant: int | None = None,
    seed: int | None = None,
) -> GradingOutcome:
    """Runs ``code`` for the exercise kind in the sandbox and grades it; never raises.

    With ``max_score`` the kind's score is scaled to it (an exercise's own maximum). ``variant`` selects
    the learner's reparameterisation of the public models (``None``: one drawn from the grading's seed,
    as for an instructor's check); ``seed`` reproduces an earlier grading (``None``: a fresh one).
    """
    worker = worker or warm_worker()
    seed = secrets.randbits(63) if seed is None else seed
    variant = derive_seed(seed, "variant") if variant is None else variant
    try:
        kind = get_kind(kind_slug)(config)
        outcome = _grade(kind, code, limits, worker, variant, seed)
    except Exception as problem:  # our fault, never the learner's: logged in full, retried by the caller
        logger.exception("grading with kind %r failed", kind_slug)
        return GradingOutcome(
            Verdict.ERROR,
            feedback=f"Grading failed on our side ({type(problem).__name__}). "
            "This is not a problem with your code; it will be retried.",
            device=worker.device,
            seed=seed,
        )
    outcome.seed = seed
    outcome.feedback = bounded(outcome.feedback, FEEDBACK_KEPT, "feedback")
    if outcome.verdict == Verdict.GRADED and max_score is not None and outcome.max_score:
        scale = max_score / outcome.max_score
        outcome.score, outcome.max_score = outcome.score * scale, outcome.max_score * scale
    return outcome


def _grade(kind: ExerciseKind, code: str, limits: Limits, worker: WarmWorker, variant: int, seed: int) -> GradingOutcome:
    hidden_runs = kind.hidden_runs()
    hidden_names = {run.model for run in hidden_runs}
    public_names = [name for name in kind.reference_models() if name not in hidden_names]
    run_seed = derive_seed(seed, "run")
    inputs = {"kind": kind.slug, "models": public_names, "variant": variant, "inputs": kind.child_inputs()}
    result = worker.sandbox.run(code, child_side.public_run, inputs, limits, seed=run_seed)
    results = [result]

    def outcome(verdict: Verdict, feedback: str, **graded: Any) -> GradingOutcome:
        return GradingOutcome(verdict, feedback=feedback, output=bounded(result.stdout or "", OUTPUT_KEPT, "output"),
                              resources=_resources(results), device=worker.device, **graded)

    if not result.ok:
        return outcome(_sandbox_verdict(result), _learner_message(result))
    spec = kind.outputs()
    hidden_outputs = {run.output for run in hidden_runs}
    try:  # the public run's outputs first, so their faults are told in full before any hidden run
        outputs = {name: field.clean(result.outputs.get(name), name)
                   for name, field in spec.fields.items() if name not in hidden_outputs}
        outputs |= {name: field.clean(result.outputs[name], name)
                    for name, field in spec.optional.items() if name in result.outputs}
    except InvalidOutput as problem:
        return outcome(Verdict.FAILED, bounded(str(problem), MESSAGE_KEPT, "message"))
    models = {name: _learner_model(name, variant, worker.device) for name in public_names}
    for run in hidden_runs:
        hidden_seed = hidden_model_seed(kind, run, variant, seed)
        hidden_inputs = {"entry": _reference(run.entry), "output": run.output,
                         "model": reparameterise.portable_variant(run.model, hidden_seed)}
        hidden = worker.sandbox.run(code, child_side.hidden_run, hidden_inputs, limits, seed=run_seed, quiet=True)
        results.append(hidden)
        if not hidden.ok:
            return outcome(_sandbox_verdict(hidden), _hidden_failure(run, hidden, limits))
        try:
            outputs[run.output] = spec.fields[run.output].clean(hidden.outputs.get(run.output), run.output)
        except InvalidOutput:  # its message would quote what came back, which may carry the hidden model
            return outcome(Verdict.FAILED, _hidden_unusable(kind, run))
        models[run.model] = reparameterise.reparameterised(reference_models.load(run.model, worker.device), hidden_seed)
    try:  # every field of ``outputs`` was cleaned above by its own spec: grade sees validated values only
        grade = kind.grade(outputs, models, worker.device)
    except InvalidOutput as problem:  # a domain check of the kind's (e.g. a pair that is not a head)
        return outcome(Verdict.FAILED, bounded(str(problem), MESSAGE_KEPT, "message"))
    return outcome(
        Verdict.GRADED,
        grade.feedback,
        score=grade.score,
        max_score=grade.max_score,
        checks=grade.as_dict()["checks"],
        metrics=grade.metrics | ({"figures": grade.figures} if grade.figures else {}),
    )


def hidden_model_seed(kind: ExerciseKind, run: HiddenRun, variant: int, seed: int) -> int:
    """The first reparameterisation of the hidden model, drawn from the grading's seed, that the kind accepts."""
    for attempt in range(_HIDDEN_DRAWS):
        hidden_seed = derive_seed(seed, f"hidden:{run.model}:{attempt}")
        if kind.hidden_variant_differs(run, variant, hidden_seed):
            return hidden_seed
    raise RuntimeError(f"no acceptable reparameterisation of {run.model} in {_HIDDEN_DRAWS} draws")


def derive_seed(seed: int, purpose: str) -> int:
    """A 63-bit seed for one purpose, derived from a grading's master seed (one-way: a child that learns its
    own random state learns nothing about the hidden models' reparameterisations)."""
    digest = hashlib.sha256(f"{seed}:{purpose}".encode()).digest()
    return int.from_bytes(digest[:8], "big") >> 1


def bounded(text: str, limit: int, what: str) -> str:
    """``text`` cut to ``limit`` characters, saying so: the learner is told where the limit is."""
    if len(text) <= limit:
        return text
    return text[:limit] + f"\n[{what} truncated: at most {limit:,} characters are kept]"


def _learner_model(name: str, variant: int, device: str) -> Any:
    """The learner's own variant of a public model; models of other architectures (toy models) as they are."""
    model = reference_models.load(name, device)
    return reparameterise.variant(name, variant, device) if reparameterise.applies_to(model) else model


def _reference(function: Any) -> str:
    from workers.sandbox.sandbox import reference

    return reference(function)


def _sandbox_verdict(result: SandboxResult) -> Verdict:
    verdict = _SANDBOX_VERDICTS.get(result.status)
    if verdict is None:
        raise RuntimeError(f"the sandbox answered with an unknown status {result.status!r}")
    return verdict


def _learner_message(result: SandboxResult) -> str:
    """The sandbox's message for a run that did not finish, with its line; bounded (it may quote learner text)."""
    message = bounded(result.message, MESSAGE_KEPT, "message")
    line = result.line
    return f"{message} (line {line})" if line and f"line {line}" not in message else message


def _hidden_failure(run: HiddenRun, result: SandboxResult, limits: Limits) -> str:
    """What a learner may know of a hidden run that did not finish: which limit, or which built-in exception."""
    where = f"`{run.function}` on the hidden model"
    not_shown = ("Nothing else about that run is shown (no message, output or line), as nothing about the hidden "
                 "model is: make sure your function works on any model shaped like the reference model.")
    if result.status == "exception":
        name = result.message if result.message in _BUILT_IN_EXCEPTIONS else "an exception"
        return f"{where} raised {name}. {not_shown}"
    if result.status == "time_limit":
        return f"{where} ran past the time limit of {limits.wall_seconds:g} s (CPU: {limits.cpu_seconds:g} s). {not_shown}"
    if result.status == "memory_limit":
        return f"{where} ran out of memory (the limit is {limits.memory_bytes / 1024**2:g} MiB). {not_shown}"
    if result.status == "invalid_result":
        return f"{where} returned something the grader could not read, or ended the process. {not_shown}"
    return f"{where} was stopped by the sandbox ({result.status.replace('_', ' ')}). {not_shown}"


def _hidden_unusable(kind: ExerciseKind, run: HiddenRun) -> str:
    expected = kind.outputs().fields[run.output].expected()  # the parent's own words, nothing from the child
    return (f"`{run.function}` on the hidden model returned something other than {expected}. What it returned is "
            "not shown, as nothing about the hidden model is: make sure your function returns that on any model "
            "shaped like the reference model.")


def _resources(results: list[SandboxResult]) -> dict[str, Any]:
    """What the kernel measured of the public run, the one learners see. A hidden run's time and memory are
    signals learner code controls there (it could sleep for a number of milliseconds computed from the
    hidden weights), so they are logged for operators and never stored with the submission."""
    public, *hidden = results
    for result in hidden:
        logger.info("hidden run: %s, resources %s", result.status, result.resources)
    return dict(public.resources or {})
