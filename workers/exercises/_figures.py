"""Figures drawn by trusted grading code, returned as PNG data URIs for ``Grade.figures``."""

from __future__ import annotations

import base64
import io

import matplotlib

matplotlib.use("Agg")
from matplotlib import pyplot as plt  # noqa: E402  (after choosing the headless backend)
from matplotlib.figure import Figure  # noqa: E402


def new_figure(width: float = 4.0, height: float = 3.2) -> tuple[Figure, object]:
    return plt.subplots(figsize=(width, height))


def png_data_uri(png: bytes) -> str:
    return "data:image/png;base64," + base64.b64encode(png).decode("ascii")


def to_data_uri(figure: Figure) -> str:
    """The figure as a PNG data URI; the figure is closed, so a long-lived worker keeps no memory for it."""
    buffer = io.BytesIO()
    try:
        figure.savefig(buffer, format="png", dpi=80, bbox_inches="tight")
    finally:
        plt.close(figure)
    return png_data_uri(buffer.getvalue())
