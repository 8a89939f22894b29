"""The trust boundary, attacked as a determined learner would, through ``grade_code`` and the real sandbox.

Each test is one class of attack from the trust-boundary issue: stealing the hidden model, learning the
hidden circuit from feedback, bending trusted code in a child, outliving the run, forging or flooding.
"""

from __future__ import annotations

import pytest

from tests.grader.submission_fixtures import code_exercise  # noqa: F401 - the fixture
from workers import reference_models
from workers.exercises.induction_circuit import InductionCircuit
from workers.grading import FEEDBACK_KEPT, MESSAGE_KEPT, Verdict, grade_code, hidden_model_seed
from workers.reference_models import reparameterise
from workers.sandbox import Limits

LIMITS = Limits(wall_seconds=30, cpu_seconds=30, memory_bytes=1024**3)
LEAK = "LEAKED"


def induction(code: str, **options):
    return grade_code("induction-circuit", {}, code, LIMITS, **options)


def on_the_hidden_model(statement: str) -> str:
    """The reference solution, except that on a model other than the public one (told apart by the norm of
    its embedding, which reparameterisation keeps) it runs ``statement`` first."""
    public_norm = round(float(reference_models.load("induction-2l", "cpu").W_E.norm()), 3)
    body = "".join(f"        {line}\n" for line in statement.strip("\n").split("\n"))
    return "import os, sys\n" + InductionCircuit.reference_solution.replace(
        "    torch.manual_seed(0)\n",
        f"    torch.manual_seed(0)\n    if round(model.W_E.norm().item(), 3) != {public_norm}:\n{body}",
    )


def hidden_heads_for(seed: int, variant: int) -> list[tuple[int, int]]:
    """The hidden model's circuit as one grading (master seed ``seed``) laid it out: what a leak would give."""
    kind = InductionCircuit()
    hidden_seed = hidden_model_seed(kind, kind.hidden_runs()[0], variant, seed)
    key = reparameterise.reparameterisation("induction-2l-alt", hidden_seed).answer_key(
        reference_models.answer_key("induction-2l-alt"))
    return sorted(tuple(h) for h in key["induction_heads"] + key["previous_token_heads"])


def returning(heads) -> str:
    return f"def find_induction_circuit(model):\n    return {[tuple(h) for h in heads]!r}\n"


def hidden_model_norm() -> float:
    return float(reference_models.load("induction-2l-alt", "cpu").W_E.norm())


def test_the_public_run_holds_no_hidden_weights_in_any_frame_or_object():
    """Stack walking and heap scanning from the public run: no tensor there belongs to the hidden model."""
    hunt = (
        "import gc, sys, torch\n"
        "def find_induction_circuit(model):\n"
        "    norms = set()\n"
        "    frame = sys._getframe()\n"
        "    while frame is not None:\n"
        "        for value in list(frame.f_locals.values()) + list(frame.f_globals.values()):\n"
        "            if isinstance(value, dict):\n"
        "                for item in list(value.values()):\n"
        "                    if isinstance(item, torch.nn.Module) and hasattr(item, 'W_E'):\n"
        "                        norms.add(round(item.W_E.norm().item(), 3))\n"
        "        frame = frame.f_back\n"
        "    for obj in gc.get_objects():\n"
        "        if isinstance(obj, torch.Tensor) and obj.dim() == 2 and obj.shape[1] == 64 and obj.is_floating_point():\n"
        "            norms.add(round(obj.detach().float().norm().item(), 3))\n"
        "        elif isinstance(obj, dict) and 'state' in obj:\n"
        "            norms.add('portable weights')\n"
        "    print('NORMS', sorted(map(str, norms)))\n"
        "    return [(0, 0)]\n"
    )
    outcome = induction(hunt)
    assert "NORMS" in outcome.output, outcome.feedback
    assert f"{hidden_model_norm():.3f}" not in outcome.output
    assert "portable weights" not in outcome.output


@pytest.mark.parametrize(
    "statement",
    [
        # printing, and writing below Python to every descriptor, the saved ones included
        f"print('{LEAK}', model.W_E.sum().item())\nsys.__stdout__.write('{LEAK}')\nsys.__stderr__.write('{LEAK}')",
        "for fd in range(256):\n    try:\n        os.write(fd, b'" + LEAK + "')\n    except OSError:\n        pass",
        # replacing the trusted code of the kind and of the grading child, looked up at call time
        "import workers.exercises.induction_circuit as kind\n"
        f"kind.from_learner = lambda value: {{'$unusable': '{LEAK}' * 100000}}",
        "import workers.exercises._arrays as arrays\n"
        f"arrays.from_learner = lambda value: {{'not_an_array': '{LEAK}' * 100000}}",
        # an exception whose text, or whose class name, carries the weights
        f"raise ValueError('{LEAK}' + str(model.W_E.tolist()))",
        f"raise type('{LEAK}Error', (Exception,), {{}})()",
    ],
)
def test_nothing_learner_code_does_on_the_hidden_model_reaches_the_learner(statement):
    outcome = induction(on_the_hidden_model(statement))
    assert outcome.verdict in (Verdict.GRADED, Verdict.FAILED)
    for text in (outcome.feedback, outcome.output, str(outcome.checks), str(outcome.metrics)):
        assert LEAK not in text
    assert len(outcome.feedback) < 2000


@pytest.mark.parametrize(
    "returned",
    [
        "[(10 ** 4000, 0)]",  # a layer of thousands of digits, after enlarging the model's own config
        "[(1e308, 0)]",
        "[(float('nan'), 1)]",
        "[(0.6, 2.9)]",  # fractional heads are not heads, never truncated into real ones
        "[(-1, 0)]",
        "'L1.H2'",
        "[[[[[[0]]]]]] * 600",
    ],
)
def test_an_unusable_answer_on_the_hidden_model_fails_and_is_not_echoed(returned):
    statement = f"model.cfg.n_layers = 10 ** 5000\nmodel.cfg.n_heads = 10 ** 5000\nreturn {returned}"
    outcome = induction(on_the_hidden_model(statement))
    assert outcome.verdict == Verdict.FAILED
    assert "hidden model" in outcome.feedback
    for fragment in ("0000", "1e+308", "nan", "0.6", "2.9", "L1.H2"):
        assert fragment not in outcome.feedback


def test_fractional_heads_are_refused_on_the_public_model_too():
    outcome = induction(returning([(0.6, 2.9)]))
    assert outcome.verdict == Verdict.FAILED
    assert "expected whole numbers, got 0.6" in outcome.feedback


def test_feedback_on_the_hidden_model_is_pass_or_fail_only():
    outcome = induction(InductionCircuit.reference_solution)
    assert (outcome.verdict, outcome.score) == (Verdict.GRADED, 1.0)
    hidden_checks = {name: check for name, check in outcome.checks.items() if name.startswith("hidden")}
    assert hidden_checks and all(check["value"] == "not shown" for check in hidden_checks.values())
    assert outcome.metrics["hidden"] == {"passed": True}
    assert "L" not in outcome.feedback.split("**Hidden model**")[1].split("(")[0]


def test_heads_leaked_from_one_grading_fail_the_next():
    """Every grading reparameterises the hidden model afresh: its circuit, learnt somehow, is stale next time."""
    leaked = hidden_heads_for(seed=1, variant=5)
    same_grading = induction(returning(leaked), seed=1, variant=5)
    next_grading = induction(returning(leaked), seed=2, variant=5)
    assert same_grading.checks["hidden model: sufficiency"]["passed"]  # the leak was real for that grading
    assert not next_grading.checks["hidden model: sufficiency"]["passed"]


def test_heads_copied_from_another_learner_fail_while_measuring_passes():
    """Each learner's public model is their own reparameterisation."""
    def public_heads(variant: int) -> list[tuple[int, int]]:
        key = reparameterise.reparameterisation("induction-2l", variant).answer_key(
            reference_models.answer_key("induction-2l"))
        return sorted(tuple(h) for h in key["induction_heads"] + key["previous_token_heads"])

    ada, grace = 101, 202
    assert public_heads(ada) != public_heads(grace)
    assert induction(returning(public_heads(ada)), variant=ada).checks["reference model: sufficiency"]["passed"]
    assert not induction(returning(public_heads(ada)), variant=grace).checks["reference model: sufficiency"]["passed"]
    for variant in (ada, grace):
        assert induction(InductionCircuit.reference_solution, variant=variant).score == 1.0


def test_nothing_in_a_child_can_rebuild_an_answer():
    """Recipes, training code and answer modules are neither loaded in a child nor importable there."""
    probe = (
        "import sys, importlib\n"
        "def find_induction_circuit(model):\n"
        "    loaded = sorted(m for m in sys.modules if 'registry' in m and 'reference_models' in m\n"
        "                    or m.endswith(('reference_models.training', 'reference_models.recipes')))\n"
        "    importable = []\n"
        "    for name in ('workers.reference_models.registry', 'workers.reference_models.training',\n"
        "                 'workers.reference_models.recipes'):\n"
        "        try:\n"
        "            importlib.import_module(name)\n"
        "            importable.append(name)\n"
        "        except Exception:\n"
        "            pass\n"
        "    print('LOADED', loaded, 'IMPORTABLE', importable)\n"
        "    return [(0, 0)]\n"
    )
    outcome = induction(probe)
    assert "LOADED [] IMPORTABLE []" in outcome.output


def test_no_child_holds_django_celery_or_settings():
    """The warm parent imports only the sandbox, the kinds and the models, whatever ran before."""
    from workers.playground import run_code

    probe = "import sys\nprint('FRAMEWORKS', sorted({m.split('.')[0] for m in sys.modules} & {'django', 'celery', 'config', 'grader'}))\n"
    assert "FRAMEWORKS []" in run_code(probe, "induction-2l", LIMITS).stdout
    graded = induction("import sys\n" + probe.replace("import sys\n", "") + InductionCircuit.reference_solution)
    assert "FRAMEWORKS []" in graded.output


RANDOM = "import torch\n\ndef solve(x):\n    print(torch.randn(3).tolist())\n    return x\n"
ONE_CASE = {"function": "solve", "cases": [{"args": [1], "expected": 1}], "reference_solution": "def solve(x):\n    return x\n"}


def test_every_grading_has_fresh_randomness_and_its_seed_reproduces_it():
    first, second = (grade_code("function-tests", ONE_CASE, RANDOM, LIMITS) for _ in range(2))
    assert first.seed != second.seed
    assert first.output != second.output
    again = grade_code("function-tests", ONE_CASE, RANDOM, LIMITS, seed=first.seed)
    assert again.output == first.output


def test_learner_text_in_feedback_is_bounded_and_the_learner_told():
    flood = "def solve(x):\n    raise ValueError('x' * (15 * 1024 * 1024))\n"
    outcome = grade_code("function-tests", ONE_CASE, flood, LIMITS)
    assert len(outcome.feedback) <= FEEDBACK_KEPT + 200
    forged = (
        "import os, json, struct\n"
        "def solve(x):\n"
        "    header = json.dumps({'status': 'exception', 'message': 'M' * (15 * 1024 * 1024), 'outputs': None}).encode()\n"
        "    os.write(3, b'MGS1' + struct.pack('<I', len(header)) + header)\n"
        "    os._exit(0)\n"
    )
    outcome = grade_code("function-tests", ONE_CASE, forged, Limits(wall_seconds=10, max_result_bytes=32 * 1024**2))
    assert outcome.verdict == Verdict.FAILED
    assert len(outcome.feedback) <= MESSAGE_KEPT + 200
    assert "truncated" in outcome.feedback


def test_exiting_with_the_sandboxs_own_status_is_the_learners_fault():
    outcome = grade_code("function-tests", ONE_CASE, "import os\n\ndef solve(x):\n    os._exit(121)\n", LIMITS)
    assert outcome.verdict == Verdict.FAILED
    assert "exit code 121" in outcome.feedback


def test_grade_file_reproduces_a_learners_grading_from_its_seed(code_exercise, learner, tmp_path, capsys):
    import json

    from django.core.management import call_command

    from grader.submissions.selectors import model_variant
    from workers.grading import grade_exercise

    code = "import torch\n\ndef add(a, b):\n    print(torch.randn(2).tolist())\n    return a + b\n"
    graded = grade_exercise(code_exercise, code, variant=model_variant(learner.pk))
    solution = tmp_path / "solution.py"
    solution.write_text(code)
    call_command("grade_file", "add", str(solution), "--learner", learner.username, "--seed", str(graded.seed))
    again = json.loads(capsys.readouterr().out)
    assert (again["seed"], again["output"], again["score"]) == (graded.seed, graded.output, graded.score)


def test_time_spent_on_the_hidden_model_is_not_a_channel_to_the_learner():
    """Learner code could sleep for a number of milliseconds computed from the hidden weights."""
    outcome = induction(on_the_hidden_model("import time\ntime.sleep(1.5)"))
    assert outcome.verdict == Verdict.GRADED
    assert outcome.resources["wall_ms"] < 1000
