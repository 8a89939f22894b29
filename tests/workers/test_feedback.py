"""The shared "close to a threshold" note (workers/exercises/_feedback.py)."""

from workers.exercises import _feedback


def test_within_10_percent_either_side_is_near_and_a_value_at_the_ceiling_never_is():
    assert _feedback.is_near(0.73, 0.8) and _feedback.is_near(0.87, 0.8)
    assert not _feedback.is_near(0.71, 0.8) and not _feedback.is_near(0.89, 0.8)
    assert _feedback.is_near(0.27, 0.3) and _feedback.is_near(0.32, 0.3)
    assert _feedback.is_near(0.95, 0.9) and not _feedback.is_near(1.0, 0.95, ceiling=1)


def test_the_note_names_each_close_value_and_what_it_means():
    note = _feedback.near_threshold((("ratio", 0.84, 0.8, ".2f"), ("drop", 0.2, 0.85, ".0%")), "Try a few seeds.")
    assert note == "Close to a threshold: ratio 0.84 is within 10% of its threshold 0.80. Try a few seeds."
    assert _feedback.near_threshold((("ratio", 0.5, 0.8, ".2f"),), "Try a few seeds.") is None
