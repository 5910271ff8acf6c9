"""`{% load forms %}`: a form's fields as the site writes them, in Python instead of three included templates.

    {% form_fields form %}      the error summary, the hidden fields, then each visible field
    {% form_errors form %}      the error summary alone (nothing when the form has no errors)
    {% form_field field %}      one field: label (and 必須), widget, help text and errors
    {% field_widget field %}    the widget alone, tied to its help and errors by aria-describedby

Each field was an `{% include %}` of a template of ~25 nodes inside an include of the summary
and a loop: ~0.27 ms of CPU for a form of one field, a sixth of the edit page's own work
(bench/README.md, pages.py). These write the same HTML, byte for byte, escaped as the
templates escaped it: tests/foundation/test_form_tags.py renders the templates they replace
beside them for every kind of field, error and label. As a template's variable, a form or field
that is missing from the context renders nothing.
"""

from __future__ import annotations

from typing import Any

from django import template
from django.forms import BaseForm, BoundField
from django.utils.html import conditional_escape
from django.utils.safestring import SafeString
from django.utils.translation import gettext

register = template.Library()


def _text(value: Any) -> str:
    """`{{ value }}` with autoescape: a lazy text made str, escaped unless it is safe."""
    return conditional_escape(value)


@register.simple_tag
def field_widget(field: BoundField) -> SafeString:
    described_by = []
    if field.help_text:
        described_by.append(f"{field.auto_id}_helptext")
    if field.errors:
        described_by.append(f"{field.auto_id}_errors")
    attrs: dict[str, str | bool] = {}
    if described_by:
        attrs["aria-describedby"] = " ".join(described_by)
    if field.errors:
        attrs["aria-invalid"] = "true"
    return field.as_widget(attrs=attrs)


@register.simple_tag
def form_errors(form: BaseForm) -> SafeString:
    """The summary at the top of a form (site.js moves focus there): each error, a field's
    linking to its input."""
    if not isinstance(form, BaseForm):
        return SafeString("")
    if not form.errors:
        return SafeString("\n\n")
    parts = [
        '\n\n<div class="error-summary" role="alert" tabindex="-1" data-error-summary>\n  <h2>',
        _text(gettext("入力内容を確認してください")),
        "</h2>\n  <ul>\n    ",
    ]
    for error in form.non_field_errors():
        parts += ["<li>", _text(error), "</li>"]
    parts.append("\n    ")
    for field in form:
        for error in field.errors:
            anchor = _text(field.id_for_label) if field.id_for_label else f"{_text(field.auto_id)}_0"
            parts += ['\n    <li><a href="#', anchor, '">', _text(field.label), ": ", _text(error), "</a></li>\n    "]
    parts.append("\n  </ul>\n</div>\n\n")
    return SafeString("".join(parts))


@register.simple_tag
def form_field(field: BoundField) -> SafeString:
    """One field: its label (a legend for radio buttons, after the box for a checkbox), the
    widget, the help text and the errors, tied together by aria-describedby."""
    if not isinstance(field, BoundField):
        return SafeString("")
    widget_type = field.widget_type
    label = _text(field.label)
    required = f' <span class="required">{_text(gettext("必須"))}</span>' if field.field.required else ""
    parts = ['\n<div class="field', " field-invalid" if field.errors else "", '">\n  ']
    if widget_type == "checkbox":
        parts += [
            '\n  <div class="checkbox-row">\n    ',
            field_widget(field),
            f'\n    <label for="{_text(field.id_for_label)}">{label}</label>\n  </div>\n  ',
        ]
    elif widget_type == "radioselect":
        parts += [
            f"\n  <fieldset>\n    <legend>{label}{required}</legend>\n    ",
            field_widget(field),
            "\n  </fieldset>\n  ",
        ]
    else:
        parts += [
            f'\n  <label for="{_text(field.id_for_label)}">{label}{required}</label>\n  ',
            field_widget(field),
            "\n  ",
        ]
    parts.append("\n  ")
    if field.help_text:
        parts.append(f'<p class="help" id="{_text(field.auto_id)}_helptext">{_text(field.help_text)}</p>')
    parts.append("\n  ")
    if field.errors:
        parts.append(f'\n  <ul class="errors" id="{_text(field.auto_id)}_errors">\n    ')
        parts += [f"<li>{_text(error)}</li>" for error in field.errors]
        parts.append("\n  </ul>\n  ")
    parts.append("\n</div>\n")
    return SafeString("".join(parts))


@register.simple_tag
def form_fields(form: BaseForm) -> SafeString:
    """The whole form's fields: the error summary, the hidden fields, each visible field."""
    if not isinstance(form, BaseForm):
        return SafeString("")
    parts = [form_errors(form), "\n"]
    parts += [_text(field) for field in form.hidden_fields()]
    parts.append("\n")
    parts += [form_field(field) for field in form.visible_fields()]
    parts.append("\n")
    return SafeString("".join(parts))
