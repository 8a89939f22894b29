"""Which queues serve_all's workers consume."""

from workers.management.commands.serve_all import worker_queues


def test_without_a_gpu_every_worker_consumes_both_queues():
    assert worker_queues(2, has_gpu=False, gpu_takes_cpu=False) == [("worker-1", "cpu,gpu"), ("worker-2", "cpu,gpu")]


def test_with_a_gpu_one_worker_takes_the_gpu_queue():
    assert worker_queues(1, has_gpu=True, gpu_takes_cpu=False) == [("worker-gpu", "gpu"), ("worker-1", "cpu")]
    assert worker_queues(1, has_gpu=True, gpu_takes_cpu=True)[0] == ("worker-gpu", "gpu,cpu")
