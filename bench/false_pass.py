"""False passes: N random wrong solutions of an exercise kind, graded exactly as submissions are.

Every solution goes through one warm sandbox and ``grade_code`` (the worker's own path), so what is
measured is what a learner who submits noise would get. A pass is a score of at least half the marks.
The wrong solutions, per kind (each drawn from its own seed, so a run can be repeated):

- probe-sentiment: a random Gaussian direction; a difference of means on shuffled labels;
- superposition-toy: random unit-row W with a bias fitted to them by Adam (the strongest random answer);
  random W with a random bias; over the six configurations (n×d = 5×2, 20×5; S = 0.7, 0.9, 0.99);
- orthogonal-packing: 17 to 200 random Gaussian vectors; a valid packing with one row repeated at
  another scale;
- scrub-induction: a random head with a random resample (random tokens, the input unchanged, or the
  rows shuffled) and a random control;
- induction-circuit: a random non-empty subset of the 8 heads, never one of the models' real circuits.

    .venv/bin/python bench/false_pass.py KIND N     # KIND: a slug above, or "all"

Prints one line per kind, ``kind=… n=… false_pass=… errors=… seconds=…`` (with the best score seen and
the passes per family), the ``key=value`` line last.
"""

from __future__ import annotations

import functools
import itertools
import os
import random
import sys
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

import django  # noqa: E402

django.setup()

from workers import reference_models  # noqa: E402
from workers.grading import Verdict, grade_code, warm_worker  # noqa: E402
from workers.sandbox import Limits  # noqa: E402

LIMITS = Limits(wall_seconds=60, cpu_seconds=60, memory_bytes=1024**3)
Wrong = tuple[str, str, dict]  # family, code, configuration


def probe(rng: random.Random) -> Wrong:
    seed = rng.randrange(2**31)
    if rng.random() < 0.5:
        return "random direction", (
            "import torch\n\ndef fit_probe(acts, labels):\n"
            f"    return torch.randn(acts.shape[1], generator=torch.Generator().manual_seed({seed}))\n"), {}
    return "shuffled labels", (
        "import torch\n\ndef fit_probe(acts, labels):\n"
        f"    order = torch.randperm(len(labels), generator=torch.Generator().manual_seed({seed} + len(acts)))\n"
        "    shuffled = labels[order].bool()\n"
        "    return acts[shuffled].mean(0) - acts[~shuffled].mean(0)\n"), {}


_TOY_CONFIGS = [{"n_features": n, "d_hidden": d, "sparsity": s} for (n, d), s in
                itertools.product([(5, 2), (20, 5)], (0.7, 0.9, 0.99))]


def superposition(rng: random.Random) -> Wrong:
    seed, config = rng.randrange(2**31), rng.choice(_TOY_CONFIGS)
    shape = f"{config['n_features']}x{config['d_hidden']} S={config['sparsity']}"
    head = (f"import torch\n\ndef toy_model(n_features, d_hidden, sparsity, importance):\n"
            f"    generator = torch.Generator().manual_seed({seed})\n"
            "    W = torch.randn(n_features, d_hidden, generator=generator)\n")
    if rng.random() < 0.5:  # the strongest random answer: random directions, the bias fitted to them
        return f"random unit rows, fitted bias {shape}", head + (
            "    W = W / W.norm(dim=1, keepdim=True)\n"
            "    b = torch.full((n_features,), 0.1, requires_grad=True)\n"
            "    optimiser = torch.optim.Adam([b], lr=0.02)\n"
            "    for _ in range(250):\n"
            "        x = torch.rand(4000, n_features) * (torch.rand(4000, n_features) >= sparsity)\n"
            "        loss = (torch.tensor(importance) * (x - torch.relu(x @ W @ W.T + b)) ** 2).sum(-1).mean()\n"
            "        optimiser.zero_grad()\n"
            "        loss.backward()\n"
            "        optimiser.step()\n"
            "    return W, b.detach()\n"), config
    return f"random W and b {shape}", head + "    return W, 0.5 * torch.randn(n_features, generator=generator)\n", config


def packing(rng: random.Random) -> Wrong:
    seed = rng.randrange(2**31)
    if rng.random() < 0.5:
        return "random vectors", (
            "import torch\n\ndef pack_vectors(d, epsilon):\n"
            f"    return torch.randn({rng.randint(17, 200)}, d, generator=torch.Generator().manual_seed({seed}))\n"), {}
    # 16 basis vectors and 16 Hadamard rows (|cos| = 1/4 between the two), rotated at random: 32 valid vectors,
    # two thirds of the target; then one of them again, at another scale.
    row, scale = rng.randrange(32), 10.0 ** rng.uniform(-200, 200)
    return "valid packing with a duplicated row", (
        "import torch\n\ndef pack_vectors(d, epsilon):\n"
        "    hadamard = torch.ones(1, 1, dtype=torch.float64)\n"
        "    while len(hadamard) < d:\n"
        "        hadamard = torch.cat([torch.cat([hadamard, hadamard], 1), torch.cat([hadamard, -hadamard], 1)])\n"
        f"    rotation = torch.linalg.qr(torch.randn(d, d, generator=torch.Generator().manual_seed({seed})))[0].double()\n"
        "    packing = torch.cat([torch.eye(d, dtype=torch.float64), hadamard / d**0.5]) @ rotation\n"
        f"    return torch.cat([packing, packing[{row}:{row + 1}] * {scale!r}])\n"), {}


_RESAMPLES = {
    "random tokens": "torch.randint(1, 60, tokens.shape, generator=generator)",
    "unchanged": "tokens",
    "shuffled rows": "tokens[torch.randperm(len(tokens), generator=generator)]",
}


def scrub(rng: random.Random) -> Wrong:
    seed, layer, head = rng.randrange(2**31), rng.randrange(2), rng.randrange(4)
    family, resample = rng.choice(sorted(_RESAMPLES.items()))
    return f"random head, {family}", (
        f"import torch\n\nNODE = ('blocks.{layer}.attn.hook_z', {head})\n"
        f"generator = torch.Generator().manual_seed({seed})\n\n"
        f"def resample(tokens, position):\n    return {resample}\n\n"
        "def control_resample(tokens, position):\n"
        "    return torch.randint(1, 60, tokens.shape, generator=generator)\n"), {}


@functools.cache
def _real_circuits() -> frozenset[frozenset[tuple[int, int]]]:
    """The circuits of the public and the hidden model (their answer keys), which a wrong solution never is."""
    circuits = []
    for name in ("induction-2l", "induction-2l-alt"):
        key = reference_models.answer_key(name)
        circuits.append(frozenset(map(tuple, key["induction_heads"] + key["previous_token_heads"])))
    return frozenset(circuits)


def circuit(rng: random.Random) -> Wrong:
    heads = [(layer, head) for layer in range(2) for head in range(4)]
    while True:
        chosen = frozenset(rng.sample(heads, rng.randint(1, len(heads))))
        if chosen not in _real_circuits():
            return f"{len(chosen)} random heads", (
                f"def find_induction_circuit(model):\n    return {sorted(chosen)!r}\n"), {}


WRONG: dict[str, Callable[[random.Random], Wrong]] = {
    "probe-sentiment": probe,
    "superposition-toy": superposition,
    "orthogonal-packing": packing,
    "scrub-induction": scrub,
    "induction-circuit": circuit,
}


def run(kind: str, n: int) -> dict[str, float]:
    worker = warm_worker()
    rng = random.Random(f"{kind}:{n}")
    started = time.perf_counter()
    passes, errors, verdicts, best = Counter(), 0, Counter(), 0.0
    for _ in range(n):
        family, code, config = WRONG[kind](rng)
        outcome = grade_code(kind, config, code, LIMITS, worker=worker)
        verdicts[str(outcome.verdict)] += 1
        if outcome.verdict == Verdict.ERROR:
            errors += 1
            print(f"  error ({family}): {outcome.feedback}", flush=True)
        if outcome.verdict == Verdict.GRADED and outcome.max_score:
            share = outcome.score / outcome.max_score
            best = max(best, share)
            if share >= 0.5:
                passes[family] += 1
                print(f"  false pass ({family}): score {outcome.score}/{outcome.max_score}\n{code}", flush=True)
    seconds = time.perf_counter() - started
    print(f"kind={kind} n={n} false_pass={sum(passes.values())} errors={errors} best_share={best:.3f} "
          f"verdicts={dict(sorted(verdicts.items()))} by_family={dict(passes)} seconds={seconds:.0f}", flush=True)
    return {f"{kind}_false_pass": sum(passes.values()), f"{kind}_n": n, f"{kind}_seconds": round(seconds)}


def main(kind: str, n: int) -> None:
    figures: dict[str, float] = {}
    for slug in WRONG if kind == "all" else [kind]:
        figures |= run(slug, n)
    print(" ".join(f"{key}={value}" for key, value in figures.items()))


if __name__ == "__main__":
    if len(sys.argv) != 3 or (sys.argv[1] not in WRONG and sys.argv[1] != "all"):
        sys.exit(f"usage: bench/false_pass.py {{{'|'.join([*WRONG, 'all'])}}} N")
    main(sys.argv[1], int(sys.argv[2]))
