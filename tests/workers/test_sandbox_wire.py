"""The data format between the child and the worker: JSON plus raw arrays, never pickle, hostile bytes refused."""

from __future__ import annotations

import io
import struct

import numpy as np
import pytest
import torch

from workers.sandbox import wire

LIMIT = 1 << 20


def test_json_values_arrays_and_tensors_round_trip():
    value = {"n": 1, "x": 0.5, "s": "é", "none": None, "ok": True, "nested": {"l": [1, [2, 3]]},
             "a": np.arange(6, dtype=np.float32).reshape(2, 3), "t": torch.ones(2, dtype=torch.float64),
             "scalar": np.int64(7)}

    decoded = wire.decode(wire.encode(value, LIMIT))

    assert {k: decoded[k] for k in ("n", "x", "s", "none", "ok", "nested", "scalar")} == {
        "n": 1, "x": 0.5, "s": "é", "none": None, "ok": True, "nested": {"l": [1, [2, 3]]}, "scalar": 7}
    assert decoded["a"].dtype == np.float32 and decoded["a"].shape == (2, 3)
    np.testing.assert_array_equal(decoded["t"], np.ones(2))


def test_tuples_come_back_as_lists():
    assert wire.decode(wire.encode({"t": (1, 2)}, LIMIT)) == {"t": [1, 2]}


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ({"f": print}, "f is a builtin_function_or_method"),
        ({"o": np.array([object()])}, "o is an array of Python objects"),
        ({"d": {1: 2}}, "d has a key of type int"),
        ({"big": "x" * (LIMIT + 1)}, "larger than the limit"),
        ({"big": np.zeros(LIMIT)}, "larger than the limit"),
    ],
)
def test_what_cannot_cross_is_named(value, message):
    with pytest.raises(wire.WireError, match=message):
        wire.encode(value, LIMIT)


def test_recursive_structures_are_refused_by_depth():
    loop: list = []
    loop.append(loop)
    with pytest.raises(wire.WireError, match="nested more than 32 levels deep"):
        wire.encode({"loop": loop}, LIMIT)


def _frame(header: bytes, *arrays: bytes) -> bytes:
    head = struct.pack("<4sI", wire.MAGIC, len(header)) + header
    return head + b"".join(struct.pack("<Q", len(array)) + array for array in arrays)


def test_a_pickled_array_is_refused():
    buffer = io.BytesIO()
    np.save(buffer, np.array([{"evil": 1}], dtype=object), allow_pickle=True)

    with pytest.raises(wire.WireError, match="malformed array"):
        wire.decode(_frame(b'{"a": {"$array": 0}}', buffer.getvalue()))


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "too little data"),
        (b"GARBAGE!", "not a sandbox result"),
        (_frame(b'{"a": 1}')[:-2], "truncated"),
        (_frame(b'{"a": ') , "malformed"),
        (_frame(b"[1, 2]"), "something other than a dict"),
        (_frame(b'{"a": {"$array": 3}}'), "missing array"),
        (_frame(b'{"a": 1}') + b"\x05\x00", "truncated array"),
        (_frame(b"[" * 100_000 + b"]" * 100_000), "malformed"),
    ],
)
def test_hostile_bytes_are_a_wire_error(data, message):
    with pytest.raises(wire.WireError, match=message):
        wire.decode(data)
