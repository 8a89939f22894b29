"""Almost-orthogonal packing: as many directions in R^d as possible with every pairwise |cos| ≤ ε.

This is the geometry that makes superposition possible: in d dimensions only d vectors can be exactly
orthogonal, but far more can be *almost* orthogonal. The parent normalises what the learner returns,
checks every pair, and scores the count against ``target``: the count the kind's reference solution
(gradient descent on 3d vectors against an ε-hinge, then drop the worst offenders) reaches for the default
d = 16, ε = 0.25, which is 48. An orthonormal basis gives d = 16 (a third of the target); greedily
keeping random vectors gives 15–21.

Cosine is scale-free, and so is the grading: each row is first divided by its largest |entry| (exact
in float64, and it leaves every entry in [-1, 1]), so rows of norm 4e-14 or 1e200 are measured like unit
rows, no norm overflows or underflows, and only rows that are exactly zero are refused. A direction
repeated (at any scale) is a pair with |cos| = 1, a violation like any other.

No "close to a threshold" note (workers/exercises/_feedback.py) here: the count earns marks in proportion
(m / target), so a count near the target has no pass mark to land either side of, and a good packing's
largest |cos| sits at ε by construction (the optimiser pushes every pair up to it), so a note on it would
only repeat that every good answer is tight.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pydantic

from workers.exercises import contract
from workers.exercises._arrays import from_learner, require_function
from workers.exercises._figures import new_figure, to_data_uri
from workers.exercises.base import Check, ExerciseKind, Grade, InvalidOutput

MAX_VECTORS = 4000  # pairwise cosines of more would cost the parent more than a grade is worth
_TOLERANCE = 1e-6  # float32 rounding on |cos|


class OrthogonalPacking(ExerciseKind):
    slug = "orthogonal-packing"
    title = "Almost-orthogonal packing (many directions, small pairwise cosines)"
    learner_interface = (
        "Define `pack_vectors(d: int, epsilon: float)` returning a tensor (or NumPy array) of shape `[m, d]`: "
        "`m` vectors in $\\mathbb{R}^d$ whose pairwise cosine similarities all satisfy "
        "$|\\cos(v_i, v_j)| \\le \\varepsilon$. Rows need not be unit length (the grader normalises them), "
        "but none may be zero. The more rows, the better: the score is `m / target`, and a single pair above "
        f"ε makes the answer invalid. At most {MAX_VECTORS} rows."
    )
    starter_code = (
        "import torch\n\n\n"
        "def pack_vectors(d, epsilon):\n"
        "    # An orthonormal basis is valid but only reaches m = d. Can you fit more?\n"
        "    return torch.eye(d)\n"
    )
    reference_solution = (
        "import torch\n\n\n"
        "def pack_vectors(d, epsilon):\n"
        "    torch.manual_seed(0)\n"
        "    m = 3 * d\n"
        "    V = torch.randn(m, d, requires_grad=True)\n"
        "    for _ in range(1000):\n"
        "        U = V / V.norm(dim=1, keepdim=True)\n"
        "        cos = (U @ U.T - torch.eye(m)).abs()\n"
        "        loss = torch.relu(cos - 0.95 * epsilon).pow(2).sum()\n"
        "        loss.backward()\n"
        "        with torch.no_grad():  # plain gradient descent\n"
        "            V -= 0.5 * V.grad\n"
        "            V.grad = None\n"
        "    U = (V / V.norm(dim=1, keepdim=True)).detach()\n"
        "    keep = list(range(m))\n"
        "    while True:  # drop the vector with the most violations until none is left\n"
        "        cos = (U[keep] @ U[keep].T - torch.eye(len(keep))).abs()\n"
        "        violations = (cos > epsilon).sum(dim=1)\n"
        "        if violations.max() == 0:\n"
        "            return U[keep]\n"
        "        keep.pop(int(violations.argmax()))\n"
    )

    class Config(ExerciseKind.Config):
        d: int = pydantic.Field(16, ge=2, le=256, description="Dimension of the space.")
        epsilon: float = pydantic.Field(0.25, gt=0, lt=1, description="Largest allowed |cos| between two vectors.")
        target: int = pydantic.Field(48, ge=2, description="Vector count for full marks (the reference solution's).")

    def child_inputs(self) -> dict[str, Any]:
        return {"d": self.config.d, "epsilon": self.config.epsilon}

    @staticmethod
    def run_in_child(learner: dict[str, Any], inputs: dict[str, Any], models: dict[str, Any]) -> dict[str, Any]:
        pack = require_function(learner, "pack_vectors", "d, epsilon")
        return {"vectors": from_learner(pack(inputs["d"], inputs["epsilon"]))}

    def outputs(self) -> contract.Record:
        # Any finite magnitude: the geometry below is scale-free and safe for every float64.
        return contract.Record({"vectors": contract.Array(shape=((1, MAX_VECTORS), self.config.d), max_abs=None)})

    def grade(self, outputs: dict[str, Any], models: dict[str, Any], device: str) -> Grade:
        d, epsilon, target = self.config.d, self.config.epsilon, self.config.target
        vectors = outputs["vectors"]
        count = len(vectors)
        unit = _unit_rows(vectors)
        upper = np.triu_indices(count, k=1)
        cosines = (unit @ unit.T)[upper]
        worst = int(np.argmax(np.abs(cosines))) if len(cosines) else None
        largest = float(abs(cosines[worst])) if worst is not None else 0.0
        violations = int((np.abs(cosines) > epsilon + _TOLERANCE).sum())
        valid = violations == 0
        checks = [
            Check("all pairs within epsilon", valid, round(largest, 4), epsilon,
                  "every pairwise |cos| is at most ε" if valid else self._violation(upper, worst, largest, violations)),
            Check("count", valid and count >= target, count, target,
                  f"{count} vectors in R^{d}; full marks from {target}"),
        ]
        score = min(count / target, 1.0) if valid else 0.0
        feedback = (
            f"You packed **{count}** vectors in $\\mathbb{{R}}^{{{d}}}$; the largest pairwise $|\\cos|$ is "
            f"{largest:.4f} (allowed: {epsilon}). "
            + (f"Full marks from {target} vectors." if valid else checks[0].explanation)
        )
        if valid and count < target:
            feedback += (
                f" {count} of {target}: almost-orthogonal directions are far more numerous than orthogonal ones; "
                "try optimising many vectors at once against a penalty on |cos| above ε."
            )
        return Grade(
            score=score,
            max_score=1.0,
            checks=checks,
            feedback=feedback,
            metrics={"count": count, "target": target, "max_abs_cos": round(largest, 4), "violations": violations},
            figures={"pairwise cosines": _cosine_histogram(cosines, epsilon)} if len(cosines) else {},
        )

    @staticmethod
    def _violation(upper: tuple[np.ndarray, np.ndarray], worst: int, largest: float, violations: int) -> str:
        i, j = int(upper[0][worst]), int(upper[1][worst])
        return (
            f"{violations} pair(s) exceed ε; the worst is rows {i} and {j} with |cos| = {largest:.4f}. "
            "An answer with any pair above ε scores 0: drop or move those vectors."
        )


def _unit_rows(vectors: np.ndarray) -> np.ndarray:
    """Each row as a unit vector, computed without overflow or underflow for any finite float64 row:
    divided by its largest |entry| first, its norm lies in [1, sqrt(d)]."""
    largest = np.abs(vectors).max(axis=1)
    zero = largest == 0
    if zero.any():
        raise InvalidOutput(f"vectors: row {int(np.argmax(zero))} is zero; a zero vector has no direction "
                            f"({int(zero.sum())} of {len(vectors)} rows are zero)")
    scaled = vectors / largest[:, None]
    return scaled / np.linalg.norm(scaled, axis=1, keepdims=True)


def _cosine_histogram(cosines: np.ndarray, epsilon: float) -> str:
    figure, axes = new_figure()
    axes.hist(cosines, bins=60, range=(-1, 1), color="#4a6fa5")
    for edge in (-epsilon, epsilon):
        axes.axvline(edge, color="#c0392b", linestyle="--", linewidth=1)
    axes.set_xlabel("cos(v_i, v_j)")
    axes.set_ylabel("pairs")
    axes.set_title("Pairwise cosines (dashed: ±ε)")
    return to_data_uri(figure)
