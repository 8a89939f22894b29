"""Celery tasks. Thin: claim, grade, record; the rules live in grader.submissions.services."""

from __future__ import annotations

from workers.celery_app import app
from workers.grading import grade_exercise, warm_worker


@app.task(name="workers.grade_submission", bind=True)
def grade_submission(self, submission_id: str) -> None:
    # Imported here, not at the top: grader.submissions.services imports this module to send the task.
    from grader.submissions.selectors import model_variant
    from grader.submissions.services import mark_running, record_result

    worker = warm_worker()
    submission = mark_running(submission_id, worker=self.request.hostname or "", pid=worker.pid, device=worker.device)
    if submission is not None:
        variant = model_variant(submission.learner_id)
        record_result(submission_id, grade_exercise(submission.exercise, submission.code, worker=worker, variant=variant))
