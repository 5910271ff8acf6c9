"""The site's form renderer: Django's widget templates, the plain `<input>` written without them.

A text, e-mail, tel, number … widget is Django's `input.html` including `attrs.html`: two
template renders, a loop and ~10 nodes for one tag, a fifth of the edit page's template time
(bench/README.md, pages.py). Where the widget's template is still exactly Django's (checked
once per template name against its source, so a project override or a new Django falls back
to the templates), this renderer writes the same tag directly: the same attributes in the same
order, escaped as the templates escape them. Every other widget (select, radio, textarea, the
admin's) renders through the templates as before.
"""

from __future__ import annotations

from django.forms.renderers import TemplatesSetting
from django.template import TemplateDoesNotExist
from django.utils.html import escape
from django.utils.safestring import SafeData, SafeString

INPUT_TEMPLATE = "django/forms/widgets/input.html"
# Django 5.2's input.html and attrs.html, which `_input_tag` writes in Python.
INPUT_SOURCE = (
    '<input type="{{ widget.type }}" name="{{ widget.name }}"'
    "{% if widget.value != None %} value=\"{{ widget.value|stringformat:'s' }}\"{% endif %}"
    '{% include "django/forms/widgets/attrs.html" %}>'
)
ATTRS_SOURCE = (
    "{% for name, value in widget.attrs.items %}{% if value is not False %} {{ name }}"
    "{% if value is not True %}=\"{{ value|stringformat:'s' }}\"{% endif %}{% endif %}{% endfor %}"
)
INCLUDES_INPUT = '{% include "django/forms/widgets/input.html" %}'


def _text(value: object) -> str:
    """`{{ value|stringformat:'s' }}` with autoescape: safe text stays as it is."""
    text = "%s" % (str(value) if isinstance(value, tuple) else value)
    return text if isinstance(value, SafeData) else escape(text)


# How an <input>'s value is written between its quotes (also by form_tags' fixed fields).
value_text = _text


def _input_tag(widget: dict) -> SafeString:
    parts = [f'<input type="{_text(widget["type"])}" name="{_text(widget["name"])}"']
    if widget["value"] != None:  # noqa: E711 - the template's own test
        parts.append(f' value="{_text(widget["value"])}"')
    for name, value in widget["attrs"].items():
        if value is not False:
            parts.append(f" {_text(name)}")
            if value is not True:
                parts.append(f'="{_text(value)}"')
    parts.append(">")
    return SafeString("".join(parts))


class FormRenderer(TemplatesSetting):
    def __init__(self) -> None:
        super().__init__()
        self._plain_input: dict[str, bool] = {}

    def _source(self, template_name: str) -> str | None:
        try:
            return self.get_template(template_name).template.source.strip()  # type: ignore[union-attr]
        except (TemplateDoesNotExist, AttributeError):
            return None

    def _is_plain_input(self, template_name: str) -> bool:
        """Whether `template_name` is Django's own include of its own input.html (asked once per name)."""
        try:
            return self._plain_input[template_name]
        except KeyError:
            plain = (
                self._source(template_name) == INCLUDES_INPUT
                and self._source(INPUT_TEMPLATE) == INPUT_SOURCE
                and self._source("django/forms/widgets/attrs.html") == ATTRS_SOURCE
            )
            self._plain_input[template_name] = plain
            return plain

    def render(self, template_name, context, request=None):
        if template_name.startswith("django/forms/widgets/") and self._is_plain_input(template_name):
            return _input_tag(context["widget"])
        return super().render(template_name, context, request=request)
