"""A burst of 1,000 submissions through 1 and then 2 worker processes, with trouble midway.

When half the burst is graded, one worker is SIGKILLed (main process, pool and sandbox at once) and a
replacement started, and the private Redis is restarted. The sweeper runs every second, as
``serve_all`` would run it. Counts what matters: submissions lost (not graded) and graded twice
(more than one `graded` event); both must be 0. Ends with one key=value line.
"""

from __future__ import annotations

import time

from pipeline_setup import learner_and_exercise, percentile, setup_django, start_broker, start_worker

COUNT = 1000
TIMEOUT = 600


def burst(workers_count: int, redis) -> dict[str, float]:
    from django.db.models import Count, Q

    from grader.models import Submission
    from grader.submissions import services
    from tests.grader.submission_fixtures import CORRECT_ADD

    learner, exercise = learner_and_exercise()
    Submission.objects.all().delete()
    workers = [start_worker(f"burst{workers_count}-{n}", redis) for n in range(workers_count)]
    started = time.perf_counter()
    ids = [services.submit(learner=learner, exercise=exercise, code=CORRECT_ADD).pk for _ in range(COUNT)]
    submitted = time.perf_counter() - started
    trouble_done = False
    while time.perf_counter() - started < TIMEOUT:
        final = Submission.objects.filter(state__in=Submission.FINAL_STATES).count()
        if final == COUNT:
            break
        victim = Submission.objects.filter(state="running", worker__startswith=f"{workers[0].name}@").first()
        if not trouble_done and final >= COUNT // 2 and victim:  # kill the worker mid-grade
            workers[0].kill()
            redis.restart()
            workers[0] = start_worker(f"burst{workers_count}-replacement", redis)
            trouble_done = True
        services.sweep()
        time.sleep(1.0)
    elapsed = time.perf_counter() - started
    for worker in workers:
        worker.stop()
    rows = Submission.objects.filter(pk__in=ids).annotate(grades=Count("events", filter=Q(events__to_state="graded")))
    latencies = [(s.finished_at - s.created_at).total_seconds() * 1000 for s in rows if s.finished_at]
    return {
        "workers": workers_count,
        "submit_s": submitted,
        "elapsed_s": elapsed,
        "throughput": sum(1 for s in rows if s.state == "graded") / elapsed,
        "p95_ms": percentile(latencies, 95) if latencies else float("nan"),
        "lost": sum(1 for s in rows if s.state != "graded" or s.score != s.max_score),
        "duplicated": sum(1 for s in rows if s.grades > 1),
        "redelivered": sum(1 for s in rows if s.deliveries > 1),
    }


def main() -> None:
    # The sweeper treats a running submission as abandoned 2 s past its wall limit, as a short-deadline operator would.
    setup_django(GRADER_RUNNING_GRACE="2", GRADER_QUEUED_TIMEOUT="60")
    redis = start_broker()
    results = [burst(1, redis), burst(2, redis)]
    for r in results:
        print(f"{r['workers']} worker(s): {COUNT} submitted in {r['submit_s']:.1f} s, all final after {r['elapsed_s']:.1f} s: "
              f"{r['throughput']:.1f} graded/s, p95 submit→graded {r['p95_ms'] / 1000:.1f} s, "
              f"lost {r['lost']}, graded twice {r['duplicated']}, redelivered {r['redelivered']}")
    one, two = results
    print(f"count={COUNT} throughput_1w={one['throughput']:.1f} p95_ms_1w={one['p95_ms']:.0f} "
          f"throughput_2w={two['throughput']:.1f} p95_ms_2w={two['p95_ms']:.0f} "
          f"lost={one['lost'] + two['lost']} duplicated={one['duplicated'] + two['duplicated']}")


if __name__ == "__main__":
    main()
