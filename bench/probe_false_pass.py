"""False-pass rate of the probe-sentiment grading rule over random and shuffled-label directions.

The rule (held-out accuracy, causal drop, flip rate, default thresholds) is applied to hundreds of
directions no probe should pass with: random Gaussian directions, and differences of means on
randomly shuffled training labels. Also prints the measurements of the two probes that must pass
(logistic regression, difference of means) and the spread of each measurement, so the thresholds
can be re-calibrated by looking. Reads the stored sentiment-2l checkpoint; CPU, one thread.
Last line: key=value figures.

    .venv/bin/python bench/probe_false_pass.py [N]      # N directions of each kind, default 300
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import torch  # noqa: E402

from workers import reference_models  # noqa: E402
from workers.exercises.probe_sentiment import ProbeSentiment, Reviews, measure  # noqa: E402


def logistic_regression(acts: torch.Tensor, labels: torch.Tensor) -> tuple[torch.Tensor, float]:
    namespace: dict = {}
    exec(ProbeSentiment.reference_solution, namespace)
    return namespace["fit_probe"](acts, labels.long())


def main(n: int) -> None:
    torch.set_num_threads(1)
    kind = ProbeSentiment()
    reviews = Reviews.prepare(reference_models.load("sentiment-2l", "cpu"), kind.config)
    scale = kind.config.steer_scale
    reference = measure(reviews, reviews.reference_direction(), None, scale)
    direction, bias = logistic_regression(reviews.train_acts, reviews.train_positive)
    logistic = measure(reviews, direction, bias, scale)
    print(f"difference of means: {reference}  passes={kind.judge(reference, reference).passed}")
    print(f"logistic regression: {logistic}  passes={kind.judge(logistic, reference).passed}")

    generator = torch.Generator().manual_seed(0)
    acts, labels = reviews.train_acts, reviews.train_positive
    started = time.perf_counter()
    results = {}
    for name, draw in {
        "random": lambda: torch.randn(acts.shape[1], generator=generator),
        "shuffled": lambda: _difference_of_means(acts, labels[torch.randperm(len(labels), generator=generator)]),
    }.items():
        measured = [measure(reviews, draw(), None, scale) for _ in range(n)]
        passes = sum(kind.judge(m, reference).passed for m in measured)
        results[name] = passes / n
        for metric in ("accuracy", "drop", "flip"):
            values = torch.tensor([m[metric] for m in measured])
            print(f"{name:9s} {metric:8s} mean {values.mean():.3f}  p95 {values.quantile(0.95):.3f}  max {values.max():.3f}")
        print(f"{name:9s} false passes: {passes} of {n}")
    seconds = time.perf_counter() - started
    print(
        f"directions={2 * n} random_false_pass={results['random']:.4f} shuffled_false_pass={results['shuffled']:.4f} "
        f"logistic_passes={int(kind.judge(logistic, reference).passed)} means_passes={int(kind.judge(reference, reference).passed)} "
        f"seconds={seconds:.1f}"
    )


def _difference_of_means(acts: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    return acts[labels].mean(0) - acts[~labels].mean(0)


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 300)
