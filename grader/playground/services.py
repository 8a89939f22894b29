"""Starting a playground run: check the code, note who asked, send it to the exercise's queue."""

from __future__ import annotations

import uuid

from django.contrib.auth.base_user import AbstractBaseUser

from grader.models import CodeExercise
from grader.submissions.services import MAX_CODE_BYTES, SubmissionRefused, check_code
from workers import playground


def start_run(*, learner: AbstractBaseUser, exercise: CodeExercise, code: str) -> str:
    """Queues a run of ``code`` for ``exercise`` and returns its id. Raises ``SubmissionRefused`` for unusable code."""
    check_code(code)
    if not code.strip():
        raise SubmissionRefused("Your code is empty. Write something in the editor, then run it.")
    size = len(code.encode())
    if size > MAX_CODE_BYTES:
        raise SubmissionRefused(
            f"Your code is {size / 1024:.1f} KiB; runs are limited to {MAX_CODE_BYTES // 1024} KiB.", status=413
        )
    run_id = uuid.uuid4().hex
    playground.save_run(run_id, {"learner": learner.pk, "status": "queued"})
    limits = {"wall_seconds": exercise.wall_seconds, "cpu_seconds": exercise.cpu_seconds,
              "memory_bytes": exercise.memory_mb * 1024 * 1024, "max_output_bytes": exercise.max_output_kb * 1024}
    model = playground.playground_model(exercise.kind)
    playground.run_playground.apply_async((run_id, learner.pk, code, model, limits), queue=exercise.queue)
    return run_id


def run_of(learner: AbstractBaseUser, run_id: str) -> dict | None:
    """The run's state and output, if it exists and belongs to ``learner``."""
    data = playground.load_run(run_id)
    if data is None or data.get("learner") != learner.pk:
        return None
    return {key: value for key, value in data.items() if key != "learner"}
