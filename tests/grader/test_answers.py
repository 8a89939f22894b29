"""What learners may type, what is refused (and how we say so), and tolerance edges."""

import pytest

from grader.attempts.answers import AnswerError, is_close, off_components, parse_answer, parse_number, parse_vector, tolerance_for


@pytest.mark.parametrize(
    ("typed", "value"),
    [
        ("0.6", 0.6),
        (".6", 0.6),
        ("3/5", 0.6),
        ("1.13e3", 1130.0),
        ("1,130", 1130.0),
        ("1 130", 1130.0),
        ("1\u202f130", 1130.0),
        ("-0.748", -0.748),
        ("\u22120.748", -0.748),
        ("  +2 ", 2.0),
        ("-3/4", -0.75),
        ("1E-3", 0.001),
    ],
)
def test_reads_numbers_as_people_type_them(typed, value):
    assert parse_number(typed) == pytest.approx(value)


@pytest.mark.parametrize(
    ("typed", "message"),
    [
        ("1..2", "Expected a number such as 0.6, 3/5, -0.748 or 1.13e3; received “1..2”."),
        ("abc", "received “abc”"),
        ("", "Expected a number such as 0.6, 3/5, -0.748 or 1.13e3; received nothing."),
        ("   ", "received nothing"),
        ("1e400", "received “1e400”, which is too large"),
        ("nan", "Expected a finite number; received “nan”."),
        ("inf", "Expected a finite number; received “inf”."),
        ("-Infinity", "Expected a finite number"),
        ("1,13", "received “1,13”"),
        ("3/0", "non-zero denominator"),
        ("1/2/3", "Expected a fraction such as 3/5"),
    ],
)
def test_refuses_what_is_not_a_number_and_says_what_was_expected(typed, message):
    with pytest.raises(AnswerError) as refusal:
        parse_number(typed)
    assert message in str(refusal.value)


@pytest.mark.parametrize("typed", ["[0.805, -0.288, 0.518]", "0.805, -0.288, 0.518", "(0.805; −0.288; 0.518)", "[ .805 ,-.288,0.518 ]"])
def test_reads_vectors_with_or_without_brackets(typed):
    assert parse_vector(typed, 3) == pytest.approx([0.805, -0.288, 0.518])


def test_inside_a_vector_commas_separate_components_and_spaces_group_thousands():
    assert parse_vector("[1 130, 2, 3]", 3) == [1130.0, 2.0, 3.0]


def test_a_vector_of_the_wrong_length_says_how_many_numbers_were_expected_and_received():
    with pytest.raises(AnswerError, match=r"Expected 3 numbers .* received 2 in “\[1, 2\]”"):
        parse_vector("[1, 2]", 3)


def test_a_bad_component_is_named_by_position():
    with pytest.raises(AnswerError, match="Component 2 of 3: .*received “x”"):
        parse_vector("[1, x, 3]", 3)


def test_the_shape_of_the_expected_value_decides_how_commas_read():
    assert parse_answer("1,130", 1131.4) == 1130.0
    assert parse_answer("1,130", [1.0, 130.0]) == [1.0, 130.0]


def test_absolute_tolerance_edges():
    tolerance = tolerance_for(0.6, abs_tolerance=0.01)
    assert is_close(0.61, 0.6, tolerance)  # exactly at the edge, despite binary rounding
    assert is_close(0.5901, 0.6, tolerance)
    assert not is_close(0.6101, 0.6, tolerance)
    assert not is_close(0.5899, 0.6, tolerance)


def test_relative_tolerance_scales_with_the_expected_value():
    tolerance = tolerance_for(1131.4, rel_tolerance=0.05)
    assert is_close(1131.4 * 1.0499, 1131.4, tolerance)
    assert not is_close(1131.4 * 1.0501, 1131.4, tolerance)


def test_the_looser_of_absolute_and_relative_applies():
    assert tolerance_for(100.0, abs_tolerance=0.5, rel_tolerance=0.01) == 1.0
    assert tolerance_for(1.0, abs_tolerance=0.5, rel_tolerance=0.01) == 0.5


def test_significant_figures_mean_half_a_unit_in_the_last_place_of_the_exact_value():
    tolerance = tolerance_for(0.98975, sig_figs=2)  # 0.99 to two figures
    assert tolerance == pytest.approx(0.005)
    assert is_close(0.99, 0.98975, tolerance)
    assert is_close(0.9848, 0.98975, tolerance)
    assert not is_close(0.9847, 0.98975, tolerance)
    assert is_close(0.9947, 0.98975, tolerance)
    assert not is_close(0.9948, 0.98975, tolerance)
    assert tolerance_for(1131.4, sig_figs=3) == pytest.approx(5.0)


def test_vector_components_outside_tolerance_are_reported_by_position():
    expected = [0.805, -0.288, 0.518]
    assert off_components([0.805, -0.288, 0.518], expected, abs_tolerance=0.01) == []
    assert off_components([0.805, 0.288, 0.6], expected, abs_tolerance=0.01) == [2, 3]
