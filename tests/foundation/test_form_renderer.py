"""The site's form renderer writes a plain <input> directly: the same HTML as Django's templates."""

from __future__ import annotations

import pytest
from django import forms
from django.forms.renderers import TemplatesSetting, get_default_renderer
from django.forms.widgets import ChoiceWidget
from django.utils.functional import lazy
from django.utils.safestring import mark_safe

from myspacecore.core.form_renderer import FormRenderer

INPUTS = [
    forms.TextInput,
    forms.EmailInput,
    forms.NumberInput,
    forms.URLInput,
    forms.SearchInput,
    forms.TelInput,
    forms.ColorInput,
    forms.HiddenInput,
    forms.DateInput,
    forms.DateTimeInput,
    forms.TimeInput,
    forms.CheckboxInput,
    forms.FileInput,
    lambda **kw: forms.PasswordInput(render_value=True, **kw),
]
OTHERS = [forms.Select, forms.Textarea, forms.RadioSelect, forms.ClearableFileInput]
VALUES = [None, "", "taro", "a\"<b>&'", mark_safe("<i>safe</i>"), 42, 0, True, ("a", "b")]
ATTRS = {
    "required": True,
    "disabled": False,
    "maxlength": 10,
    "placeholder": lazy(lambda: "例 <x>", str)(),  # as a gettext_lazy label is
    "data-safe": mark_safe("&amp;"),
    "aria-describedby": "id_x_helptext id_x_errors",
    'on"x': "<y>",
}


@pytest.mark.parametrize("widget_class", INPUTS + OTHERS)
@pytest.mark.parametrize("value", VALUES)
def test_every_widget_renders_as_djangos_templates_do(widget_class, value):
    widget = widget_class(attrs=ATTRS)
    if isinstance(widget, ChoiceWidget):
        widget.choices = [("a", "A"), ("42", "<42>")]
    templates = widget.render("field", value, {"id": "id_field"}, renderer=TemplatesSetting())
    ours = widget.render("field", value, {"id": "id_field"}, renderer=FormRenderer())
    assert ours == templates


def test_the_site_writes_a_text_input_without_its_templates():
    renderer = get_default_renderer()
    assert isinstance(renderer, FormRenderer)
    assert renderer._is_plain_input(forms.TextInput.template_name)
    assert not renderer._is_plain_input(forms.Select.template_name)


def test_a_changed_input_template_is_rendered_by_the_template(monkeypatch):
    renderer = FormRenderer()
    sources = {
        "django/forms/widgets/text.html": '{% include "django/forms/widgets/input.html" %}',
        "django/forms/widgets/input.html": '<input type="{{ widget.type }}" class="ours">',
    }
    monkeypatch.setattr(renderer, "_source", sources.get)
    assert not renderer._is_plain_input("django/forms/widgets/text.html")
