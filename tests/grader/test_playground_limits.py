"""Playground runs as a hostile learner would send them: limits like submissions', a queue of their own
(so they never delay a graded submission), results capped with a message, and a Redis that never
evicts a queued task."""

import json
from types import SimpleNamespace

import numpy as np
import pytest

from grader.models import PlaygroundRun
from grader.playground import services
from grader.submissions import services as submission_services
from tests.grader.submission_fixtures import make_exercise
from workers import playground
from workers.management.commands.serve_all import playground_worker_queues, worker_queues


def start(client, slug="add", code="print(1)"):
    return client.post(f"/api/playground/exercises/{slug}/runs", json.dumps({"code": code}), content_type="application/json")


def test_25_runs_in_a_burst_by_one_learner_accept_only_the_pending_limit(learner_client, sent, settings):
    """Sent back to back (the test database, SQLite in memory, cannot take 25 threads at once; on the
    real database one learner's starts are serialised by a lock on their row, as submissions are)."""
    settings.GRADER_MAX_PENDING, settings.GRADER_RATE_LIMIT = 3, 10
    make_exercise()
    responses = [start(learner_client) for _ in range(25)]
    codes = [r.status_code for r in responses]
    assert codes == [202] * 3 + [429] * 22, codes
    assert "3 playground runs waiting or running (at most 3 at once)" in responses[-1].json()["detail"]
    assert len(sent) == 3 and PlaygroundRun.objects.count() == 3


def test_finished_runs_free_the_pending_limit_but_the_rate_limit_holds(learner_client, sent, settings):
    settings.GRADER_MAX_PENDING, settings.GRADER_RATE_LIMIT = 2, 4
    make_exercise()
    for _ in range(2):
        assert start(learner_client).status_code == 202
    assert start(learner_client).status_code == 429
    for args, _queue in sent:
        services.finished(args[0])
    assert start(learner_client).status_code == 202
    services.finished(sent[-1][0][0])
    assert start(learner_client).status_code == 202
    services.finished(sent[-1][0][0])
    response = start(learner_client)
    assert response.status_code == 429
    assert "started a run 4 times in the last minute (the limit is 4)" in response.json()["detail"]
    assert "seconds before running again" in response.json()["detail"]


def test_a_run_the_worker_lost_stops_counting_after_the_timeout(learner_client, sent, settings):
    settings.GRADER_MAX_PENDING, settings.PLAYGROUND_PENDING_TIMEOUT = 1, 600
    make_exercise()
    assert start(learner_client).status_code == 202
    assert start(learner_client).status_code == 429
    settings.PLAYGROUND_PENDING_TIMEOUT = 0
    assert start(learner_client).status_code == 202


def test_runs_and_submissions_use_one_implementation_of_the_limits(learner, settings):
    """The submission limits' wording comes from the same module as the runs'."""
    from grader import limits

    with pytest.raises(limits.LimitReached, match="2 submissions waiting to be graded"):
        limits.check_pending(2, 2, limits.SUBMISSIONS)
    assert submission_services.limits is limits and services.limits is limits


def test_a_playground_run_never_sits_in_a_submission_queue(learner_client, sent, monkeypatch):
    """Runs go to their own queue; no worker that grades submissions consumes it, and serve_all always
    starts a worker that does."""
    make_exercise()
    make_exercise(slug="gpu-add", needs_gpu=True)
    for slug in ("add", "gpu-add"):
        assert start(learner_client, slug).status_code == 202
    assert {queue for _args, queue in sent} == {"playground"}
    for has_gpu in (False, True):
        for gpu_takes_cpu in (False, True):
            for _name, queues in worker_queues(2, has_gpu, gpu_takes_cpu):
                assert "playground" not in queues.split(",")
    assert playground_worker_queues(0) == [("worker-playground-1", "playground")]
    assert [queues for _name, queues in playground_worker_queues(2)] == ["playground", "playground"]
    from workers.celery_app import app

    assert "playground" in {queue.name for queue in app.conf.task_queues}


def _sandbox_result(**fields):
    defaults = dict(ok=True, status="ok", stdout="", message="", line=None, resources={}, outputs={})
    return SimpleNamespace(**(defaults | fields))


def _worker(result):
    return SimpleNamespace(sandbox=SimpleNamespace(run=lambda *args: result))


def test_an_over_large_result_is_capped_with_a_message():
    big_png = np.zeros(1_900_000, dtype=np.uint8)
    result = _sandbox_result(stdout="x" * 50_000, outputs={"figures": [big_png] * (playground.MAX_FIGURES + 1)})
    run = playground.run_code("", None, None, worker=_worker(result))
    kept = sum(len(figure) for figure in run.figures)
    assert len(run.figures) == 2 and kept < 2 * playground.FIGURE_BYTES_KEPT
    assert run.stdout.startswith("x" * playground.OUTPUT_KEPT)
    assert len(run.stdout) < playground.OUTPUT_KEPT + 500
    assert "[output cut: only the first 10,000 of 50,000 characters are kept]" in run.stdout
    assert "[figures cut: 2 of more than 8 shown" in run.stdout
    assert len(json.dumps(run.as_dict())) < 7 * 1024 * 1024


def test_a_result_within_the_limits_has_no_note():
    small = np.zeros(1000, dtype=np.uint8)
    run = playground.run_code("", None, None, worker=_worker(_sandbox_result(stdout="hi\n", outputs={"figures": [small] * 3})))
    assert run.stdout == "hi\n" and len(run.figures) == 3


def test_the_private_redis_has_a_maxmemory_and_never_evicts(tmp_path, settings):
    from workers.broker import PrivateRedis

    redis = PrivateRedis(tmp_path / "r.sock", tmp_path / "data")
    redis.start()
    try:
        config = redis.client().config_get("maxmemory*")
        assert config["maxmemory-policy"] == "noeviction"
        assert int(config["maxmemory"]) == 512 * 1024 * 1024
    finally:
        redis.stop()


def test_a_full_or_unreachable_redis_refuses_the_run_with_503_and_it_does_not_count(learner_client, sent, monkeypatch):
    """With maxmemory and noeviction, a full Redis refuses writes: the learner gets a reason, not a 500,
    and the refused run does not use up their pending limit."""
    import redis

    make_exercise()

    def full(*args, **kwargs):
        raise redis.exceptions.OutOfMemoryError("OOM command not allowed when used memory > 'maxmemory'.")

    monkeypatch.setattr(playground.run_playground, "apply_async", full)
    response = start(learner_client)
    assert response.status_code == 503
    assert "could not be queued" in response.json()["detail"]
    assert not PlaygroundRun.objects.filter(finished_at=None).exists()


def test_the_worker_marks_a_run_finished_even_when_keeping_its_result_fails(learner, monkeypatch):
    import redis

    from grader.models import CodeExercise

    make_exercise()
    PlaygroundRun.objects.create(id="r1", learner=learner, exercise=CodeExercise.objects.get())
    monkeypatch.setattr(playground, "run_code", lambda *args, **kwargs: playground.PlaygroundRun(status="ok"))
    monkeypatch.setattr("grader.submissions.selectors.model_variant", lambda learner_id: 0)

    class Full:
        def set(self, *args, **kwargs):
            raise redis.exceptions.OutOfMemoryError("OOM")

    monkeypatch.setattr(playground, "store", lambda: Full())
    playground.run_playground.run("r1", learner.pk, "print(1)", None, {"wall_seconds": 1})
    assert PlaygroundRun.objects.get(pk="r1").finished_at is not None
