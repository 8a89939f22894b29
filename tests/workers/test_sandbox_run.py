"""The sandbox runs a learner's module in a warm child and reports what happened in words a learner understands."""

from __future__ import annotations

import atexit
import functools
import os
import signal
import threading
import time

import numpy as np
import pytest
import torch

from workers.sandbox import Limits, Sandbox, SandboxError


def tiny_models() -> dict:
    """A two-layer TransformerBridge built from a config in milliseconds (no checkpoint, no network)."""
    from transformer_lens.config import TransformerBridgeConfig
    from transformer_lens.model_bridge import TransformerBridge

    config = TransformerBridgeConfig(
        d_model=16, d_head=4, n_layers=2, n_ctx=8, n_heads=4, d_vocab=20, d_mlp=32, act_fn="relu", seed=0
    )
    return {"model": TransformerBridge.boot_native(config), "weights": torch.ones(4, 4)}


def call_main(learner: dict, inputs: dict, models: dict) -> dict:
    """Trusted entry: calls the learner's ``main(inputs, models)``."""
    return {"value": learner["main"](inputs, models)}


def attention_pattern(learner: dict, inputs: dict, models: dict) -> dict:
    """Trusted entry in the style of an exercise kind: the learner hooks the model, the child returns arrays."""
    tokens = torch.tensor([inputs["tokens"]])
    pattern = learner["head_pattern"](models["model"], tokens, inputs["layer"], inputs["head"])
    return {"pattern": pattern}


def eventually(condition, seconds: float = 5.0) -> bool:
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.02)
    return True


@functools.cache
def warm_sandbox() -> Sandbox:
    """One warm sandbox for every sandbox test module (starting one takes seconds), closed at exit."""
    sandbox = Sandbox(preload=tiny_models)
    atexit.register(sandbox.close)
    return sandbox


@pytest.fixture
def sandbox() -> Sandbox:
    return warm_sandbox()


def test_a_hooked_forward_pass_on_the_preloaded_model_returns_arrays(sandbox):
    code = (
        "def head_pattern(model, tokens, layer, head):\n"
        "    _, cache = model.run_with_cache(tokens)\n"
        "    return cache[f'blocks.{layer}.attn.hook_pattern'][0, head]\n"
    )
    result = sandbox.run(code, attention_pattern, {"tokens": [1, 2, 3, 4], "layer": 1, "head": 2}, Limits())

    assert result.status == "ok", result.message
    pattern = result.outputs["pattern"]
    assert isinstance(pattern, np.ndarray) and pattern.shape == (4, 4)
    np.testing.assert_allclose(pattern.sum(axis=-1), 1.0, rtol=1e-5)
    assert np.triu(pattern, k=1).max() == 0.0  # causal


def test_json_values_and_arrays_come_back_as_plain_data(sandbox):
    code = (
        "import numpy as np\n"
        "def main(inputs, models):\n"
        "    return {'n': 3, 'xs': [1.5, None, 'a'], 'a': np.arange(6).reshape(2, 3)}\n"
    )
    result = sandbox.run(code, call_main, {"unused": np.zeros(2)}, Limits())

    assert result.status == "ok", result.message
    value = result.outputs["value"]
    assert value["n"] == 3 and value["xs"] == [1.5, None, "a"]
    np.testing.assert_array_equal(value["a"], np.arange(6).reshape(2, 3))


def test_printed_output_is_captured_and_never_parsed(sandbox):
    code = "import sys\nprint('hello')\nsys.stderr.write('careful\\n')\ndef main(inputs, models):\n    return 1\n"
    result = sandbox.run(code, call_main, {}, Limits())

    assert (result.status, result.stdout, result.stderr) == ("ok", "hello\n", "careful\n")


def test_syntax_error_names_the_line_and_points_at_it(sandbox):
    result = sandbox.run("x = 1\n\ndef main(inputs, models)\n    return x\n", call_main, {}, Limits())

    assert result.status == "syntax_error"
    assert result.line == 3
    assert result.message.startswith("SyntaxError on line 3: expected ':'")
    assert "def main(inputs, models)\n" in result.message


def test_exception_traceback_shows_only_the_learners_frames_with_their_line_numbers(sandbox):
    code = (
        "import torch\n"
        "\n"
        "def helper(x):\n"
        "    return torch.zeros(3) @ torch.zeros(4)\n"
        "\n"
        "def main(inputs, models):\n"
        "    return helper(1)\n"
    )
    result = sandbox.run(code, call_main, {}, Limits())

    assert result.status == "exception"
    assert result.line == 4
    assert 'File "solution.py", line 7, in main' in result.message
    assert 'File "solution.py", line 4, in helper' in result.message
    assert "RuntimeError" in result.message
    assert "workers/sandbox" not in result.message and "site-packages" not in result.message


def test_a_missing_function_is_an_exception_without_sandbox_frames(sandbox):
    result = sandbox.run("def mian(inputs, models):\n    return 1\n", call_main, {}, Limits())

    assert result.status == "exception"
    assert result.message == "KeyError: 'main'"


def test_unsupported_values_are_an_invalid_result_naming_where_they_are(sandbox):
    result = sandbox.run("def main(inputs, models):\n    return {'f': open}\n", call_main, {}, Limits())

    assert result.status == "invalid_result"
    assert result.message.startswith("outputs['value']['f'] is a builtin_function_or_method;")


def test_importing_a_module_that_is_not_preloaded_lists_the_ones_that_are(sandbox):
    result = sandbox.run("import sqlite3\n", call_main, {}, Limits())

    assert result.status == "exception"
    assert "No module named" in result.message or "Permission denied" in result.message
    assert "Modules you can import here:" in result.message and "torch" in result.message


def test_resources_and_timings_are_reported(sandbox):
    result = sandbox.run("def main(inputs, models):\n    return sum(range(10**5))\n", call_main, {}, Limits())

    assert result.status == "ok"
    assert result.resources["wall_ms"] >= 0 and result.resources["cpu_ms"] >= 0
    assert result.resources["max_rss_kb"] > 10_000
    assert result.timings["start_ms"] > 0 and result.timings["collect_ms"] >= 0


RANDOM = (
    "import random, numpy, torch\n"
    "def main(inputs, models):\n"
    "    return [torch.randn(3), numpy.random.rand(3), random.random()]\n"
)


def test_runs_without_a_seed_get_fresh_randomness_and_record_their_seed(sandbox):
    first, second = (sandbox.run(RANDOM, call_main, {}, Limits()) for _ in range(2))

    assert first.status == second.status == "ok"
    assert first.seed != second.seed and 0 <= first.seed < 2**63
    for a, b in zip(first.outputs["value"], second.outputs["value"]):
        assert not np.array_equal(a, b)


def test_the_same_seed_gives_the_same_numbers(sandbox):
    first, second = (sandbox.run(RANDOM, call_main, {}, Limits(), seed=2**62 + 12345) for _ in range(2))

    assert first.seed == second.seed == 2**62 + 12345
    for a, b in zip(first.outputs["value"], second.outputs["value"]):
        np.testing.assert_array_equal(a, b)


def test_a_seed_must_be_a_non_negative_63_bit_int(sandbox):
    with pytest.raises(ValueError, match="seed must be an int"):
        sandbox.run("", call_main, {}, Limits(), seed=-1)


def test_each_run_gets_a_fresh_empty_folder_that_is_removed_afterwards(sandbox):
    code = (
        "import os\n"
        "open('notes.txt', 'w').write('x')\n"
        "def main(inputs, models):\n"
        "    return [os.getcwd(), os.listdir('.')]\n"
    )
    first = sandbox.run(code, call_main, {}, Limits())
    second = sandbox.run(code, call_main, {}, Limits())

    assert first.outputs["value"][1] == ["notes.txt"] and second.outputs["value"][1] == ["notes.txt"]
    assert first.outputs["value"][0] != second.outputs["value"][0]
    assert eventually(lambda: not os.path.exists(first.outputs["value"][0]))  # the zygote cleans up in the background


def test_an_entry_the_zygote_cannot_import_is_refused_up_front(sandbox):
    with pytest.raises(TypeError, match="module-level function"):
        sandbox.run("", lambda learner, inputs, models: {}, {}, Limits())


class SoftTimeLimit(Exception):
    """Stands in for Celery's SoftTimeLimitExceeded, raised in the worker by a signal in the middle of a run."""


def test_a_run_interrupted_in_the_worker_leaves_the_sandbox_usable(sandbox):
    def interrupt(signum, frame):
        raise SoftTimeLimit

    previous = signal.signal(signal.SIGALRM, interrupt)
    try:
        signal.setitimer(signal.ITIMER_REAL, 0.3)
        with pytest.raises(SoftTimeLimit):
            sandbox.run("import time\ntime.sleep(3)\n", call_main, {}, Limits())
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)

    results = [sandbox.run(f"def main(inputs, models):\n    return {n}\n", call_main, {}, Limits()) for n in range(3)]

    assert [(r.status, r.outputs) for r in results] == [("ok", {"value": n}) for n in range(3)]


def test_a_zygote_that_dies_during_a_run_is_our_error_and_is_replaced_for_the_next_run(sandbox):
    dead = sandbox.pid
    killer = threading.Timer(0.5, os.kill, (dead, signal.SIGKILL))
    killer.start()
    with pytest.raises(SandboxError, match="zygote died during the run"):
        sandbox.run("import time\ntime.sleep(5)\n", call_main, {}, Limits())
    killer.join()

    result = sandbox.run("def main(inputs, models):\n    return 7\n", call_main, {}, Limits())

    assert (result.status, result.outputs) == ("ok", {"value": 7})
    assert sandbox.pid != dead
