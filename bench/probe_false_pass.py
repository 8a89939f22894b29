"""False-pass rate of the probe-sentiment grading rule over random and shuffled-label probes.

The rule (held-out accuracy, causal drop, flip rate, default thresholds, weakest of ``n_fits`` fits on
disjoint training samples) is applied to hundreds of probes no learner should pass with: a random
Gaussian direction (the same one for every fit, as learner code with a fixed seed returns), and a
difference of means on randomly shuffled labels (a new shuffle per fit). Also prints the two probes
that must pass (logistic regression, difference of means), the spread of each single fit's
measurements and how often a single fit would pass on its own, so the thresholds can be
re-calibrated by looking. Reads the stored sentiment-2l checkpoint; CPU, one thread.
Last line: key=value figures.

    .venv/bin/python bench/probe_false_pass.py [N]      # N probes of each kind, default 300
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
    scale, samples = kind.config.steer_scale, reviews.samples
    reference = measure(reviews, samples[0], samples[0].difference_of_means(), None, scale)
    means = [measure(reviews, s, s.difference_of_means(), None, scale) for s in samples]
    logistic = [measure(reviews, s, *logistic_regression(s.acts, s.positive), scale) for s in samples]
    means_passes, logistic_passes = kind.judge(means, reference).passed, kind.judge(logistic, reference).passed
    print(f"difference of means: {means}  passes={means_passes}")
    print(f"logistic regression: {logistic}  passes={logistic_passes}")

    generator = torch.Generator().manual_seed(0)
    d_model = samples[0].acts.shape[1]
    started = time.perf_counter()
    results = {}
    for name, fit in {
        "random": lambda s, seed: torch.randn(d_model, generator=torch.Generator().manual_seed(seed)),
        "shuffled": lambda s, seed: _difference_of_means(
            s.acts, s.positive[torch.randperm(len(s.positive), generator=generator)]
        ),
    }.items():
        probes = [[measure(reviews, s, fit(s, i), None, scale) for s in samples] for i in range(n)]
        passes = sum(kind.judge(fits, reference).passed for fits in probes)
        single = [m for fits in probes for m in fits]
        single_passes = sum(kind.judge([m], reference).passed for m in single)
        results[name] = passes / n
        for metric in ("accuracy", "drop", "flip"):
            values = torch.tensor([m[metric] for m in single])
            print(f"{name:9s} {metric:8s} mean {values.mean():.3f}  p95 {values.quantile(0.95):.3f}  "
                  f"max {values.max():.3f}")
        print(f"{name:9s} single fits passing: {single_passes} of {len(single)}; false passes: {passes} of {n}")
    seconds = time.perf_counter() - started
    print(
        f"probes={2 * n} fits={len(samples)} random_false_pass={results['random']:.4f} "
        f"shuffled_false_pass={results['shuffled']:.4f} logistic_passes={int(logistic_passes)} "
        f"means_passes={int(means_passes)} seconds={seconds:.1f}"
    )


def _difference_of_means(acts: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    return acts[labels].mean(0) - acts[~labels].mean(0)


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 300)
