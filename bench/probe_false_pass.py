"""False-pass rate of the probe-sentiment grading rule over random and shuffled-label probes.

The rule (held-out accuracy, flip rate, causal drop, default thresholds, weakest of ``n_fits`` fits on
disjoint training samples; ``partial_credit`` for decoding and steering, full marks with the causal drop)
is applied to hundreds of probes no learner should get credit with: a random Gaussian direction (the same
one for every fit, as learner code with a fixed seed returns), and a difference of means on randomly
shuffled labels (a new shuffle per fit). A false pass is a score of at least half the marks; the bench
also counts probes that get any credit at all. Also prints the probes the rule is for: logistic
regression with L2 and the difference of means (full marks), and an unregularised softmax probe trained
with AdamW as ARENA trains its probes (partial credit), with their measurements and their cosine with the
difference of means; the spread of each single fit's measurements; and how often a single fit would get
credit or pass on its own, so the thresholds can be re-calibrated by looking. Reads the stored
sentiment-2l checkpoint; CPU, one thread. Last line: key=value figures.

    .venv/bin/python bench/probe_false_pass.py [N]      # N probes of each kind, default 300
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import torch  # noqa: E402

from workers import reference_models  # noqa: E402
from workers.exercises.probe_sentiment import ProbeSentiment, Reviews, cosine, measure  # noqa: E402


def logistic_regression(acts: torch.Tensor, labels: torch.Tensor) -> tuple[torch.Tensor, float]:
    namespace: dict = {}
    exec(ProbeSentiment.reference_solution, namespace)
    return namespace["fit_probe"](acts, labels.long())


def unregularised_softmax_probe(acts: torch.Tensor, labels: torch.Tensor) -> tuple[torch.Tensor, float]:
    """A probe as ARENA trains its OthelloGPT probes: softmax over the two classes, AdamW, no weight decay."""
    torch.manual_seed(0)
    probe = torch.nn.Linear(acts.shape[1], 2)
    optimiser = torch.optim.AdamW(probe.parameters(), lr=1e-2, betas=(0.9, 0.99), weight_decay=0.0)
    for _ in range(1000):
        loss = torch.nn.functional.cross_entropy(probe(acts), labels.long())
        optimiser.zero_grad()
        loss.backward()
        optimiser.step()
    weight, bias = probe.weight.detach(), probe.bias.detach()
    return weight[1] - weight[0], float(bias[1] - bias[0])


def main(n: int) -> None:
    torch.set_num_threads(1)
    kind = ProbeSentiment()
    reviews = Reviews.prepare(reference_models.load("sentiment-2l", "cpu"), kind.config)
    scale, samples = kind.config.steer_scale, reviews.samples
    reference = measure(reviews, samples[0], samples[0].difference_of_means(), None, scale)

    def fits_of(fit) -> list[dict[str, float]]:
        measured = []
        for sample in samples:
            direction, bias = fit(sample)
            measured.append(measure(reviews, sample, direction, bias, scale) | {"cosine": cosine(direction, sample)})
        return measured

    scores = {}
    for name, fit in {
        "difference of means": lambda s: (s.difference_of_means(), None),
        "logistic regression (L2)": lambda s: logistic_regression(s.acts, s.positive),
        "unregularised AdamW softmax": lambda s: unregularised_softmax_probe(s.acts, s.positive),
    }.items():
        fits = fits_of(fit)
        scores[name] = kind.judge(fits, reference).score
        rounded = [{key: round(value, 3) for key, value in m.items()} for m in fits]
        print(f"{name}: {rounded}  score={scores[name]:g}")

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
        grades = [kind.judge(fits, reference).score for fits in probes]
        false_passes, credited = sum(score >= 0.5 for score in grades), sum(score > 0 for score in grades)
        single = [m for fits in probes for m in fits]
        single_grades = [kind.judge([m], reference).score for m in single]
        results[name] = (false_passes / n, credited / n, max(grades))
        for metric in ("accuracy", "drop", "flip"):
            values = torch.tensor([m[metric] for m in single])
            print(f"{name:9s} {metric:8s} mean {values.mean():.3f}  p95 {values.quantile(0.95):.3f}  "
                  f"max {values.max():.3f}")
        print(f"{name:9s} single fits: credit {sum(g > 0 for g in single_grades)}, full marks "
              f"{sum(g == 1 for g in single_grades)} of {len(single)}; probes: credit {credited}, "
              f"false passes {false_passes} of {n}, best score {max(grades):g}")
    seconds = time.perf_counter() - started
    print(
        f"probes={2 * n} fits={len(samples)} random_false_pass={results['random'][0]:.4f} "
        f"random_credit={results['random'][1]:.4f} shuffled_false_pass={results['shuffled'][0]:.4f} "
        f"shuffled_credit={results['shuffled'][1]:.4f} shuffled_best={results['shuffled'][2]:g} "
        f"logistic_score={scores['logistic regression (L2)']:g} means_score={scores['difference of means']:g} "
        f"unregularised_score={scores['unregularised AdamW softmax']:g} seconds={seconds:.1f}"
    )


def _difference_of_means(acts: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    return acts[labels].mean(0) - acts[~labels].mean(0)


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 300)
