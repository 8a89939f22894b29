"""The playground through the real sandbox: code runs with the reference model as `model`; output, errors and
figures come back; nothing is graded."""

from workers.playground import playground_model, run_code
from workers.sandbox import Limits

LIMITS = Limits(wall_seconds=20, cpu_seconds=20, memory_bytes=1024**3)


def test_code_sees_the_reference_model_and_its_output_comes_back():
    code = (
        "tokens = __import__('torch').tensor([[0, 5, 6, 5]])\n"
        "logits, cache = model.run_with_cache(tokens)\n"
        "print(model.cfg.n_layers, tuple(cache['blocks.1.attn.hook_pattern'].shape))\n"
    )
    run = run_code(code, "induction-2l", LIMITS)
    assert (run.status, run.stdout.strip()) == ("ok", "2 (1, 4, 4, 4)")
    assert run.figures == []


def test_open_matplotlib_figures_come_back_as_png():
    code = "import matplotlib.pyplot as plt\nplt.plot([1, 2, 3])\nplt.figure()\nplt.imshow([[0, 1], [1, 0]])\n"
    run = run_code(code, None, LIMITS)
    assert run.status == "ok"
    assert len(run.figures) == 2 and all(f.startswith("data:image/png;base64,iVBOR") for f in run.figures)


def test_an_error_shows_the_learners_line_and_the_output_before_it():
    run = run_code("print('before')\nx = 1\nmodel.no_such_thing\n", "induction-2l", LIMITS)
    assert run.status == "error" and run.line == 3
    assert "AttributeError" in run.message and 'File "solution.py", line 3' in run.message
    assert run.stdout == "before\n"


def test_an_endless_loop_is_stopped_at_the_limit():
    run = run_code("while True:\n    pass\n", None, Limits(wall_seconds=1, cpu_seconds=1))
    assert run.status == "stopped" and "time limit" in run.message


def test_learners_explore_the_public_model_never_the_hidden_one_or_an_answer():
    assert playground_model("induction-circuit") == "induction-2l"
    assert playground_model("scrub-induction") == "induction-2l"
    assert playground_model("superposition-toy") is None  # the trained toy model is the answer
    assert playground_model("orthogonal-packing") is None


def test_code_that_searches_memory_for_a_second_induction_model_finds_none():
    code = (
        "import gc, sys\n"
        "found = list(gc.get_objects())\n"
        "frame = sys._getframe()\n"
        "while frame:  # the sandbox's own frames hold what it preloaded\n"
        "    found += [v for d in frame.f_locals.values() if type(d) is dict for v in d.values()]\n"
        "    frame = frame.f_back\n"
        "print(sum(type(o) is type(model) and o is not model and o.cfg.d_vocab == model.cfg.d_vocab for o in found))\n"
    )
    run = run_code(code, "induction-2l", LIMITS)
    assert (run.status, run.stdout) == ("ok", "0\n")


def test_the_worker_task_keeps_the_run_for_its_author(monkeypatch):
    from workers import playground

    kept = {}
    monkeypatch.setattr(playground, "save_run", lambda run_id, data: kept.update({run_id: data}))
    playground.run_playground.run("r1", 7, "print(model.cfg.n_heads)", "induction-2l", LIMITS.as_dict())
    assert kept["r1"]["learner"] == 7
    assert (kept["r1"]["status"], kept["r1"]["stdout"]) == ("ok", "4\n")


def test_each_learner_explores_the_copy_of_the_model_they_are_graded_on():
    from workers.reference_models import reparameterise

    code = "print(round(float(model.blocks[0].attn.q.weight[0, 0]), 5), round(float(model.W_E.norm()), 3))\n"
    runs = {variant: run_code(code, "induction-2l", LIMITS, variant=variant).stdout.split() for variant in (3, 4)}
    for variant, (first_weight, norm) in runs.items():
        graded_on = reparameterise.variant("induction-2l", variant, "cpu")
        assert float(first_weight) == round(float(graded_on.blocks[0].attn.q.weight[0, 0]), 5)
        assert float(norm) == round(float(graded_on.W_E.norm()), 3)
    assert runs[3][0] != runs[4][0] and runs[3][1] == runs[4][1]  # other weights, the same model
