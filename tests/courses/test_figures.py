import math
import re

from courses.figures import REGISTRY, render_figure


def test_the_pentagon_draws_five_equal_arrows_72_degrees_apart():
    svg = render_figure("superposition-pentagon")
    tips = [(float(x), float(y)) for x, y in re.findall(r'<line x1="0" y1="0" x2="([-\d.]+)" y2="([-\d.]+)"', svg)]
    assert len(tips) == 5
    assert len({round(math.hypot(x, y), 1) for x, y in tips}) == 1
    angles = sorted(math.degrees(math.atan2(-y, x)) % 360 for x, y in tips)
    assert [round(b - a) for a, b in zip(angles, angles[1:])] == [72, 72, 72, 72]
    assert svg.count(">f<tspan") == 5, "each arrow is labelled f with its number as a subscript"


def test_every_registered_figure_is_an_accessible_svg_document():
    for name in REGISTRY:
        svg = render_figure(name)
        assert svg.startswith('<svg xmlns="http://www.w3.org/2000/svg"') and svg.endswith("</svg>")
        assert 'role="img"' in svg and "<title" in svg and "<desc" in svg
