"""Figures drawn by code, referenced from lesson Markdown as ``![alt](figure:NAME "caption")``.

Drawing them here rather than committing images keeps them exact (the geometry is the lesson's
point) and reviewable as code. Each figure is a function returning a standalone SVG document.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from functools import cache

from django.utils.html import escape


def _arrow(k: int, x: float, y: float, colour: str) -> str:
    return (
        f'<marker id="head-{k}" viewBox="0 0 10 10" refX="8" refY="5" markerWidth="6" markerHeight="6" '
        f'orient="auto"><path d="M0,0 L10,5 L0,10 z" fill="{colour}"/></marker>'
        f'<line x1="0" y1="0" x2="{x:.2f}" y2="{y:.2f}" stroke="{colour}" stroke-width="3" '
        f'marker-end="url(#head-{k})"/>'
    )


def superposition_pentagon() -> str:
    """Five unit feature directions in a 2-D activation space, 72° apart (a regular pentagon).

    This is the arrangement the toy models of superposition learn for five sparse features in
    two dimensions: neighbours interfere by cos 72° ≈ 0.31, the others by cos 144° ≈ −0.81.
    """
    radius, size = 150.0, 420
    colours = ["#1b6ca8", "#c0392b", "#2e8540", "#8e44ad", "#d35400"]
    parts = []
    for k, colour in enumerate(colours):
        angle = math.radians(90 + 72 * k)
        x, y = radius * math.cos(angle), -radius * math.sin(angle)
        lx, ly = 1.22 * x, 1.22 * y
        parts.append(_arrow(k, x, y, colour))
        parts.append(
            f'<text x="{lx:.2f}" y="{ly + 6:.2f}" text-anchor="middle" fill="{colour}" '
            f'font-size="20" font-style="italic">f<tspan baseline-shift="sub" font-size="14">{k + 1}</tspan></text>'
        )
    outline = " ".join(
        f"{radius * math.cos(math.radians(90 + 72 * k)):.2f},{-radius * math.sin(math.radians(90 + 72 * k)):.2f}"
        for k in range(5)
    )
    title = "Five feature directions in two dimensions"
    description = (
        "Five unit vectors f1 to f5 drawn from the origin of a 2-D activation space, 72 degrees apart, "
        "their tips forming a regular pentagon on the unit circle."
    )
    half = size / 2
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="{-half} {-half} {size} {size}" width="{size}" '
        f'height="{size}" role="img" aria-labelledby="fig-title fig-desc" font-family="system-ui, sans-serif">'
        f'<title id="fig-title">{escape(title)}</title><desc id="fig-desc">{escape(description)}</desc>'
        f'<rect x="{-half}" y="{-half}" width="{size}" height="{size}" fill="#fff"/>'
        f'<line x1="{-half + 20}" y1="0" x2="{half - 20}" y2="0" stroke="#bbb"/>'
        f'<line x1="0" y1="{-half + 20}" x2="0" y2="{half - 20}" stroke="#bbb"/>'
        f'<circle r="{radius}" fill="none" stroke="#999" stroke-dasharray="4 4"/>'
        f'<polygon points="{outline}" fill="#f3f6fa" stroke="#7a8899" stroke-width="1"/>'
        + "".join(parts)
        + f'<text x="{half - 22}" y="22" text-anchor="end" font-size="14" fill="#555">dimension 1</text>'
        f'<text x="-8" y="{half - 26}" text-anchor="end" font-size="14" fill="#555">dimension 2</text>'
        "</svg>"
    )


REGISTRY: dict[str, Callable[[], str]] = {
    "superposition-pentagon": superposition_pentagon,
}


@cache
def render_figure(name: str) -> str:
    """The SVG document of a registered figure (KeyError for unknown names)."""
    return REGISTRY[name]()
