"""Run without grading: the learner's code in the same sandbox, with the exercise's reference model as ``model``.

Like a notebook cell: whatever the code prints comes back, its error if it raises, and every matplotlib
figure it leaves open as a PNG. Nothing is graded or recorded as a submission. The model is the first
of the exercise kind's reference models that sandbox children may see (never the hidden one, never a
model whose weights are an exercise's answer); kinds without one run with ``model = None``.
"""

from __future__ import annotations

import base64
import json
import logging
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from workers.celery_app import app
from workers.exercises import child_side
from workers.exercises.registry import get_kind

if TYPE_CHECKING:  # the sandbox and the models are imported where used: web processes only start runs
    from workers.grading import WarmWorker
    from workers.sandbox import Limits

logger = logging.getLogger(__name__)

MAX_FIGURES = 8
FIGURE_BYTES_KEPT = 4 * 1024 * 1024  # all of a run's figures together, as PNG bytes
OUTPUT_KEPT = 10_000  # characters of printed output
QUEUE = "playground"  # consumed only by serve_all's playground worker(s): runs never delay a submission

_STOPPED = {"time_limit", "memory_limit", "output_limit", "killed"}


@dataclass
class PlaygroundRun:
    """What a run produced. ``status``: ``ok``, ``error`` (the code failed) or ``stopped`` (it hit a limit)."""

    status: str
    stdout: str = ""
    message: str = ""
    line: int | None = None
    figures: list[str] = field(default_factory=list)  # PNG data URIs
    model: str | None = None
    resources: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def playground_model(kind_slug: str) -> str | None:
    """The reference model a learner may explore for this kind of exercise, if any."""
    from workers.reference_models import MODELS

    for name in get_kind(kind_slug)().reference_models():
        model = MODELS.get(name)
        if model is not None and model.in_sandbox and not model.hidden:
            return name
    return None


def run_code(
    code: str, model_name: str | None, limits: Limits, worker: WarmWorker | None = None, variant: int | None = None
) -> PlaygroundRun:
    """Runs ``code`` in the worker's sandbox with ``model`` bound to the learner's ``variant`` of the named
    reference model (the one their submissions are graded on; ``None``: the stored model as it is)."""
    from workers.grading import warm_worker

    worker = worker or warm_worker()
    # One figure more than is kept, to tell the learner that some were left out.
    inputs = {"code": code, "model": model_name, "variant": variant, "max_figures": MAX_FIGURES + 1}
    result = worker.sandbox.run("", child_side.playground_run, inputs, limits)
    run = PlaygroundRun(
        status="ok" if result.ok else "stopped" if result.status in _STOPPED else "error",
        message=result.message,
        line=result.line,
        model=model_name,
        resources=dict(result.resources or {}),
    )
    notes = []
    stdout = result.stdout or ""
    if len(stdout) > OUTPUT_KEPT:
        notes.append(f"[output cut: only the first {OUTPUT_KEPT:,} of {len(stdout):,} characters are kept]")
        stdout = stdout[:OUTPUT_KEPT]
    if result.ok:
        pngs = [png for png in result.outputs.get("figures", []) if isinstance(png, np.ndarray) and png.dtype == np.uint8]
        run.figures, kept_bytes = [], 0
        for png in pngs[:MAX_FIGURES]:
            if kept_bytes + png.nbytes > FIGURE_BYTES_KEPT:
                break
            kept_bytes += png.nbytes
            run.figures.append("data:image/png;base64," + base64.b64encode(png.tobytes()).decode("ascii"))
        if len(run.figures) < len(pngs):
            made = str(len(pngs)) if len(pngs) <= MAX_FIGURES else f"more than {MAX_FIGURES}"
            notes.append(f"[figures cut: {len(run.figures)} of {made} shown; a run keeps at most {MAX_FIGURES} "
                         f"figures and {FIGURE_BYTES_KEPT // (1024 * 1024)} MB of images in all (try a smaller figsize or dpi)]")
    if notes and stdout and not stdout.endswith("\n"):
        stdout += "\n"
    run.stdout = stdout + "".join(note + "\n" for note in notes)
    return run


# --- runs requested from the web: the worker runs them, Redis keeps the result a few minutes ---------------

RUN_TTL_SECONDS = 600
_KEY = "playground:{}"


def store():
    """The Redis that carries Celery's messages also carries playground results (they are short-lived)."""
    import redis
    from django.conf import settings

    from workers.broker import PRIVATE_SCHEME

    if settings.REDIS_URL.startswith(PRIVATE_SCHEME):
        return redis.Redis(unix_socket_path=settings.REDIS_URL.removeprefix(PRIVATE_SCHEME), socket_timeout=5)
    return redis.Redis.from_url(settings.REDIS_URL, socket_timeout=5)


def save_run(run_id: str, data: dict[str, Any]) -> None:
    store().set(_KEY.format(run_id), json.dumps(data), ex=RUN_TTL_SECONDS)


def load_run(run_id: str) -> dict[str, Any] | None:
    raw = store().get(_KEY.format(run_id))
    return json.loads(raw) if raw else None


@app.task(name="workers.run_playground", ignore_result=True)
def run_playground(run_id: str, learner_id: int, code: str, model_name: str | None, limits: dict[str, Any]) -> None:
    """Thin: run the code, keep what it produced under the run's id for the page to fetch."""
    from grader.submissions.selectors import model_variant
    from workers.sandbox import Limits

    try:
        data = run_code(code, model_name, Limits(**limits), variant=model_variant(learner_id)).as_dict()
    except Exception as problem:  # our fault, never the learner's
        logger.exception("playground run %s failed", run_id)
        data = PlaygroundRun(status="error", message=f"The run failed on our side ({type(problem).__name__}); "
                             "please run again.").as_dict()
    try:
        save_run(run_id, {"learner": learner_id, **data})
    except Exception:  # Redis full or unreachable: the page will say the run is gone; the learner may run again
        logger.exception("could not keep the result of playground run %s", run_id)
    finally:
        _finished(run_id)


def _finished(run_id: str) -> None:
    from grader.playground.services import finished

    try:
        finished(run_id)
    except Exception:  # the run then counts as pending until PLAYGROUND_PENDING_TIMEOUT
        logger.exception("could not mark playground run %s finished", run_id)
