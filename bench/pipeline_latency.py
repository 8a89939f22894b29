"""End-to-end latency of one code submission: POST /api/submissions → graded, with a warm worker.

200 submissions of a trivial function-tests exercise, one after another, through the real path: the
API view, the database, the private Redis, one Celery worker process, the sandbox, the grader.
Prints the distribution and its parts (waiting in the queue, grading) and ends with one key=value line.
"""

from __future__ import annotations

import json
import time

from pipeline_setup import learner_and_exercise, percentile, setup_django, start_broker, start_worker

COUNT = 200


def main() -> None:
    setup_django()
    from django.test import Client

    from grader.models import Submission
    from tests.grader.submission_fixtures import CORRECT_ADD

    learner, exercise = learner_and_exercise()
    client = Client()
    client.force_login(learner)
    worker = start_worker("bench-1", start_broker())
    latencies, waits, gradings = [], [], []
    for n in range(COUNT + 5):  # the first five warm the path and are not counted
        started = time.perf_counter()
        response = client.post("/api/submissions", json.dumps({"exercise": exercise.slug, "code": CORRECT_ADD}),
                               content_type="application/json")
        submission_id = response.json()["id"]
        while not (s := Submission.objects.filter(pk=submission_id, state__in=Submission.FINAL_STATES).first()):
            time.sleep(0.002)
        elapsed = time.perf_counter() - started
        assert s.state == "graded" and s.score == s.max_score, (s.state, s.feedback)
        if n >= 5:
            latencies.append(elapsed * 1000)
            waits.append((s.started_at - s.created_at).total_seconds() * 1000)
            gradings.append((s.finished_at - s.started_at).total_seconds() * 1000)
    print(f"{COUNT} submissions, one at a time, 1 warm worker")
    for name, values in (("POST → graded", latencies), ("  queued → running", waits), ("  running → graded", gradings)):
        print(f"{name:22s} p50 {percentile(values, 50):7.1f} ms   p95 {percentile(values, 95):7.1f} ms   max {max(values):7.1f} ms")
    print(f"count={COUNT} p50_ms={percentile(latencies, 50):.1f} p95_ms={percentile(latencies, 95):.1f} "
          f"queue_p50_ms={percentile(waits, 50):.1f} grade_p50_ms={percentile(gradings, 50):.1f}")


if __name__ == "__main__":
    main()
