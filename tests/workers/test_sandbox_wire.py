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
        ({"n": [1, 2**63]}, r"n\[1\] is an integer beyond ±2\*\*63"),
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


def _npy(header: str, data: bytes = b"") -> bytes:
    """A hand-written .npy blob (version 1.0): what learner code can put on the result channel."""
    text = header.encode("latin1")
    text += b" " * (-(10 + len(text) + 1) % 64) + b"\n"
    return b"\x93NUMPY\x01\x00" + struct.pack("<H", len(text)) + text + data


def test_a_pickled_array_is_refused():
    buffer = io.BytesIO()
    np.save(buffer, np.array([{"evil": 1}], dtype=object), allow_pickle=True)

    with pytest.raises(wire.WireError, match="array of object"):
        wire.decode(_frame(b'{"a": {"$array": 0}}', buffer.getvalue()))


@pytest.mark.parametrize(
    ("blob", "message"),
    [
        (_npy("{'descr': '<f8', 'fortran_order': False, 'shape': (1000000000, 1000000000), }"), "claims shape"),
        (_npy("{'descr': '<f8', 'fortran_order': False, 'shape': (3,), }", bytes(16)), "but 16 bytes of data"),
        (_npy("{'descr': '<f8', 'fortran_order': False, 'shape': (1,), }", bytes(9)), "but 9 bytes of data"),
        (_npy("{'descr': '|O', 'fortran_order': False, 'shape': (1,), }", bytes(8)), "array of object"),
        (_npy("{'descr': '<c16', 'fortran_order': False, 'shape': (1,), }", bytes(16)), "array of complex128"),
        (_npy("{'descr': '<U4', 'fortran_order': False, 'shape': (1,), }", bytes(16)), "array of <U4"),
        (_npy("{'descr': '<M8[s]', 'fortran_order': False, 'shape': (1,), }", bytes(8)), "array of datetime64"),
        (_npy("{'descr': [('a', '<f8')], 'fortran_order': False, 'shape': (1,), }", bytes(8)), "array of"),
        (_npy("{'descr': '>f8', 'fortran_order': False, 'shape': (2,), }", bytes(16)), "non-native byte order"),
        (_npy("{'descr': '<f8', 'fortran_order': False, 'shape': (-1,), }"), "negative shape"),
        (_npy("{'descr': '<f8', 'fortran_order': False, 'shape': " + "(" * 5000 + ")" * 5000 + "}"), "malformed"),
        (b"\x93NUMPY\x02\x00" + struct.pack("<I", 2**31) + b"{", "malformed array"),
        (b"not an npy", "malformed array"),
    ],
)
def test_an_array_header_is_checked_against_the_bytes_present_before_anything_is_allocated(blob, message):
    with pytest.raises(wire.WireError, match=message):
        wire.decode(_frame(b'{"a": {"$array": 0}}', blob))


def test_a_hand_written_array_that_is_consistent_is_accepted_in_either_order():
    data = np.arange(6, dtype="<i4").tobytes()
    blob = _npy("{'descr': '<i4', 'fortran_order': True, 'shape': (2, 3), }", data)

    decoded = wire.decode(_frame(b'{"a": {"$array": 0}}', blob))["a"]

    np.testing.assert_array_equal(decoded, np.arange(6).reshape(2, 3, order="F"))
    decoded[0, 0] = 7  # writable: graders may work in place


def test_a_learners_big_endian_array_crosses_in_native_order():
    decoded = wire.decode(wire.encode({"a": np.arange(3, dtype=">f4")}, LIMIT))["a"]

    assert decoded.dtype == np.float32 and decoded.dtype.isnative
    np.testing.assert_array_equal(decoded, [0.0, 1.0, 2.0])


def test_arrays_that_are_not_plain_numbers_are_refused_when_sent():
    with pytest.raises(wire.WireError, match="z is an array of complex128; return bool, integer or float"):
        wire.encode({"z": np.ones(2, dtype=complex)}, LIMIT)


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
        (_frame(b'{"a": ' + b"[" * 600 + b"]" * 600 + b"}"), "nested more than 32 levels deep"),
        (_frame(b"[" * 100_000 + b"]" * 100_000), "nested more than 32 levels deep"),
        (_frame(b'{"a": ' + b"[" * 100_000 + b"}"), "nested more than 32 levels deep"),
        (_frame(b'{"a": "' + b"[" * 100 + b'", "b": ' + b"{" * 100 + b"}"), "nested more than 32 levels deep"),
        (_frame(b'{"a": ' + b"9" * 5000 + b"}"), r"integer outside ±2\*\*63"),
        (_frame(b'{"a": ' + str(2**63).encode() + b"}"), r"integer outside ±2\*\*63"),
    ],
)
def test_hostile_bytes_are_a_wire_error_without_recursion_or_huge_numbers(data, message):
    with pytest.raises(wire.WireError, match=message):
        wire.decode(data)


def test_brackets_inside_strings_do_not_count_as_nesting():
    text = '[' * 100 + '"' + "\\" * 3 + '"'
    assert wire.decode(wire.encode({"s": text, "n": -(2**63)}, LIMIT)) == {"s": text, "n": -(2**63)}
