"""Landlock (Linux >= 5.13) through ctypes: the child may read only the libraries it runs on.

Without it an unprivileged uid could still read every world-readable file on the host: the project's
settings, its SQLite database, other courses' files. The rules are path-beneath allow-lists; the
ruleset also denies TCP (ABI 4) and signals to processes outside the sandbox (ABI 6) where the
kernel supports it.
"""

from __future__ import annotations

import ctypes
import os

_SYS_CREATE_RULESET, _SYS_ADD_RULE, _SYS_RESTRICT_SELF = 444, 445, 446
_CREATE_RULESET_VERSION = 1
_RULE_PATH_BENEATH = 1

EXECUTE, WRITE_FILE, READ_FILE, READ_DIR = 1 << 0, 1 << 1, 1 << 2, 1 << 3
_FS_BITS_BY_ABI = {1: 13, 2: 14, 3: 15, 4: 15, 5: 16}  # REFER (2), TRUNCATE (3), IOCTL_DEV (5)
_TCP_BIND_CONNECT = (1 << 0) | (1 << 1)
_SCOPE_ABSTRACT_UNIX_SOCKET_AND_SIGNAL = (1 << 0) | (1 << 1)

READ_ONLY = EXECUTE | READ_FILE | READ_DIR
ALL = (1 << 16) - 1  # masked down to what the running kernel handles
FILE_RIGHTS = EXECUTE | WRITE_FILE | READ_FILE | (1 << 14) | (1 << 15)

_libc = ctypes.CDLL(None, use_errno=True)
_libc.syscall.restype = ctypes.c_long


class _RulesetAttr(ctypes.Structure):
    _fields_ = [
        ("handled_access_fs", ctypes.c_uint64),
        ("handled_access_net", ctypes.c_uint64),
        ("scoped", ctypes.c_uint64),
    ]


class _PathBeneathAttr(ctypes.Structure):
    _pack_ = 1
    _fields_ = [("allowed_access", ctypes.c_uint64), ("parent_fd", ctypes.c_int32)]


def abi_version() -> int:
    """The kernel's Landlock ABI, or 0 where Landlock is missing or disabled."""
    version = _libc.syscall(_SYS_CREATE_RULESET, None, ctypes.c_size_t(0), ctypes.c_uint32(_CREATE_RULESET_VERSION))
    return max(int(version), 0)


def _check(value: int, what: str) -> int:
    if value < 0:
        errno = ctypes.get_errno()
        raise OSError(errno, f"landlock {what}: {os.strerror(errno)}")
    return value


def restrict_self(abi: int, rules: list[tuple[int, int]]) -> None:
    """Confine this process (and all it starts) to ``rules``: (O_PATH fd, allowed access) pairs.

    The caller needs CAP_SYS_ADMIN or no_new_privs. Everything not allowed is denied.
    """
    handled_fs = (1 << _FS_BITS_BY_ABI.get(abi, 16)) - 1
    attr = _RulesetAttr(
        handled_fs,
        _TCP_BIND_CONNECT if abi >= 4 else 0,
        _SCOPE_ABSTRACT_UNIX_SOCKET_AND_SIGNAL if abi >= 6 else 0,
    )
    size = ctypes.sizeof(_RulesetAttr) if abi >= 6 else (16 if abi >= 4 else 8)  # the struct grew with the ABI
    ruleset = _check(
        _libc.syscall(_SYS_CREATE_RULESET, ctypes.byref(attr), ctypes.c_size_t(size), ctypes.c_uint32(0)),
        "create_ruleset",
    )
    try:
        for fd, access in rules:
            rule = _PathBeneathAttr(access & handled_fs, fd)
            _check(
                _libc.syscall(
                    _SYS_ADD_RULE, ctypes.c_int(ruleset), ctypes.c_int(_RULE_PATH_BENEATH), ctypes.byref(rule), 0
                ),
                "add_rule",
            )
        _check(_libc.syscall(_SYS_RESTRICT_SELF, ctypes.c_int(ruleset), ctypes.c_uint32(0)), "restrict_self")
    finally:
        os.close(ruleset)
