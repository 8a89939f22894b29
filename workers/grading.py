"""Grading one piece of code: run it in the sandbox, then let the exercise kind grade what came back.

``grade_code`` is the one code path behind both the Celery task and ``manage.py grade_file``, so an
instructor checking a reference solution sees exactly what a learner's submission would get. It maps
what happened to a verdict:

- ``graded``: the code ran and the kind graded its outputs (any score, zero included);
- ``failed``: the learner's code did not compile, raised, or returned something unusable;
- ``rejected``: the code hit a limit (time, memory, output) or was stopped by the sandbox;
- ``error``: something on our side broke; the submission is retried and the learner is not blamed.
"""

from __future__ import annotations

import enum
import logging
import os
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any

from workers import reference_models
from workers.exercises.base import InvalidOutput
from workers.exercises.registry import get_kind

if TYPE_CHECKING:  # the sandbox is imported where it is used, so web processes never load it
    from grader.models import CodeExercise
    from workers.sandbox import Limits, Sandbox

logger = logging.getLogger(__name__)

OUTPUT_KEPT = 10_000  # characters of the learner's printed output kept with the result


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


def grade_exercise(exercise: CodeExercise, code: str, *, worker: WarmWorker | None = None) -> GradingOutcome:
    """Grades ``code`` for a code exercise with its kind, configuration, limits and maximum score."""
    from workers.sandbox import Limits

    limits = Limits(
        wall_seconds=exercise.wall_seconds,
        cpu_seconds=exercise.cpu_seconds,
        memory_bytes=exercise.memory_mb * 1024 * 1024,
        max_output_bytes=exercise.max_output_kb * 1024,
    )
    return grade_code(exercise.kind, exercise.config, code, limits, max_score=exercise.max_score, worker=worker)


def grade_code(
    kind_slug: str,
    config: dict[str, Any],
    code: str,
    limits: Limits,
    *,
    max_score: float | None = None,
    worker: WarmWorker | None = None,
) -> GradingOutcome:
    """Runs ``code`` for the exercise kind in the sandbox and grades it; never raises.

    With ``max_score`` the kind's score is scaled to it (an exercise's own maximum).
    """
    worker = worker or warm_worker()
    try:
        kind = get_kind(kind_slug)(config)
        result = worker.sandbox.run(code, kind.run_in_child, kind.child_inputs(), limits)
        shared = {"output": (result.stdout or "")[:OUTPUT_KEPT], "resources": dict(result.resources or {}),
                  "device": worker.device}
        if result.status != "ok":
            verdict = _SANDBOX_VERDICTS.get(result.status)
            if verdict is None:
                raise RuntimeError(f"the sandbox answered with an unknown status {result.status!r}: {result.message}")
            return GradingOutcome(verdict, feedback=_where(result.message, result.line), **shared)
        # Loaded once per process (reference_models caches them), for trusted code only.
        models = {name: reference_models.load(name, worker.device) for name in kind.reference_models()}
        try:
            grade = kind.grade(result.outputs, models, worker.device)
        except InvalidOutput as problem:
            return GradingOutcome(Verdict.FAILED, feedback=str(problem), **shared)
    except Exception as problem:  # our fault, never the learner's: logged in full, retried by the caller
        logger.exception("grading with kind %r failed", kind_slug)
        return GradingOutcome(
            Verdict.ERROR,
            feedback=f"Grading failed on our side ({type(problem).__name__}: {problem}). "
            "This is not a problem with your code; it will be retried.",
            device=worker.device,
        )
    data = grade.as_dict()
    scale = max_score / grade.max_score if max_score is not None and grade.max_score else 1.0
    return GradingOutcome(
        Verdict.GRADED,
        score=grade.score * scale,
        max_score=grade.max_score * scale,
        feedback=grade.feedback,
        checks=data["checks"],
        metrics=grade.metrics | ({"figures": grade.figures} if grade.figures else {}),
        **shared,
    )


def _where(message: str, line: int | None) -> str:
    return f"{message} (line {line})" if line and f"line {line}" not in message else message
