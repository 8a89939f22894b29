"""Markdown with LaTeX becomes MathML, sanitized; figures resolve; output is cached by text."""

import re

import pytest
from django.core.cache import cache

from courses import rendering
from courses.rendering import MarkdownProblem, check_markdown, render_markdown, render_markdown_inline


def visible_text(html: str) -> str:
    return re.sub(r"<[^>]+>", "", re.sub(r"<math.*?</math>", "", html, flags=re.S))


def test_inline_and_display_math_become_mathml():
    html = render_markdown("Let $\\mathbf{a}(\\mathbf{x}) \\in \\mathbb{R}^d$ be\n\n$$\\hat{f}_i = \\text{ReLU}(x)$$")
    assert html.count('<math xmlns="http://www.w3.org/1998/Math/MathML" display="inline">') == 1
    assert html.count('display="block"') == 1
    assert "$" not in visible_text(html) and "\\" not in html


@pytest.mark.parametrize(
    "latex",
    [
        r"\text{Model}(x)_{\text{with } \mathcal{C} \text{ ablated}} \neq \text{Model}(x)_{\text{full}}",
        r"\mathbf{a}_\theta(\mathbf{x}) \approx R \cdot \mathbf{a}_\phi(\mathbf{x})",
        r"\text{softmax}\left(\frac{Q_{\text{prev}} \cdot K_{\text{copy}}^T}{\sqrt{d_k}}\right) V_{\text{token}}",
        r"\langle\mathbf{f}_1, \mathbf{f}_4\rangle = 0.6, \|\mathbf{f}_4\|^2 = 0.999",
        r"\exp(O(d)), \varepsilon, n \gg d, \mathbb{E}[(\mathbf{u}^T\mathbf{v})^2] = 1/d",
    ],
)
def test_the_seed_s_constructs_render_without_raw_latex(latex):
    html = render_markdown(f"$${latex}$$")
    assert "<math" in html
    assert "\\" not in html and "$" not in visible_text(html)


def test_subscripts_attach_to_the_right_base():
    html = render_markdown(r"$\mathbf{a}_\theta$")
    assert re.search(r"<msub><mi>𝐚</mi><mi>θ</mi></msub>", html)


def test_scripts_event_handlers_and_raw_html_are_removed():
    html = render_markdown(
        '<script>alert(1)</script>\n\n[x](javascript:alert(1)) <img src=x onerror=alert(1)>\n\n![a](javascript:alert(2))'
    )
    tags = re.findall(r"<[^>]*>", html)
    assert tags == ["<p>", "</p>", "<p>", "</p>", "<p>", "</p>"], "raw HTML and unsafe links stay text"
    assert "&lt;script&gt;" in html


def test_sanitizer_keeps_mathml_but_drops_its_event_handlers():
    clean = rendering._sanitize('<math display="block"><mi onclick="alert(1)" mathvariant="bold">x</mi></math>')
    assert clean == '<math display="block"><mi mathvariant="bold">x</mi></math>'


def test_a_figure_alone_in_its_paragraph_becomes_a_captioned_figure():
    html = render_markdown('![Five arrows](figure:superposition-pentagon "Five features in two dimensions.")')
    assert html.strip() == (
        '<figure class="figure"><img src="/figures/superposition-pentagon.svg" alt="Five arrows">'
        "<figcaption>Five features in two dimensions.</figcaption></figure>"
    )


def test_inline_rendering_has_no_paragraph():
    html = render_markdown_inline("at most $d$ features")
    assert html.startswith('at most <span class="math inline"><math') and "<p>" not in html


def test_rendered_html_is_cached_by_text(monkeypatch):
    cache.clear()
    calls = []
    real = rendering._parser.render
    monkeypatch.setattr(rendering._parser, "render", lambda text: calls.append(text) or real(text))
    render_markdown("$x$ once")
    render_markdown("$x$ once")
    render_markdown("$x$ twice")
    assert calls == ["$x$ once", "$x$ twice"]


@pytest.mark.parametrize(
    ("text", "line", "message"),
    [
        ("fine $x$\n\nbroken $x^$ here", 3, "cannot render the formula $x^$"),
        ("$$\\sqrtt{2}$$", 1, "uses \\sqrtt, which the renderer does not know"),
        ("one\n\ntwo\n\n![x](figure:nope)", 5, "unknown figure 'nope'"),
    ],
)
def test_check_markdown_names_the_line_and_the_problem(text, line, message):
    with pytest.raises(MarkdownProblem) as caught:
        check_markdown(text)
    assert caught.value.line == line
    assert message in str(caught.value)
