"""The admin's choice of a variant generator for a worked example or practice problem."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.html import format_html_join

from grader.attempts.variants.registry import all_generators, generator_choices, validate_generator


def _generator_help() -> str:
    return format_html_join(
        "",
        "<p><code>{}</code>: parameters {} (defaults shown); the statement shows {}; fills answer parts {}.</p>",
        (
            (slug, generator.defaults, ", ".join("{{%s}}" % name for name in generator.placeholders), ", ".join(generator.answer_keys))
            for slug, generator in sorted(all_generators().items())
        ),
    )


class GeneratorChoiceForm(forms.ModelForm):
    """Offers the registered generators and checks the parameters and the saved answer parts against the chosen one."""

    generator = forms.ChoiceField(choices=generator_choices, required=False)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["generator"].help_text = _generator_help()

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        part_keys = {part.key for part in self.instance.parts.all()} if self.instance.pk else None
        validate_generator(data.get("generator", ""), data.get("generator_params") or {}, part_keys, data.get("statement", ""))
        return data
