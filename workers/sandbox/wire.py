"""Plain data across process boundaries: JSON plus raw numpy arrays, never pickle.

A frame is ``MAGIC | u32 header length | JSON header | (u64 length | .npy bytes)*``. Arrays sit in the
JSON as ``{"$array": index}``. Decoding loads arrays with ``allow_pickle=False``, refuses trailing
bytes, and is meant for bytes an attacker wrote: every failure is a ``WireError`` with a message fit
for the learner.
"""

from __future__ import annotations

import io
import json
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
_MAX_FDS = 8


class WireError(ValueError):
    """The data cannot cross the boundary (wrong type, too large, malformed)."""


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
            spend(obj.nbytes)
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


def decode(data: bytes) -> dict[str, Any]:
    if len(data) < _HEADER.size:
        raise WireError("the result channel carried too little data")
    magic, header_length = _HEADER.unpack_from(data)
    if magic != MAGIC:
        raise WireError("the result channel carried data that is not a sandbox result")
    offset = _HEADER.size + header_length
    if offset > len(data):
        raise WireError("the result channel carried a truncated result")
    try:
        header = json.loads(data[_HEADER.size : offset])
    except (ValueError, RecursionError) as exc:
        raise WireError(f"the result channel carried malformed data ({exc})") from None
    arrays = []
    while offset < len(data):
        if offset + _LENGTH.size > len(data):
            raise WireError("the result channel carried a truncated array")
        (length,) = _LENGTH.unpack_from(data, offset)
        offset += _LENGTH.size
        if offset + length > len(data):
            raise WireError("the result channel carried a truncated array")
        try:
            arrays.append(np.load(io.BytesIO(data[offset : offset + length]), allow_pickle=False))
        except ValueError as exc:
            raise WireError(f"the result channel carried a malformed array ({exc})") from None
        offset += length

    def restore(obj: Any) -> Any:
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
