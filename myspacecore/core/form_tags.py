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

A form that promises its fields are the same for every instance (`fields_are_fixed`, the
`FixedFields` mixin of `myspacecore.core.forms`) has each unbound field written once per
language and form options: the text around the `<input>`'s value is kept, and each request
writes only its own value into it (with LengthMessages' bound-only messages, the edit page
1.82 -> 1.70 ms in-process).
"""

from __future__ import annotations

from typing import Any

from django import template
from django.core.signals import setting_changed
from django.forms import BaseForm, BoundField
from django.forms.widgets import Input
from django.utils.html import conditional_escape
from django.utils.safestring import SafeString
from django.utils.translation import get_language, gettext

from myspacecore.core.form_renderer import value_text

register = template.Library()

# Stands in for a value while a field is written once; NUL never occurs in our HTML.
_VALUE = "\x00value\x00"
_UNSET = object()
# (form class, field, form options, language, whether the value is empty) -> the field's text
# around its value, or the whole text (no value), or None: the field cannot be shared.
_fixed_fields: dict[tuple, tuple[str, str] | str | None] = {}
MAX_FIXED_FIELDS = 256


def _settings_changed(**_kwargs) -> None:
    _fixed_fields.clear()  # tests change languages, templates and renderers


setting_changed.connect(_settings_changed, dispatch_uid="form_tags_fixed_fields")


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
    form = field.form
    if getattr(form, "fields_are_fixed", False) and not form.is_bound:
        fixed = _fixed_field(field)
        if fixed is not None:
            return fixed
    return _form_field(field)


def _fixed_field(field: BoundField) -> SafeString | None:
    """An unbound field of a form with fixed fields, from the text written once; None when its
    widget's value is not written as it is (anything but a plain <input>: a checkbox, a select)."""
    widget = field.field.widget
    if type(widget).get_context is not Input.get_context:  # a checkbox's "checked" comes from its value
        return None
    value = widget.format_value(field.value())
    form = field.form
    key = (
        type(form),
        field.name,
        form.prefix,
        form.auto_id,
        form.use_required_attribute,
        type(form.renderer),
        get_language(),
        value is None,
    )
    try:
        fixed = _fixed_fields[key]
    except KeyError:
        fixed = _fixed_field_text(field, empty=value is None)
        if len(_fixed_fields) < MAX_FIXED_FIELDS:
            _fixed_fields[key] = fixed
    if fixed is None or isinstance(fixed, str):
        return None if fixed is None else SafeString(fixed)
    before, after = fixed
    return SafeString(f"{before}{value_text(value)}{after}")


def _fixed_field_text(field: BoundField, *, empty: bool) -> tuple[str, str] | str | None:
    """The field written once: whole when its value is empty, else around a stand-in value
    (None if the stand-in does not come out once and as it went in)."""
    if empty:
        return str(_form_field(field))
    if field.field.widget.format_value(field.field.prepare_value(_VALUE)) != _VALUE:
        return None
    saved = field.__dict__.pop("initial", _UNSET)  # BoundField.initial is a cached_property
    field.__dict__["initial"] = _VALUE
    try:
        pieces = str(_form_field(field)).split(_VALUE)
    finally:
        del field.__dict__["initial"]
        if saved is not _UNSET:
            field.__dict__["initial"] = saved
    return (pieces[0], pieces[1]) if len(pieces) == 2 else None


def _form_field(field: BoundField) -> SafeString:
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
