"""One boundary for text a learner sends: it must be valid Unicode, and no longer than a documented limit.

A lone surrogate (``"\\ud800"``, which JSON can carry) cannot be encoded, stored or hashed, so it is refused
here, before anything else looks at the text, with a message the learner can act on.
"""

from __future__ import annotations


class TextRefused(ValueError):
    """The text cannot be accepted; the message is for the learner."""


def check_text(text: str, *, what: str, max_chars: int | None = None) -> str:
    """``text`` unchanged if it is valid Unicode within ``max_chars`` characters; else :class:`TextRefused`."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        raise TextRefused(
            f"{what} contains a character that is not valid Unicode text (a lone surrogate); remove it and try again."
        ) from None
    if max_chars is not None and len(text) > max_chars:
        raise TextRefused(f"{what} is {len(text):,} characters long; the limit is {max_chars:,} characters.")
    return text


def parse_id(text: str) -> int | None:
    """A database id typed as ASCII digits, else None (``"²".isdigit()`` is true, but ``int("²")`` fails)."""
    text = text.strip()
    if not (text.isascii() and text.isdigit()) or len(text) > 18:
        return None
    return int(text)
