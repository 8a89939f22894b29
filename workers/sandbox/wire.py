"""Plain data across process boundaries: JSON plus raw numpy arrays, never pickle.

A frame is ``MAGIC | u32 header length | JSON header | (u64 length | .npy bytes)*``. Arrays sit in the
JSON as ``{"$array": index}``. ``decode`` is meant for bytes an attacker wrote (a child's result channel
is writable by learner code): it refuses before it allocates anything the bytes only claim, never
recurses on their structure, and turns every failure into a ``WireError`` with a message fit for the
learner.
"""

from __future__ import annotations

import io
import json
import math
import re
import socket
import struct
import sys
from typing import Any

import numpy as np

from workers.sandbox.limits import human_bytes

MAGIC = b"MGS1"
_HEADER = struct.Struct("<4sI")
_LENGTH = struct.Struct("<Q")
_MAX_DEPTH = 32
_MAX_JSON_DEPTH = _MAX_DEPTH + 1  # the frame's own dict, and the {"$array": i} marker of an array at the deepest level
_MAX_INT_DIGITS = 20
_INT_BOUND = 2**63
_MAX_FDS = 8
_NPY_HEADER_MAX = 10_000  # what numpy itself accepts by default (max_header_size)
_NPY_PREFIX = 12  # magic, version and the longest header-length field
_ARRAY_ITEMSIZES = {"b": {1}, "i": {1, 2, 4, 8}, "u": {1, 2, 4, 8}, "f": {2, 4, 8}}
_JSON_STRING = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"', re.DOTALL)
_OPENERS, _CLOSERS = frozenset(b"[{"), frozenset(b"]}")


class WireError(ValueError):
    """The data cannot cross the boundary (wrong type, too large, malformed)."""


def _plain_number_dtype(dtype: np.dtype) -> bool:
    """bool, (u)int8-64 and float16/32/64: what graders can do arithmetic on. Object, string, complex,
    datetime, structured and extended-precision arrays are not."""
    return dtype.fields is None and dtype.itemsize in _ARRAY_ITEMSIZES.get(dtype.kind, ())


def encode(value: dict[str, Any], max_bytes: int) -> bytes:
    arrays: list[bytes] = []
    budget = [max_bytes]

    def spend(n: int) -> None:
        budget[0] -= n
        if budget[0] < 0:
            raise WireError(f"the result is larger than the limit of {human_bytes(max_bytes)}")

    def plain(obj: Any, where: str, depth: int) -> Any:
        if depth > _MAX_DEPTH:
            raise WireError(f"the result is nested more than {_MAX_DEPTH} levels deep (at {where})")
        if isinstance(obj, int) and not isinstance(obj, bool) and not -_INT_BOUND <= obj < _INT_BOUND:
            raise WireError(f"{where} is an integer beyond ±2**63; return it as a float or a string")
        if obj is None or isinstance(obj, (bool, int, str)):
            spend(len(obj) if isinstance(obj, str) else 8)
            return obj
        if isinstance(obj, float):
            spend(8)
            return obj
        if isinstance(obj, np.generic):
            return plain(obj.item(), where, depth)
        torch = sys.modules.get("torch")
        if torch is not None and isinstance(obj, torch.Tensor):
            obj = obj.detach().cpu().numpy()
        if isinstance(obj, np.ndarray):
            if obj.dtype.hasobject:
                raise WireError(f"{where} is an array of Python objects; return numbers")
            if not _plain_number_dtype(obj.dtype):
                raise WireError(f"{where} is an array of {obj.dtype}; return bool, integer or float numbers")
            spend(obj.nbytes)
            if not obj.dtype.isnative:  # the learner's big-endian array: same values, this machine's order
                obj = obj.astype(obj.dtype.newbyteorder("="))
            buffer = io.BytesIO()
            np.save(buffer, np.ascontiguousarray(obj), allow_pickle=False)
            arrays.append(buffer.getvalue())
            return {"$array": len(arrays) - 1}
        if isinstance(obj, (list, tuple)):
            spend(8 * len(obj))
            return [plain(item, f"{where}[{i}]", depth + 1) for i, item in enumerate(obj)]
        if isinstance(obj, dict):
            out = {}
            for key, item in obj.items():
                if not isinstance(key, str):
                    raise WireError(f"{where} has a key of type {type(key).__name__}; keys must be strings")
                spend(len(key))
                out[key] = plain(item, f"{where}[{key!r}]" if where else key, depth + 1)
            return out
        raise WireError(
            f"{where} is a {type(obj).__name__}; return numbers, strings, lists, dicts, numpy arrays or tensors"
        )

    header = json.dumps(plain(value, "", 0), allow_nan=True).encode()
    parts = [_HEADER.pack(MAGIC, len(header)), header]
    for blob in arrays:
        parts += [_LENGTH.pack(len(blob)), blob]
    data = b"".join(parts)
    if len(data) > max_bytes:
        raise WireError(f"the result is larger than the limit of {human_bytes(max_bytes)}")
    return data


def seal(data: bytes) -> bytes:
    """A frame as sent on a child's result channel: its length first, so the worker knows the result is
    complete even while a process the child started still holds the channel open."""
    return _LENGTH.pack(len(data)) + data


def sealed_length(received: bytes | bytearray) -> int | None:
    """How many of the bytes ``received`` so far make up a complete sealed frame; None until they do."""
    if len(received) < _LENGTH.size:
        return None
    (length,) = _LENGTH.unpack_from(received)
    return _LENGTH.size + length if len(received) >= _LENGTH.size + length else None


def unseal(received: bytes | bytearray) -> dict[str, Any]:
    """The frame of a sealed result: what a child's result channel carried, which learner code can write."""
    complete = sealed_length(received)
    if complete is None:
        raise WireError(
            "the result channel carried too little data" if len(received) < _LENGTH.size
            else "the result channel carried a truncated result"
        )
    return decode(bytes(memoryview(received)[_LENGTH.size : complete]))


def decode(data: bytes) -> dict[str, Any]:
    view = memoryview(data)
    if len(view) < _HEADER.size:
        raise WireError("the result channel carried too little data")
    magic, header_length = _HEADER.unpack_from(view)
    if magic != MAGIC:
        raise WireError("the result channel carried data that is not a sandbox result")
    offset = _HEADER.size + header_length
    if offset > len(view):
        raise WireError("the result channel carried a truncated result")
    header = _json(bytes(view[_HEADER.size : offset]))
    arrays = []
    while offset < len(view):
        if offset + _LENGTH.size > len(view):
            raise WireError("the result channel carried a truncated array")
        (length,) = _LENGTH.unpack_from(view, offset)
        offset += _LENGTH.size
        if offset + length > len(view):
            raise WireError("the result channel carried a truncated array")
        arrays.append(_array(view[offset : offset + length]))
        offset += length

    def restore(obj: Any) -> Any:  # recursion bounded by _json's depth check
        if isinstance(obj, list):
            return [restore(item) for item in obj]
        if isinstance(obj, dict):
            if obj.keys() == {"$array"}:
                index = obj["$array"]
                if not isinstance(index, int) or not 0 <= index < len(arrays):
                    raise WireError("the result channel referred to a missing array")
                return arrays[index]
            return {key: restore(item) for key, item in obj.items()}
        return obj

    value = restore(header)
    if not isinstance(value, dict):
        raise WireError("the result channel carried something other than a dict")
    return value


def _json(text: bytes) -> Any:
    """The JSON header, its nesting measured first by a linear scan (json's own parser recurses)."""
    if _nesting(text) > _MAX_JSON_DEPTH:
        raise WireError(f"the result channel carried data nested more than {_MAX_DEPTH} levels deep")
    try:
        return json.loads(text, parse_int=_bounded_int)
    except WireError:
        raise
    except (ValueError, RecursionError, MemoryError) as exc:
        raise WireError(f"the result channel carried malformed data ({type(exc).__name__})") from None


def _nesting(text: bytes) -> int:
    """The deepest bracket nesting outside strings, without recursion (a million "[" cost a few ms)."""
    steps = np.frombuffer(_JSON_STRING.sub(b'""', text), dtype=np.uint8)
    depth = np.isin(steps, list(_OPENERS)).astype(np.int64) - np.isin(steps, list(_CLOSERS))
    return int(np.cumsum(depth).max(initial=0))


def _bounded_int(text: str) -> int:
    """A JSON integer that fits in 64 bits; thousands of digits would cost the parser quadratic time."""
    value = int(text) if len(text) <= _MAX_INT_DIGITS else None
    if value is None or not -_INT_BOUND <= value < _INT_BOUND:
        raise WireError(f"the result channel carried an integer outside ±2**63 ({len(text)} characters)")
    return value


def _array(blob: memoryview) -> np.ndarray:
    """One ``.npy`` blob, its header parsed on its own and checked against the bytes actually present
    before anything is allocated: a header may claim any shape or dtype."""
    head = io.BytesIO(bytes(blob[: _NPY_PREFIX + _NPY_HEADER_MAX]))
    try:
        version = np.lib.format.read_magic(head)
        read_header = {(1, 0): np.lib.format.read_array_header_1_0, (2, 0): np.lib.format.read_array_header_2_0}
        shape, fortran_order, dtype = read_header[version](head, max_header_size=_NPY_HEADER_MAX)
    except Exception as exc:  # noqa: BLE001 - numpy's header parser fails in many ways on hostile bytes
        raise WireError(f"the result channel carried a malformed array ({type(exc).__name__})") from None
    if not _plain_number_dtype(dtype):
        raise WireError(f"the result channel carried an array of {dtype}; only bool, integer and float arrays cross")
    if not dtype.isnative:
        raise WireError(
            f"the result channel carried an array in non-native byte order ({dtype.str}); "
            "return arrays in this machine's byte order"
        )
    if any(n < 0 for n in shape):
        raise WireError("the result channel carried an array of negative shape")
    start = head.tell()
    if math.prod(shape) * dtype.itemsize != len(blob) - start:
        raise WireError(
            f"the result channel carried an array whose header claims shape {tuple(shape)} of {dtype} "
            f"but {len(blob) - start} bytes of data"
        )
    array = np.frombuffer(blob[start:], dtype=dtype).reshape(shape, order="F" if fortran_order else "C")
    return array.copy()  # writable, and no longer holding the whole frame


# --- messages between the worker and its zygote (trusted on both ends) ---


def send_message(sock: socket.socket, value: dict[str, Any], fds: list[int] = (), body: bytes = b"") -> None:
    """``value`` (with the length of ``body`` as "body_bytes") and ``fds``; then ``body`` as is."""
    data = encode({**value, "body_bytes": len(body)}, max_bytes=1 << 40)
    payload = _LENGTH.pack(len(data)) + data
    ancillary = [(socket.SOL_SOCKET, socket.SCM_RIGHTS, struct.pack(f"{len(fds)}i", *fds))] if fds else []
    sent = sock.sendmsg([payload[:65536]], ancillary)
    if sent < len(payload):
        sock.sendall(payload[sent:])
    if body:
        sock.sendall(body)


def recv_message(sock: socket.socket) -> tuple[dict[str, Any], list[int]] | None:
    """One message and the file descriptors that came with it, or None when the other end closed."""
    try:
        head, ancdata, _flags, _addr = sock.recvmsg(_LENGTH.size, socket.CMSG_SPACE(_MAX_FDS * 4))
    except ConnectionResetError:
        return None
    fds: list[int] = []
    for level, kind, blob in ancdata:
        if level == socket.SOL_SOCKET and kind == socket.SCM_RIGHTS:
            fds += struct.unpack(f"{len(blob) // 4}i", blob[: len(blob) - len(blob) % 4])
    if not head:
        return None
    while len(head) < _LENGTH.size:
        more = sock.recv(_LENGTH.size - len(head))
        if not more:
            return None
        head += more
    (length,) = _LENGTH.unpack(head)
    body = bytearray()
    while len(body) < length:
        chunk = sock.recv(min(length - len(body), 1 << 20))
        if not chunk:
            return None
        body += chunk
    return decode(bytes(body)), fds


def recv_body(sock: socket.socket, message: dict[str, Any]) -> bytearray:
    """The body sent after ``message``, read straight into one buffer the caller can wipe."""
    body = bytearray(message["body_bytes"])
    view = memoryview(body)
    while view:
        received = sock.recv_into(view)
        if not received:
            raise ConnectionResetError("the other end closed in the middle of a message")
        view = view[received:]
    return body
