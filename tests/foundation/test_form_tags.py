"""`{% load forms %}` writes a form's fields exactly as the three templates it replaced did.

The templates below are the site's `includes/form_fields.html`, `includes/form_errors.html` and
`includes/field.html` as they were (rendered here by Django's own engine): the tags must give
the same bytes for every kind of field, error, label and help text.
"""

# ruff: noqa: E501 - the templates below are kept as they were, line for line
from __future__ import annotations

import datetime

import pytest
from django import forms
from django.core.exceptions import ValidationError
from django.template import Context, Engine
from django.utils.functional import lazy
from django.utils.safestring import mark_safe
from django.utils.translation import override

from accounts.forms.deletion import DeletionAgreeForm
from accounts.forms.profile import CodeForm, EmailForm, NicknameForm, ProfileBasicsForm
from accounts.forms.signin import SignInCodeForm, SignInPhoneForm
from myspacecore.core import form_tags
from smarthome.forms import PinCodeEditForm, PinCodeForm, RemoteSettingForm

FORM_FIELDS = """\
{% include "includes/form_errors.html" %}
{% for field in form.hidden_fields %}{{ field }}{% endfor %}
{% for field in form.visible_fields %}{% include "includes/field.html" %}{% endfor %}
"""
FORM_ERRORS = """\
{% load i18n %}{# The error summary at the top of a form; site.js moves focus here. #}
{% if form.errors %}
<div class="error-summary" role="alert" tabindex="-1" data-error-summary>
  <h2>{% translate "入力内容を確認してください" %}</h2>
  <ul>
    {% for error in form.non_field_errors %}<li>{{ error }}</li>{% endfor %}
    {% for field in form %}{% for error in field.errors %}
    <li><a href="#{% if field.id_for_label %}{{ field.id_for_label }}{% else %}{{ field.auto_id }}_0{% endif %}">{{ field.label }}: {{ error }}</a></li>
    {% endfor %}{% endfor %}
  </ul>
</div>
{% endif %}
"""
FIELD = """\
{% load i18n forms %}{# One field: label, help text, errors, all tied to the input by aria-describedby. #}
<div class="field{% if field.errors %} field-invalid{% endif %}">
  {% if field.widget_type == "checkbox" %}
  <div class="checkbox-row">
    {% field_widget field %}
    <label for="{{ field.id_for_label }}">{{ field.label }}</label>
  </div>
  {% elif field.widget_type == "radioselect" %}
  <fieldset>
    <legend>{{ field.label }}{% if field.field.required %} <span class="required">{% translate "必須" %}</span>{% endif %}</legend>
    {% field_widget field %}
  </fieldset>
  {% else %}
  <label for="{{ field.id_for_label }}">{{ field.label }}{% if field.field.required %} <span class="required">{% translate "必須" %}</span>{% endif %}</label>
  {% field_widget field %}
  {% endif %}
  {% if field.help_text %}<p class="help" id="{{ field.auto_id }}_helptext">{{ field.help_text }}</p>{% endif %}
  {% if field.errors %}
  <ul class="errors" id="{{ field.auto_id }}_errors">
    {% for error in field.errors %}<li>{{ error }}</li>{% endfor %}
  </ul>
  {% endif %}
</div>
"""

ENGINE = Engine(
    loaders=[
        (
            "django.template.loaders.locmem.Loader",
            {
                "includes/form_fields.html": FORM_FIELDS,
                "includes/form_errors.html": FORM_ERRORS,
                "includes/field.html": FIELD,
            },
        )
    ],
    libraries={"forms": "myspacecore.core.form_tags", "i18n": "django.templatetags.i18n"},
)

lazy_text = lazy(lambda text: text, str)


class Every(forms.Form):
    name = forms.CharField(label="お名前 <&>", help_text="全角で & 20 文字まで", max_length=20)
    note = forms.CharField(label=lazy_text("メモ"), required=False, widget=forms.Textarea)
    agree = forms.BooleanField(label="同意する")
    plan = forms.ChoiceField(label="プラン", choices=[("a", "A <1>"), ("b", "B")], widget=forms.RadioSelect)
    size = forms.ChoiceField(label="サイズ", choices=[("s", "S"), ("m", "M")], required=False)
    when = forms.SplitDateTimeField(label="日時", required=False, help_text=mark_safe("<b>例</b>"))
    day = forms.DateField(label="日付", required=False)
    token = forms.CharField(widget=forms.HiddenInput, required=False)
    secret = forms.CharField(widget=forms.HiddenInput, required=False)

    def clean(self):
        if self.cleaned_data.get("name") == "x":
            raise ValidationError(["全体の誤り <1>", "二つ目"])
        return self.cleaned_data


BOUND = [
    {},
    {"name": "x", "agree": "on", "plan": "a"},
    {"name": "x" * 30, "plan": "z", "when_0": "nope", "day": "2026-13-01", "token": "t<>"},
    {"name": "ok", "agree": "on", "plan": "b", "note": "<script>", "size": "m"},
]
SITE_FORMS = [
    NicknameForm,
    EmailForm,
    CodeForm,
    ProfileBasicsForm,
    SignInPhoneForm,
    SignInCodeForm,
    DeletionAgreeForm,
    RemoteSettingForm,
    PinCodeForm,
    PinCodeEditForm,
]


def cases():
    yield "unbound", Every()
    yield "unbound, no ids", Every(auto_id=False)
    yield "initial", Every(initial={"name": "初期値 <>", "day": datetime.date(2026, 12, 3)})
    for i, data in enumerate(BOUND):
        yield f"bound {i}", Every(data)
        yield f"bound {i}, no ids", Every(data, auto_id=False)
    for form_class in SITE_FORMS:
        yield form_class.__name__, form_class()
        yield f"{form_class.__name__} bound empty", form_class({})
        yield f"{form_class.__name__} bound long", form_class(dict.fromkeys(form_class.base_fields, "9" * 300))


CASES = list(cases())


def template(source: str, **context) -> str:
    return ENGINE.from_string(source).render(Context(context))


@pytest.mark.parametrize("language", ["ja", "en"])
@pytest.mark.parametrize(("name", "form"), CASES, ids=[name for name, _ in CASES])
def test_the_tags_write_what_the_templates_wrote(name, form, language):
    with override(language):
        assert form_tags.form_fields(form) == template('{% include "includes/form_fields.html" %}', form=form)
        assert form_tags.form_errors(form) == template('{% include "includes/form_errors.html" %}', form=form)
        for field in form:
            assert form_tags.form_field(field) == template('{% include "includes/field.html" %}', field=field)


def test_the_tags_in_a_template_are_not_escaped_again():
    form = Every({"name": "x"})
    through_template = template("{% load forms %}{% form_fields form %}", form=form)
    assert through_template == form_tags.form_fields(form)
    assert '<div class="error-summary"' in through_template


def test_a_form_missing_from_the_context_renders_nothing():
    assert template("{% load forms %}[{% form_fields form %}{% form_errors form %}{% form_field form.name %}]") == "[]"


# Fixed fields (`FixedFields`): each unbound field written once, its value per request
# ------------------------------------------------------------------------------


def _fixed(form: forms.Form) -> forms.Form:
    form.fields_are_fixed = True  # as the FixedFields mixin declares it for a class
    return form


class Doubled(forms.CharField):
    """A field whose value is not written as given: it cannot be shared."""

    def prepare_value(self, value):
        return f"{value}{value}" if value else value


class Odd(forms.Form):
    twice = Doubled(label="二重")
    number = forms.IntegerField(label="数", required=False)
    day = forms.DateField(label="日付", required=False)


UNBOUND = [
    ("unbound", lambda **initial: Every(initial=initial)),
    ("no ids", lambda **initial: Every(auto_id=False, initial=initial)),
    ("prefixed", lambda **initial: Every(prefix="p", initial=initial)),
    ("no required attribute", lambda **initial: Every(use_required_attribute=False, initial=initial)),
    ("odd", lambda **initial: Odd(initial=initial)),
    *(
        (form_class.__name__, lambda form_class=form_class, **initial: form_class(initial=initial))
        for form_class in SITE_FORMS
    ),
]
VALUES = [
    {},
    {"name": "初期値 <&>", "twice": "ab", "number": 1234, "day": datetime.date(2026, 12, 3), "nickname": "たろう"},
    {"name": mark_safe("<b>safe</b>"), "token": 'q"t', "twice": "z", "nickname": "<script>", "email": "a@b.jp"},
    {"name": "", "nickname": "", "number": 0},
]


@pytest.mark.parametrize("language", ["ja", "en"])
@pytest.mark.parametrize(("name", "make"), UNBOUND, ids=[name for name, _ in UNBOUND])
def test_fixed_fields_write_what_the_templates_wrote_for_every_value(name, make, language):
    """Written once and then filled in, request after request, each with its own value."""
    with override(language):
        for _round in range(2):  # the first writes the fields once, the second reuses them
            for initial in VALUES:
                form = _fixed(make(**initial))
                assert form_tags.form_fields(form) == template('{% include "includes/form_fields.html" %}', form=form)
                for field in form:
                    assert form_tags.form_field(field) == template('{% include "includes/field.html" %}', field=field)


def test_a_fixed_field_shows_this_requests_value_only():
    first = form_tags.form_fields(_fixed(NicknameForm(initial={"nickname": "はなこ"})))
    second = form_tags.form_fields(_fixed(NicknameForm(initial={"nickname": "<じろう>"})))
    assert 'value="はなこ"' in first
    assert 'value="&lt;じろう&gt;"' in second
    assert "はなこ" not in second
    assert "\x00" not in first + second
    # Written from the kept text (around the value), not field by field again.
    kept = [
        text for key, text in form_tags._fixed_fields.items() if key[:2] == (NicknameForm, "nickname") and not key[-1]
    ]
    assert kept
    assert all(isinstance(text, tuple) for text in kept)


def test_a_field_whose_value_is_not_written_as_given_is_not_kept():
    form = _fixed(Odd(initial={"twice": "ab"}))
    assert 'value="abab"' in form_tags.form_field(form["twice"])
    kept = [text for key, text in form_tags._fixed_fields.items() if key[:2] == (Odd, "twice") and not key[-1]]
    assert kept
    assert all(text is None for text in kept)


def test_a_bound_form_is_never_written_from_the_fixed_text():
    form_tags.form_fields(_fixed(NicknameForm(initial={"nickname": "はなこ"})))
    bound = _fixed(NicknameForm({"nickname": ""}))
    html = form_tags.form_fields(bound)
    assert "field-invalid" in html
    assert html == template('{% include "includes/form_fields.html" %}', form=bound)


def test_the_edit_pages_form_has_fixed_fields():
    assert NicknameForm.fields_are_fixed is True
    assert not getattr(Every(), "fields_are_fixed", False)
