"""Per-submission overhead of the sandbox, warm against cold, and the memory the warm state costs.

    .venv/bin/python bench/sandbox_overhead.py [--runs 200] [--cold-runs 10] [--pause-ms 50] [--device cpu|cuda]

Warm: one ``Sandbox`` (zygote with torch, TransformerLens and a small reference model loaded) runs a
trivial exercise ``--runs`` times back to back, then ``--runs`` times paced ``--pause-ms`` apart (as a
worker is, writing the grade and taking the next task). The overhead per submission is the time from
``run()`` being called until the learner's code starts, plus the time from the learner's function
returning until ``run()`` returns the verdict (the exercise's own compute is excluded; the child's kill and
teardown are included, since the verdict waits for the kernel's account of the child). Cold: a fresh
Python process that imports torch and TransformerLens, builds the same model and runs the same code,
timed from spawn to result.
``--device cuda`` checks the GPU path (pre-started children that own their CUDA context).
Ends with one line of key=value pairs.
"""

from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(1, str(ROOT))

LEARNER_CODE = "def predict(model, tokens):\n    return model(tokens)[0, -1].argmax().item()\n"
MODEL_CONFIG = dict(
    d_model=64, d_head=16, n_layers=2, n_ctx=32, n_heads=4, d_vocab=100, d_mlp=256, act_fn="relu", seed=0
)

COLD_SCRIPT = f"""
import torch
from transformer_lens.config import TransformerBridgeConfig
from transformer_lens.model_bridge import TransformerBridge
model = TransformerBridge.boot_native(TransformerBridgeConfig(**{MODEL_CONFIG!r})).to(DEVICE)
namespace = {{}}
exec(compile({LEARNER_CODE!r}, "solution.py", "exec"), namespace)
print(namespace["predict"](model, torch.tensor([[1, 2, 3, 4]], device=DEVICE)))
"""


def reference_model() -> dict:
    """The preload: the same small TransformerBridge the cold process builds."""
    from transformer_lens.config import TransformerBridgeConfig
    from transformer_lens.model_bridge import TransformerBridge

    return {"model": TransformerBridge.boot_native(TransformerBridgeConfig(**MODEL_CONFIG))}


def predict_entry(learner: dict, inputs: dict, models: dict) -> dict:
    import torch

    model = models["model"]
    tokens = torch.tensor([inputs["tokens"]], device=next(model.parameters()).device)
    return {"prediction": learner["predict"](model, tokens)}


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q / 100 * (len(ordered) - 1)))]


def peak_rss_kb(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    return 0


def measure(sandbox, runs: int, pause_s: float) -> dict[str, list[float]]:
    """``runs`` runs of the trivial exercise (after five uncounted), ``pause_s`` apart."""
    from workers.sandbox import Limits

    figures: dict[str, list[float]] = {"overhead": [], "start": [], "finish": [], "call": []}
    for n in range(runs + 5):
        called = time.perf_counter()
        result = sandbox.run(LEARNER_CODE, predict_entry, {"tokens": [1, 2, 3, 4]}, Limits())
        elapsed_ms = (time.perf_counter() - called) * 1000
        assert result.status == "ok", (result.status, result.message, result.stderr)
        if n >= 5:
            figures["start"].append(result.timings["start_ms"])
            figures["finish"].append(result.timings["finish_ms"])
            figures["overhead"].append(result.timings["start_ms"] + result.timings["finish_ms"])
            figures["call"].append(elapsed_ms)
        time.sleep(pause_s)
    return figures


def describe(name: str, values: list[float]) -> str:
    return f"{name}: p50 {percentile(values, 50):.1f} ms, p95 {percentile(values, 95):.1f} ms"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=200)
    parser.add_argument("--cold-runs", type=int, default=10)
    parser.add_argument("--pause-ms", type=float, default=50.0, help="between paced runs (grade write, next task)")
    parser.add_argument("--device", choices=["cpu", "cuda"], default="cpu")
    args = parser.parse_args()

    from workers.sandbox import Sandbox

    started = time.perf_counter()
    sandbox = Sandbox(preload=reference_model, device=args.device)
    warm_start_s = time.perf_counter() - started
    try:
        back_to_back = measure(sandbox, args.runs, 0.0)
        paced = measure(sandbox, args.runs, args.pause_ms / 1000)
        zygote_peak_kb = peak_rss_kb(sandbox.pid)
    finally:
        sandbox.close()
    worker_peak_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss

    colds = []
    for _ in range(args.cold_runs):
        called = time.perf_counter()
        script = f"DEVICE = {args.device!r}\n" + COLD_SCRIPT
        subprocess.run([sys.executable, "-c", script], check=True, capture_output=True)
        colds.append((time.perf_counter() - called) * 1000)

    warm_p50, warm_p95 = percentile(back_to_back["overhead"], 50), percentile(back_to_back["overhead"], 95)
    paced_p50 = percentile(paced["overhead"], 50)
    cold_p50, cold_p95 = percentile(colds, 50), percentile(colds, 95)
    print(f"device: {args.device}; warm runs: {args.runs} back to back, {args.runs} paced {args.pause_ms:g} ms apart;"
          f" cold runs: {args.cold_runs}; load average before cold runs: {os.getloadavg()[0]:.1f}")
    print(f"zygote start (imports, model, isolation probe): {warm_start_s:.1f} s")
    for label, figures in (("back to back", back_to_back), (f"paced {args.pause_ms:g} ms apart", paced)):
        print(f"warm, {label}:")
        print("  " + describe("overhead (run() -> learner starts, learner returns -> verdict)", figures["overhead"]))
        print("  " + describe("  run() -> learner starts", figures["start"]))
        print("  " + describe("  learner returns -> verdict", figures["finish"]))
        print("  " + describe("whole run() call, forward pass included", figures["call"]))
    print(f"cold process (spawn, imports, model, run): p50 {cold_p50:.0f} ms, p95 {cold_p95:.0f} ms")
    print(f"peak memory: zygote {zygote_peak_kb / 1024:.0f} MiB, worker {worker_peak_kb / 1024:.0f} MiB")
    print(
        f"device={args.device} runs={args.runs} warm_p50_ms={warm_p50:.1f} warm_p95_ms={warm_p95:.1f} "
        f"paced_p50_ms={paced_p50:.1f} cold_runs={args.cold_runs} cold_p50_ms={cold_p50:.0f} "
        f"cold_p95_ms={cold_p95:.0f} ratio={cold_p50 / warm_p50:.0f} "
        f"zygote_peak_mib={zygote_peak_kb / 1024:.0f} worker_peak_mib={worker_peak_kb / 1024:.0f}"
    )


if __name__ == "__main__":
    main()
