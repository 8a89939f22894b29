"""Calibration of the circuit exercises: the grading numbers of reference and wrong solutions, side by side.

For scrub-induction (loss recovered, control, share changed, node effect), superposition-toy (share of the
reference's improvement), orthogonal-packing (count) and induction-circuit (necessity, sufficiency,
superfluous heads on the public and hidden model). The learner's functions run in this process (trusted
solutions only), then the kind grades their outputs exactly as the worker would. Reads the stored
checkpoints; CPU, one thread. Last line: key=value figures.

    .venv/bin/python bench/circuit_calibration.py
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

import django  # noqa: E402

django.setup()

import torch  # noqa: E402

from workers import reference_models  # noqa: E402
from workers.exercises.induction_circuit import InductionCircuit  # noqa: E402
from workers.exercises.orthogonal_packing import OrthogonalPacking  # noqa: E402
from workers.exercises.scrub_induction import ScrubInduction  # noqa: E402
from workers.exercises.superposition_toy import SuperpositionToy  # noqa: E402

RANDOM_W = (
    "import torch\n\ndef toy_model(n_features, d_hidden, sparsity, importance):\n"
    "    torch.manual_seed({seed})\n    W = torch.randn(n_features, d_hidden)\n"
    "    return W / W.norm(dim=1, keepdim=True), 0.5 * torch.randn(n_features)\n"
)


def grade(kind, code: str):
    namespace: dict = {}
    exec(code, namespace)
    models = {name: reference_models.load(name, "cpu") for name in kind.reference_models()}
    outputs = kind.run_in_child(namespace, kind.child_inputs(), models)
    return kind.grade(kind.validate_outputs(outputs), models, "cpu")


def scrub() -> dict[str, float]:
    kind, reference = ScrubInduction(), ScrubInduction.reference_solution
    hypothesis = "    return _input_with(tokens, position, tokens[:, previous + 1])\n"
    control = "    return _input_with(tokens, position, other)\n"

    def at(layer: int, head: int) -> str:  # the reference hypothesis on a fixed node instead of the one it measures
        return reference.replace("def choose_node(", "def _unused(") + f'\nNODE = ("blocks.{layer}.attn.hook_z", {head})\n'

    cases = {f"reference L{layer}.H{head}": at(layer, head) for layer in (1, 0) for head in range(4)}
    cases |= {
        "starter code": ScrubInduction.starter_code,
        "identity resample": reference.replace(hypothesis, "    return tokens\n"),
        "random resample": reference.replace(hypothesis, "    return torch.randint(1, 60, tokens.shape)\n"),
        "control = hypothesis": reference.replace(control, "    return resample(tokens, position)\n"),
    }
    print("scrub-induction: case | node effect (nats) | loss recovered | control recovered | changed | score"
          " (recovery is not measured on a node without effect)")
    figures = {}
    for name, code in cases.items():
        g = grade(kind, code)
        m = g.metrics
        recovered = "   n/a  n/a" if m["loss_recovered"] is None else \
            f"{m['loss_recovered']:7.3f} {m['control_loss_recovered']:7.3f}"
        print(f"  {name:22s} {m['ablated_loss'] - m['clean_loss']:7.3f} {recovered} {m['changed']:6.2f} {g.score:5.2f}")
        figures[name] = g.score
    return {"scrub_reference_recovered": grade(kind, reference).metrics["loss_recovered"],
            "scrub_wrong_max_score": max(v for k, v in figures.items() if not k.startswith("reference L1"))}


def superposition() -> dict[str, float]:
    print("superposition-toy: model | solution | ratio | score | features represented")
    worst_reference, best_random = 1.0, 0.0
    for n, d in [(5, 2), (20, 5)]:
        for sparsity in (0.7, 0.9, 0.99):
            kind = SuperpositionToy({"n_features": n, "d_hidden": d, "sparsity": sparsity})
            cases = {"reference": SuperpositionToy.reference_solution, "orthogonal": SuperpositionToy.starter_code}
            cases |= {f"random W {s}": RANDOM_W.format(seed=s) for s in range(3)}
            for name, code in cases.items():
                g = grade(kind, code)
                print(f"  {n}x{d} S={sparsity:<5} {name:12s} {g.metrics['ratio']:7.3f} {g.score:5.2f} "
                      f"{g.metrics['features_represented']}")
                if name == "reference":
                    worst_reference = min(worst_reference, g.metrics["ratio"])
                elif name.startswith("random"):
                    best_random = max(best_random, g.metrics["ratio"])
    return {"toy_reference_min_ratio": worst_reference, "toy_random_max_ratio": best_random}


def packing() -> dict[str, float]:
    kind = OrthogonalPacking()
    cases = {"reference": OrthogonalPacking.reference_solution, "orthonormal basis": OrthogonalPacking.starter_code,
             "greedy random": "import torch\n\ndef pack_vectors(d, epsilon):\n    torch.manual_seed(0)\n"
             "    kept = []\n    for v in torch.nn.functional.normalize(torch.randn(20000, d), dim=1):\n"
             "        if all(abs(float(v @ k)) <= epsilon for k in kept):\n            kept.append(v)\n"
             "    return torch.stack(kept)\n"}
    print("orthogonal-packing (d=16, eps=0.25): solution | count | score")
    counts = {}
    for name, code in cases.items():
        g = grade(kind, code)
        counts[name] = g.metrics["count"]
        print(f"  {name:18s} {g.metrics['count']:4d} {g.score:5.2f}")
    return {"packing_reference": counts["reference"], "packing_greedy_random": counts["greedy random"]}


def circuit() -> dict[str, float]:
    """Knockouts on the stored models themselves (the grader measures the same on any reparameterisation,
    with heads mapped): what each solution's heads keep of the behaviour on the public and the hidden model."""
    kind = InductionCircuit()
    public = reference_models.answer_key("induction-2l")
    cases = {
        "reference (attention scores)": InductionCircuit.reference_solution,
        "public heads hard-coded": "def find_induction_circuit(model):\n    return "
        + repr([tuple(h) for h in public["induction_heads"] + public["previous_token_heads"]]) + "\n",
        "induction heads only": InductionCircuit.reference_solution.replace(
            "(layer == 0 and previous[head] > threshold)", "False"),
        "every head": "def find_induction_circuit(model):\n    return [(l, h) for l in range(2) for h in range(4)]\n",
    }
    print("induction-circuit: solution | public necessity/sufficiency/superfluous | hidden ... (on the stored models)")
    figures = {}
    for name, code in cases.items():
        namespace: dict = {}
        exec(code, namespace)
        row = []
        for model_name in ("induction-2l", "induction-2l-alt"):
            model = reference_models.load(model_name, "cpu")
            knockout = kind._knockout(model, sorted({tuple(h) for h in namespace["find_induction_circuit"](model)}))
            row.append(f"{knockout.necessity:.3f}/{knockout.sufficiency:.3f}/{len(knockout.superfluous)}")
            figures[f"circuit_{name.split()[0]}_{model_name}_sufficiency"] = round(knockout.sufficiency, 3)
        print(f"  {name:30s} {row[0]}  {row[1]}")
    return {"circuit_reference_hidden_sufficiency": figures["circuit_reference_induction-2l-alt_sufficiency"],
            "circuit_hard_coded_hidden_sufficiency": figures["circuit_public_induction-2l-alt_sufficiency"]}


def main() -> None:
    torch.set_num_threads(1)
    started = time.perf_counter()
    figures = scrub() | superposition() | packing() | circuit()
    figures["seconds"] = time.perf_counter() - started
    print(" ".join(f"{key}={value:.3f}" if isinstance(value, float) else f"{key}={value}" for key, value in figures.items()))


if __name__ == "__main__":
    main()
