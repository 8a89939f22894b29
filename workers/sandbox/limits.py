"""What a learner's run may use, and what the sandbox concluded about it."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Literal

Status = Literal[
    "ok", "syntax_error", "exception", "invalid_result", "time_limit", "memory_limit", "output_limit", "killed"
]


@dataclass(frozen=True)
class Limits:
    """Per-run limits, enforced by the kernel (setrlimit) and by the parent (wall time, output, result size).

    ``memory_bytes`` is what the learner's code may allocate on top of the warm state (the imported
    libraries and preloaded models), so the same limit means the same thing whatever was preloaded.
    ``max_processes`` counts the child itself: 1 forbids both new processes and threads.
    ``max_folder_bytes`` and ``max_folder_files`` cap the run folder as a whole (a tmpfs of that size and
    inode count); ``max_file_bytes`` caps each file.
    """

    wall_seconds: float = 10.0
    cpu_seconds: float = 10.0
    memory_bytes: int = 2 * 1024**3
    max_output_bytes: int = 64 * 1024
    max_result_bytes: int = 16 * 1024**2
    max_open_files: int = 64
    max_file_bytes: int = 16 * 1024**2
    max_processes: int = 1
    max_folder_bytes: int = 64 * 1024**2
    max_folder_files: int = 2000

    def __post_init__(self) -> None:
        for name, value in asdict(self).items():
            if value <= 0:
                raise ValueError(f"Limits.{name} must be positive, got {value!r}")

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class SandboxResult:
    """The outcome of one run. ``message`` is written for the learner; ``outputs`` is untrusted data to validate.

    ``resources`` come from the kernel (wait4), never from the child; ``seed`` seeded the child's
    ``random``, NumPy and torch generators, so a grading can be reproduced.
    """

    status: Status
    outputs: dict[str, Any] | None = None
    stdout: str = ""
    stderr: str = ""
    message: str = ""
    line: int | None = None
    resources: dict[str, int] = field(default_factory=dict)  # wall_ms, cpu_ms, max_rss_kb
    timings: dict[str, float | None] = field(default_factory=dict)  # start_ms, collect_ms, finish_ms
    seed: int | None = None

    @property
    def ok(self) -> bool:
        return self.status == "ok"


def human_bytes(n: int) -> str:
    """2147483648 -> "2 GiB", the way limits are quoted to learners."""
    for unit, size in (("GiB", 1024**3), ("MiB", 1024**2), ("KiB", 1024)):
        if n >= size:
            return f"{n / size:g} {unit}"
    return f"{n} bytes"


def human_seconds(s: float) -> str:
    return f"{s:g} s"
