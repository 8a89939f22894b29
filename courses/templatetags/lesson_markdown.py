"""``{% load lesson_markdown %}``: ``{{ text|markdown }}`` for blocks, ``{{ text|markdown_inline }}`` for one line."""

from django import template

from courses.rendering import render_markdown, render_markdown_inline

register = template.Library()
register.filter("markdown", render_markdown)
register.filter("markdown_inline", render_markdown_inline)
