"""Checks a trusted grader runs on a child's outputs: the learner reads what was expected and what came back."""

from __future__ import annotations

import numpy as np
import pytest

from workers.exercises.base import InvalidOutput
from workers.sandbox import expect_array, expect_number, require_function


def test_a_matching_array_is_returned():
    direction = np.ones(64)
    assert expect_array({"direction": direction}, "direction", shape=(64,)) is direction


def test_a_wrong_shape_says_both_shapes():
    with pytest.raises(InvalidOutput, match=r"^direction: expected a tensor of shape \[64\], got \[64, 1\]$"):
        expect_array({"direction": np.ones((64, 1))}, "direction", shape=(64,))


def test_free_dimensions_are_shown_as_stars():
    expect_array({"acts": np.ones((3, 8))}, "acts", shape=(None, 8))
    with pytest.raises(InvalidOutput, match=r"expected a tensor of shape \[\*, 8\], got \[3, 9\]"):
        expect_array({"acts": np.ones((3, 9))}, "acts", shape=(None, 8))


@pytest.mark.parametrize(("outputs", "got"), [({}, "nothing"), ({"direction": [1.0, 2.0]}, "a list")])
def test_a_missing_or_non_array_value_is_named(outputs, got):
    with pytest.raises(InvalidOutput, match=f"direction: expected a tensor, got {got}"):
        expect_array(outputs, "direction")


def test_nan_and_infinity_are_located():
    values = np.zeros((2, 3))
    values[1, 2] = np.nan
    with pytest.raises(InvalidOutput, match=r"expected finite values, got NaN at index \[1, 2\] \(1 of 6 values"):
        expect_array({"v": values}, "v")
    values[1, 2] = np.inf
    with pytest.raises(InvalidOutput, match=r"got infinite at index \[1, 2\]"):
        expect_array({"v": values}, "v")
    assert expect_array({"v": values}, "v", finite=False) is values


def test_non_numeric_arrays_are_refused():
    with pytest.raises(InvalidOutput, match="expected a tensor of numbers, got dtype <U1"):
        expect_array({"v": np.array(["a"])}, "v")


def test_numbers_accept_scalars_and_one_element_arrays_but_not_booleans_or_nan():
    assert expect_number({"loss": 0.25}, "loss") == 0.25
    assert expect_number({"loss": np.array([3])}, "loss") == 3.0
    with pytest.raises(InvalidOutput, match="loss: expected a number, got a bool"):
        expect_number({"loss": True}, "loss")
    with pytest.raises(InvalidOutput, match="loss: expected a finite number, got nan"):
        expect_number({"loss": float("nan")}, "loss")


def test_require_function_names_what_is_missing():
    def fit_probe(acts, labels):
        return acts

    assert require_function({"fit_probe": fit_probe}, "fit_probe") is fit_probe
    with pytest.raises(InvalidOutput, match=r"must define a function fit_probe\(acts, labels\); it defines an int"):
        require_function({"fit_probe": 3}, "fit_probe", "acts, labels")
