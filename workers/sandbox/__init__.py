"""Runs untrusted learner code: a warm zygote per worker forks one confined, limited child per submission.

    from workers.sandbox import Limits, Sandbox

    sandbox = Sandbox(preload=load_reference_models)          # once per worker process
    result = sandbox.run(code, Kind.run_in_child, inputs, Limits(wall_seconds=10))
    if result.ok:
        kind.validate_outputs(result.outputs)  # untrusted data: validated once, by the kind's contract

See README "Worker host isolation" for what a worker host must provide.
"""

from workers.sandbox.isolation import SandboxUnavailable
from workers.sandbox.limits import Limits, SandboxResult
from workers.sandbox.sandbox import Sandbox, SandboxError

__all__ = ["Limits", "Sandbox", "SandboxError", "SandboxResult", "SandboxUnavailable"]
