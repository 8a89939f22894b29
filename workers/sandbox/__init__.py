"""Runs untrusted learner code: a warm zygote per worker forks one confined, limited child per submission.

    from workers.sandbox import Limits, Sandbox

    sandbox = Sandbox(preload=load_reference_models)          # once per worker process
    result = sandbox.run(code, Kind.run_in_child, inputs, Limits(wall_seconds=10))
    if result.ok:
        expect_array(result.outputs, "direction", shape=(64,))  # then grade in trusted code

See README "Worker host isolation" for what a worker host must provide.
"""

from workers.sandbox.isolation import SandboxUnavailable
from workers.sandbox.limits import Limits, SandboxResult
from workers.sandbox.sandbox import Sandbox, SandboxError
from workers.sandbox.validation import expect_array, expect_number, require_function

__all__ = [
    "Limits",
    "Sandbox",
    "SandboxError",
    "SandboxResult",
    "SandboxUnavailable",
    "expect_array",
    "expect_number",
    "require_function",
]
