"""``probe-sentiment``: fit a linear probe for sentiment, then find out whether the model actually uses it.

The child runs ``sentiment-2l`` on the training reviews, hands the learner the residual stream at the
read hook and the labels, and returns the learner's direction; it does so for each of ``n_fits``
disjoint samples of training reviews. The trusted parent then measures each direction on held-out
reviews the child never saw:

* accuracy: does the direction separate positive from negative (threshold fit on the training reviews)?
* causal drop: how much of the model's sentiment logit difference is lost when the direction is
  projected out of the residual stream at the read position;
* flip rate: how often the model's answer changes sentiment when the activations are pushed along
  the direction to the other class's mean (times ``steer_scale``).

Scoring follows what each measurement shows, on the weakest fit. A direction that decodes (accuracy) and
steers the model (flip rate) on every fit earns ``partial_credit`` (0.4: decoding and steering, given
together); full marks need the causal drop as well, which is the lesson's point (decodable ≠ used). A
standard unregularised logistic probe lands in between: it separates the reviews and steers the model, but
its direction mixes the one the model reads with other features that separate the training reviews (drop
about 0.25-0.55, cosine about 0.6-0.9 with the difference of class means); its feedback names the steps to
full marks with the figures of its fit, among them that cosine, computed here against the grader's own
difference of means on the same training sample.

Why no credit for one measurement alone, and why less than half for two: the sentiment direction dominates
this residual stream, so a difference of means on *shuffled* labels lands on it now and then (about one
fit in ten decodes and steers, one in 120 also drops ≥ 0.85; bench/probe_false_pass.py). Grading the
weakest of three fits on disjoint samples keeps such lucky directions from full marks (every fit would
have to land), makes even the partial credit rare (about one shuffled-label probe in 500), and keeps
that credit below half marks.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pydantic
import torch

from workers.exercises import _feedback, contract
from workers.exercises._arrays import from_learner, require_function
from workers.exercises.base import Check, ExerciseKind, Grade, InvalidOutput
from workers.reference_models import device_of, sentiment

MODEL = "sentiment-2l"


class ProbeSentiment(ExerciseKind):
    slug = "probe-sentiment"
    title = "Linear probe for sentiment, graded by decoding and by causal effect"
    learner_interface = f"""
Define

```python
def fit_probe(acts: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    ...
```

- `acts`: `float32` tensor of shape `[N, 64]` (N = 220 by default): the residual stream of the reference
  model `{MODEL}` at hook `{sentiment.READ_HOOK}`, last position, for N training reviews.
- `labels`: `int64` tensor of shape `[N]`: `1` for a positive review, `0` for a negative one.
- Return a direction of shape `[64]` that points from negative towards positive. You may instead
  return a pair `(direction, bias)` with a float `bias`; then "positive" means `acts @ direction + bias > 0`.

The model is a 2-layer attention-only TransformerLens model (`TransformerBridge`, d_model 64, 4 heads,
word-level vocabulary). A review is `<bos> the SUBJECT was MODIFIER ADJECTIVE`, e.g.
"the pizza was not good"; `not` flips the adjective's sentiment, `very`, `really`, `so`, `quite` keep it.
The model answers with one of 8 words, `pos_TOPIC` or `neg_TOPIC` (topics food, film, place, tech), and
its sentiment logit difference is `logsumexp(logits[pos_*]) - logsumexp(logits[neg_*])` at the last position.

`fit_probe` is called three times, on three disjoint samples of training reviews, and each direction it
returns is graded; the weakest one counts. A probe is a procedure that finds the direction from any sample.

Measured on held-out reviews your code never sees:
1. held-out accuracy of your direction (with your bias, or a threshold fit on the training reviews): does it
   *decode* sentiment?
2. flip rate: the share of reviews whose predicted sentiment flips when the activation is moved along
   your direction to the other class's mean: can it *steer* the model?
3. causal drop: the share of the model's logit difference lost when your direction is projected out of
   `{sentiment.READ_HOOK}` at the last position (`x - (x·u) u`, u your unit direction): does the model
   *use* it?

Score: 40% of the marks for decoding and steering (given together, once accuracy ≥ 95% and flip rate ≥ 85% on
every fit); full marks need the causal drop as well (≥ 85%). Decoding alone earns nothing: many
directions separate positive from negative reviews (even a difference of means on shuffled labels does now
and then), and only one of them is what the model reads. That is the lesson's point: decoding is not use.
A probe fit only to separate the training reviews, such as logistic regression without regularisation, can
decode perfectly and still mix the model's direction with other features; the feedback gives the cosine
between your direction and the difference of class means, and what to try.
"""
    starter_code = '''import torch


def fit_probe(acts: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """Return a direction [d_model] pointing from negative towards positive reviews."""
    raise NotImplementedError
'''
    reference_solution = '''import torch


def fit_probe(acts: torch.Tensor, labels: torch.Tensor):
    """Logistic regression by gradient descent, with a bias."""
    direction = torch.zeros(acts.shape[1], requires_grad=True)
    bias = torch.zeros((), requires_grad=True)
    optimiser = torch.optim.Adam([direction, bias], lr=0.05)
    for _ in range(300):
        loss = torch.nn.functional.binary_cross_entropy_with_logits(acts @ direction + bias, labels.float())
        optimiser.zero_grad()
        (loss + 1e-3 * direction.pow(2).sum()).backward()
        optimiser.step()
    return direction.detach(), bias.item()
'''

    class Config(ExerciseKind.Config):
        n_train: int = pydantic.Field(220, ge=50, le=800, description="training reviews handed to the learner per fit")
        n_fits: int = pydantic.Field(3, ge=2, le=4, description="disjoint training samples fit_probe is called on; "
                                                                "the weakest fit is graded")
        n_heldout: int = pydantic.Field(300, ge=50, le=800, description="held-out reviews, only in the grader")
        split_seed: int = 0
        min_accuracy: float = pydantic.Field(0.95, ge=0, le=1)
        # Calibrated on sentiment-2l (bench/probe_false_pass.py; split seeds 0-7, three fits of 220): every
        # fit of logistic regression with L2 drops at least 0.93, of difference of means at least 0.898
        # (seed 4), of unregularised logistic regression at most 0.47; about one shuffled-label fit in 120
        # passes all three checks, which is why the weakest of n_fits fits is graded.
        min_drop: float = pydantic.Field(0.85, ge=0, le=1)
        # An unregularised logistic probe steers with flip 0.90-1.0 over learner copies: 0.85 leaves it a margin.
        min_flip: float = pydantic.Field(0.85, ge=0, le=1)
        steer_scale: float = pydantic.Field(1.5, gt=0, description="push to the other class's mean, times this")
        # Less than half: a difference of means on shuffled labels decodes and steers on all three fits
        # about once in 500 probes (bench/probe_false_pass.py), and must never reach a pass.
        partial_credit: float = pydantic.Field(0.4, ge=0, lt=0.5, description="score for a direction that decodes "
                                               "and steers on every fit but fails the causal drop")

        @pydantic.model_validator(mode="after")
        def _reviews_exist(self):
            if self.n_fits * self.n_train + self.n_heldout > len(sentiment.SENTENCES):
                raise ValueError(
                    f"n_fits × n_train + n_heldout must be at most {len(sentiment.SENTENCES)} distinct reviews"
                )
            return self

    def reference_models(self) -> list[str]:
        return [MODEL]

    def child_inputs(self) -> dict[str, Any]:
        c = self.config
        samples, _ = sentiment.split(c.split_seed, c.n_train, c.n_heldout, c.n_fits)
        encoded = [sentiment.encode(sample) for sample in samples]
        return {"model": MODEL, "hook": sentiment.READ_HOOK,
                "samples": [{"tokens": tokens.numpy(), "labels": positive.long().numpy()}
                            for tokens, _, positive in encoded]}

    @staticmethod
    def run_in_child(learner: dict[str, Any], inputs: dict[str, Any], models: dict[str, Any]) -> dict[str, Any]:
        fit_probe = require_function(learner, "fit_probe", "acts, labels")
        model = models[inputs["model"]]
        hook = inputs["hook"]
        fits = []
        for sample in inputs["samples"]:
            with torch.no_grad():
                _, cache = model.run_with_cache(torch.as_tensor(sample["tokens"]).to(device_of(model)),
                                                names_filter=hook)
            result = fit_probe(cache[hook][:, -1].detach().cpu().clone(), torch.as_tensor(sample["labels"]))
            if isinstance(result, tuple) and len(result) == 2:
                fits.append({"direction": from_learner(result[0]), "bias": from_learner(result[1])})
            else:
                fits.append({"direction": from_learner(result)})
        return {"fits": fits}

    def outputs(self) -> contract.Record:
        # Any finite scale: ``measure`` divides by the largest |entry| first, so 1e-30 and 1e30 read as 1.
        direction = contract.Array(shape=(sentiment.CONFIG["d_model"],), max_abs=None)
        fit = contract.Record({"direction": direction}, optional={"bias": contract.Number()})
        n_fits = self.config.n_fits
        return contract.Record({"fits": contract.ListOf(fit, min_len=n_fits, max_len=n_fits)})

    def grade(self, outputs: dict[str, Any], models: dict[str, Any], device: str) -> Grade:
        model = models[MODEL]
        reviews = Reviews.prepare(model, self.config)
        measured = []
        for index, (fit, sample) in enumerate(zip(outputs["fits"], reviews.samples)):
            direction = fit["direction"]
            if not direction.any():
                raise InvalidOutput(f"fits[{index}].direction: expected a non-zero vector of shape "
                                    f"[{len(direction)}], got all zeros")
            measured.append(measure(reviews, sample, direction, fit.get("bias"), self.config.steer_scale)
                            | {"cosine": cosine(direction, sample)})
        first = reviews.samples[0]
        reference = measure(reviews, first, first.difference_of_means(), None, self.config.steer_scale)
        return self.judge(measured, reference)

    def judge(self, fits: list[dict[str, float]], reference: dict[str, float]) -> Grade:
        """The grading rule: the weakest fit's measurements against the configured thresholds.

        ``partial_credit`` when accuracy and flip rate both pass (decoding and steering, given together),
        full marks when the causal drop passes too, nothing otherwise.
        """
        c = self.config
        measured = {key: min(fit[key] for fit in fits) for key in ("accuracy", "drop", "flip")}
        accuracy, drop, flip = measured["accuracy"], measured["drop"], measured["flip"]
        cosines = [fit["cosine"] for fit in fits if "cosine" in fit]
        # Flipping the sign turns each fit's accuracy a into 1 − a: suggest it only when that would pass.
        flipped_passes = min(1 - fit["accuracy"] for fit in fits) >= c.min_accuracy
        checks = [
            Check("held-out accuracy", accuracy >= c.min_accuracy, round(accuracy, 4), c.min_accuracy,
                  "share of held-out reviews on the right side of your direction"),
            Check("causal drop", drop >= c.min_drop, round(drop, 4), c.min_drop,
                  f"share of the sentiment logit difference lost when your direction is projected out of "
                  f"{sentiment.READ_HOOK}"),
            Check("flip rate", flip >= c.min_flip, round(flip, 4), c.min_flip,
                  "share of reviews whose sentiment flips when pushed along your direction"),
        ]
        decodes, used, steers = (check.passed for check in checks)
        passed = decodes and used and steers
        score = 1.0 if passed else c.partial_credit if decodes and steers else 0.0
        lines = [
            f"`fit_probe` was fit on {len(fits)} disjoint samples of {c.n_train} training reviews; each figure is "
            "its weakest fit.",
            f"**Held-out accuracy {accuracy:.1%}** (needs {c.min_accuracy:.0%}) on {c.n_heldout} reviews your "
            "code never saw: "
            + ("your direction separates positive from negative reviews." if decodes else
               "your direction does not separate them well enough"
               + (" (it points towards *negative*: flip its sign, and your bias's)." if flipped_passes else ".")),
            f"**Flip rate {flip:.1%}** (needs {c.min_flip:.0%}): "
            + ("pushing along your direction flips the model's sentiment." if steers else
               "pushing along your direction rarely flips the model's sentiment."),
            f"**Causal drop {drop:.1%}** (needs {c.min_drop:.0%}; the grader's own difference-of-means direction "
            f"gives {reference['drop']:.0%}): "
            + ("the model relies on this direction." if used else
               "projecting your direction out barely changes the model's answer, so the model does not rely on it "
               "— decodable is not the same as used." if drop < 0.3 else
               "the model relies on it only in part: your direction mixes the one the model reads with other "
               "features."),
        ]
        near = _feedback.near_threshold(
            (("held-out accuracy", accuracy, c.min_accuracy, ".1%"), ("flip rate", flip, c.min_flip, ".1%"),
             ("causal drop", drop, c.min_drop, ".1%")),
            "Another sample of reviews, or another copy of the model, can land on the other side: aim for a clear "
            "margin.", ceiling=1)  # at the ceiling nothing is close
        if near:
            lines.append(near)
        if passed:
            lines.append("**Full marks.** All three pass: you found the direction the model uses.")
        elif decodes and steers:
            lines.append(
                f"**{c.partial_credit:.0%} of the marks**, for decoding and steering: your direction decodes and steers "
                "the model, but the model uses only part of it. Full marks need the causal drop too.")
            lines.append(self._next_steps(drop, cosines, reference))
        else:
            lines.append(
                f"**No marks.** Credit starts once your direction both decodes (accuracy) and steers the model "
                f"(flip rate) on every fit ({c.partial_credit:.0%} of the marks); full marks need the causal drop as well: a "
                "probe must decode sentiment *and* be what the model uses.")
            if decodes:  # it separates the reviews but is not (enough of) what the model reads: the same steps
                lines.append(self._next_steps(drop, cosines, reference))
        metrics = {k: round(v, 4) for k, v in measured.items()}
        if cosines:
            metrics["cosine"] = round(min(cosines), 4)
        return Grade(
            score=score,
            max_score=1.0,
            checks=checks,
            feedback="\n\n".join(lines),
            metrics={**metrics, **{f"reference_{k}": round(v, 4) for k, v in reference.items()}},
        )

    @staticmethod
    def _next_steps(drop: float, cosines: list[float], reference: dict[str, float]) -> str:
        """What separates a direction that decodes and steers from full marks, with this fit's figures."""
        if cosines:
            *others, last = [f"{cosine:.2f}" for cosine in cosines]
            figures = f"{', '.join(others)} and {last}" if others else last
            cosine_line = (f"The cosine between your direction and the difference of class means on the same "
                           f"training reviews is {figures} (one per fit); the probes that pass (L2-regularised "
                           "logistic regression, the difference of means itself) come out at 0.97 or above.")
        else:
            cosine_line = ""
        return (
            "**Next steps.** Many directions separate the training reviews perfectly; a probe fit only to "
            "separate them (logistic regression without regularisation, trained long) grows along whichever of "
            f"them the loss favours, and the model reads only one. {cosine_line}\n"
            "1. Regularise: add an L2 penalty to the loss, e.g. `loss + 1e-3 * w.pow(2).sum()`, so the probe "
            "keeps only what it needs to separate the classes.\n"
            "2. Compare with the difference of class means, `acts[labels == 1].mean(0) - acts[labels == 0].mean(0)` "
            f"(the grader's own drops {reference['drop']:.0%} here).\n"
            f"3. Check the cosine between your direction and that difference of means: your drop of {drop:.0%} "
            "should rise as the cosine approaches 1."
        )


def cosine(direction: np.ndarray | torch.Tensor, sample: Sample) -> float:
    """Cosine between ``direction`` and the grader's difference of means on the same training sample."""
    direction = torch.as_tensor(direction, dtype=torch.float64).cpu()
    direction = direction / direction.abs().max()  # scale-free, like ``measure``
    means = sample.difference_of_means().to("cpu", torch.float64)
    return float(torch.nn.functional.cosine_similarity(direction, means, dim=0))


@dataclass
class Sample:
    """One training sample a probe was fit on: activations at the read hook (last position) and labels."""

    acts: torch.Tensor
    positive: torch.Tensor

    def difference_of_means(self) -> torch.Tensor:
        """The grader's own probe."""
        return self.acts[self.positive].mean(0) - self.acts[~self.positive].mean(0)


@dataclass
class Reviews:
    """The reviews a probe is measured on, run through the model once: training samples and held-out split."""

    model: Any
    samples: list[Sample]
    tokens: torch.Tensor  # held-out
    acts: torch.Tensor  # held-out, at the read hook, last position
    positive: torch.Tensor  # held-out labels
    clean: torch.Tensor  # held-out signed logit difference, mean

    @classmethod
    def prepare(cls, model, config: ProbeSentiment.Config) -> Reviews:
        samples, heldout = sentiment.split(config.split_seed, config.n_train, config.n_heldout, config.n_fits)
        tokens, acts, positive = _activations(model, heldout)
        with torch.no_grad():
            clean = (sentiment.logit_difference(model(tokens)) * (positive.float() * 2 - 1)).mean()
        fitted_on = [Sample(*_activations(model, sample)[1:]) for sample in samples]
        return cls(model, fitted_on, tokens, acts, positive, clean)


def _activations(model, indices: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    tokens, _, positive = sentiment.encode(indices)
    tokens = tokens.to(device_of(model))
    with torch.no_grad():
        _, cache = model.run_with_cache(tokens, names_filter=sentiment.READ_HOOK)
    return tokens, cache[sentiment.READ_HOOK][:, -1], positive.to(device_of(model))


@torch.no_grad()
def measure(
    reviews: Reviews, sample: Sample, direction: np.ndarray | torch.Tensor, bias: float | None, steer_scale: float
) -> dict[str, float]:
    """Held-out accuracy, causal drop and flip rate of ``direction``, fit on ``sample`` (see the module docstring).

    Scale-free for any finite non-zero direction: it is divided by its largest |entry| in float64 before
    its norm is taken (which then lies in [1, 8]), and the bias with it, so ``acts @ direction + bias > 0``
    reads as ``acts @ unit > threshold`` without overflow or underflow.
    """
    model, acts, positive = reviews.model, reviews.acts, reviews.positive
    direction = torch.as_tensor(direction, dtype=torch.float64).cpu()
    largest = float(direction.abs().max())
    scaled = direction / largest
    length = float(scaled.norm())
    unit = (scaled / length).to(acts.device, torch.float32)

    projections = sample.acts @ unit
    positive_mean = projections[sample.positive].mean()
    negative_mean = projections[~sample.positive].mean()
    if bias is None:
        predicted = acts @ unit > (positive_mean + negative_mean) / 2
    else:
        predicted = acts @ unit > -(bias / largest) / length  # a float64 quotient: ±inf at worst, never NaN
    accuracy = (predicted == positive).double().mean()  # exact shares: 270 of 300 is 0.9, not 0.8999999762

    def project_out(resid, hook):
        resid[:, -1] -= (resid[:, -1] @ unit)[:, None] * unit
        return resid

    ablated = model.run_with_hooks(reviews.tokens, fwd_hooks=[(sentiment.READ_HOOK, project_out)])
    ablated = (sentiment.logit_difference(ablated) * (positive.float() * 2 - 1)).mean()

    shift = torch.where(positive, negative_mean - positive_mean, positive_mean - negative_mean) * steer_scale

    def push(resid, hook):
        resid[:, -1] += shift[:, None] * unit
        return resid

    steered = sentiment.logit_difference(model.run_with_hooks(reviews.tokens, fwd_hooks=[(sentiment.READ_HOOK, push)]))
    flip = ((steered > 0) != positive).double().mean()
    return {"accuracy": float(accuracy), "drop": float(1 - ablated / reviews.clean), "flip": float(flip)}
