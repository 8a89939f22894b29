"""Lesson Markdown to safe HTML, with LaTeX rendered server-side to MathML.

Math is turned into MathML here (latex2mathml) so browsers lay it out natively without any script
or network access. Instructor Markdown may not carry raw HTML, and the result is sanitized with nh3
all the same, keeping MathML but never scripts, event handlers or styles. Rendered HTML is cached
by a hash of the source text, since one lesson page renders well over a hundred blocks.
"""

from __future__ import annotations

import hashlib
import logging
import re
from collections.abc import Iterator

import latex2mathml.converter
import nh3
from django.core.cache import cache
from django.urls import reverse
from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe
from markdown_it import MarkdownIt
from markdown_it.token import Token
from mdit_py_plugins.dollarmath import dollarmath_plugin

from courses import figures

logger = logging.getLogger(__name__)

# Bump when the rendering changes, so cached HTML from the old renderer is not served.
RENDERER_VERSION = "2"
CACHE_SECONDS = 24 * 3600
FIGURE_SCHEME = "figure:"
# latex2mathml passes unknown commands through as text, e.g. <mi>\\foo</mi>.
UNKNOWN_COMMAND = re.compile(r">(\\[A-Za-z]+)<")

MATHML_ATTRIBUTES: dict[str, set[str]] = {
    "math": {"xmlns", "display"},
    "mo": {"stretchy", "fence", "form", "accent", "lspace", "rspace", "separator", "largeop", "movablelimits"},
    "mover": {"accent"},
    "munder": {"accentunder"},
    "munderover": {"accent", "accentunder"},
    "mspace": {"width", "height", "depth"},
    "mstyle": {"displaystyle", "scriptlevel"},
    "mtable": {"columnalign", "rowspacing", "columnspacing"},
    "mtd": {"columnalign", "columnspan", "rowspan"},
    "mi": {"mathvariant"},
    "mn": {"mathvariant"},
    "mtext": {"mathvariant"},
    "mfrac": {"linethickness"},
    "mpadded": {"width", "height", "depth", "lspace", "voffset"},
    "menclose": {"notation"},
}
MATHML_TAGS = set(MATHML_ATTRIBUTES) | {
    "mrow", "msub", "msup", "msubsup", "msqrt", "mroot", "mtr", "mphantom", "merror", "ms", "semantics",
}
ALLOWED_TAGS = (nh3.ALLOWED_TAGS | MATHML_TAGS) - {"center", "acronym", "strike", "tt"}
ALLOWED_ATTRIBUTES: dict[str, set[str]] = {
    **MATHML_ATTRIBUTES,
    "a": {"href", "title"},
    "img": {"src", "alt", "title", "width", "height"},
    "figure": {"class"},
    "div": {"class"},
    "span": {"class"},
    "ol": {"start"},
    "th": {"align"},
    "td": {"align"},
    "code": {"class"},
}


class MarkdownProblem(ValueError):
    """Something in lesson Markdown that would not render; ``line`` counts from 1 within the text."""

    def __init__(self, line: int, message: str) -> None:
        super().__init__(message)
        self.line = line


def _latex_to_mathml(latex: str, options: dict) -> str:
    """MathML for ``latex``; a formula the converter cannot read is shown as its escaped source instead."""
    try:
        return latex2mathml.converter.convert(latex, display="block" if options["display_mode"] else "inline")
    except Exception:  # noqa: BLE001 - latex2mathml raises many unrelated types (and RecursionError) for bad input
        delimiter = "$$" if options["display_mode"] else "$"
        return f'<code class="math-source">{escape(delimiter + latex + delimiter)}</code>'


def _hide_figure_paragraphs(state) -> None:
    """A figure alone in its paragraph becomes a <figure>, so drop the <p> around it."""
    tokens = state.tokens
    for i, token in enumerate(tokens[:-2]):
        if token.type != "paragraph_open" or tokens[i + 1].type != "inline":
            continue
        children = [c for c in tokens[i + 1].children or [] if not (c.type == "text" and not c.content.strip())]
        if len(children) == 1 and children[0].type == "image" and _is_figure(children[0]):
            token.hidden = tokens[i + 2].hidden = True


def _is_figure(token: Token) -> bool:
    return str(token.attrs.get("src", "")).startswith(FIGURE_SCHEME)


def _render_image(renderer, tokens: list[Token], idx: int, options, env) -> str:
    token = tokens[idx]
    if not _is_figure(token):
        return renderer.image(tokens, idx, options, env)
    name = str(token.attrs["src"])[len(FIGURE_SCHEME):]
    alt = renderer.renderInlineAsText(token.children or [], options, env)
    if name not in figures.REGISTRY:
        return f'<span class="figure-missing">[missing figure “{escape(name)}”: {escape(alt)}]</span>'
    src = reverse("courses:figure", kwargs={"name": name})
    caption = token.attrs.get("title")
    img = f'<img src="{escape(src)}" alt="{escape(alt)}">'
    if not caption:
        return f'<figure class="figure">{img}</figure>'
    return f'<figure class="figure">{img}<figcaption>{escape(caption)}</figcaption></figure>'


def _build_parser() -> MarkdownIt:
    md = MarkdownIt("commonmark", {"html": False, "typographer": False}).enable("table")
    dollarmath_plugin(md, allow_labels=False, double_inline=True, renderer=_latex_to_mathml)
    md.core.ruler.push("figure_paragraphs", _hide_figure_paragraphs)
    md.add_render_rule("image", _render_image)
    return md


_parser = _build_parser()


def _build_feedback_parser() -> MarkdownIt:
    """Markdown for text that learner code influenced: links, images and references stay literal text."""
    md = MarkdownIt("commonmark", {"html": False, "typographer": False}).enable("table")
    md.disable(["image", "link", "autolink", "reference"])
    dollarmath_plugin(md, allow_labels=False, double_inline=True, renderer=_latex_to_mathml)
    return md


_feedback_parser = _build_feedback_parser()
FEEDBACK_TAGS = ALLOWED_TAGS - {"a", "img"}


def _sanitize(html: str, tags: set[str] = ALLOWED_TAGS) -> str:
    return nh3.clean(
        html,
        tags=tags,
        attributes=ALLOWED_ATTRIBUTES,
        url_schemes={"http", "https", "mailto"},
        link_rel="noopener noreferrer",
    )


def _valid_unicode(text: str) -> str:
    """``text`` with any lone surrogate replaced, since neither hashing nor the sanitizer accepts one."""
    return text.encode("utf-8", "replace").decode("utf-8")


def _render_safely(render, text: str, tags: set[str]) -> str:
    """Rendered and sanitized HTML; should the renderer fail on some text, the text is shown escaped instead."""
    try:
        return _sanitize(render(text), tags)
    except Exception:  # noqa: BLE001 - a page or an API response must never fail on the text it shows
        logger.exception("could not render Markdown; showing it as plain text")
        return f'<pre class="unrendered">{escape(text)}</pre>'


def _cached(kind: str, text: str, render, tags: set[str] = ALLOWED_TAGS) -> SafeString:
    text = _valid_unicode(text)
    digest = hashlib.sha256(text.encode()).hexdigest()
    key = f"courses:md:{RENDERER_VERSION}:{kind}:{digest}"
    html = cache.get(key)
    if html is None:
        html = _render_safely(render, text, tags)
        cache.set(key, html, CACHE_SECONDS)
    return mark_safe(html)  # noqa: S308 - sanitized by nh3, or escaped


def render_markdown(text: str) -> SafeString:
    """Markdown blocks (paragraphs, lists, display math) to sanitized HTML."""
    return _cached("block", text, _parser.render)


def render_markdown_inline(text: str) -> SafeString:
    """One line of Markdown (a choice, a label) to sanitized HTML without a surrounding <p>."""
    return _cached("inline", text, _parser.renderInline)


def render_feedback(text: str) -> SafeString:
    """Grading feedback, which quotes learner code's exceptions and output, to sanitized HTML.

    Emphasis, code and math render; links, images and link references are shown as the text they are,
    and the sanitizer drops any <a> or <img> besides, so learner text never becomes a live external
    link or image in their own (or staff's) view.
    """
    return _cached("feedback", text, _feedback_parser.render, FEEDBACK_TAGS)


def _walk(tokens: list[Token], line: int = 0) -> Iterator[tuple[Token, int]]:
    for token in tokens:
        here = token.map[0] if token.map else line
        yield token, here
        if token.children:
            yield from _walk(token.children, here)


def _formula_problem(latex: str) -> str | None:
    try:
        mathml = latex2mathml.converter.convert(latex)
    except Exception as exc:  # latex2mathml raises many unrelated types for bad input
        detail = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
        return f"cannot render the formula ${latex}$ ({detail})"
    unknown = UNKNOWN_COMMAND.search(mathml)
    if unknown:
        return f"the formula ${latex}$ uses {unknown.group(1)}, which the renderer does not know"
    return None


def check_markdown(text: str) -> None:
    """Raise MarkdownProblem for the first formula or figure in ``text`` that would not render."""
    for token, line in _walk(_parser.parse(text)):
        if token.type.startswith("math_"):
            problem = _formula_problem(token.content.strip())
            if problem:
                raise MarkdownProblem(line + 1, problem)
        elif token.type == "image" and _is_figure(token):
            name = str(token.attrs["src"])[len(FIGURE_SCHEME):]
            if name not in figures.REGISTRY:
                known = ", ".join(sorted(figures.REGISTRY))
                raise MarkdownProblem(line + 1, f"unknown figure {name!r} (known figures: {known})")
