"""Our words for a text that is too long or too short, on every form that mixes this in.

Django's stock message ("Ensure this value has at most 50 characters (it has 60).", or its
Japanese translation) names no field and is not how we speak to a resident. A form that
mixes in `LengthMessages` gets, for each field that does not set its own, a message that
names the field and both counts, in the language of the request.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.utils.translation import gettext as _

if TYPE_CHECKING:
    from django.forms import Field


def length_messages(label: object) -> dict[str, str]:
    """`max_length` / `min_length` messages naming `label`; Django fills in the counts."""
    name = str(label).replace("%", "%%")
    return {
        "max_length": _(
            "「%(label)s」は%(limit_value)s文字以内で入力してください（入力は%(show_value)s文字です）。"
        ).replace("%(label)s", name),
        "min_length": _(
            "「%(label)s」は%(limit_value)s文字以上で入力してください（入力は%(show_value)s文字です）。"
        ).replace("%(label)s", name),
    }


class LengthMessages:
    """Form mixin (before `forms.Form`): our length messages for every field without its own.

    Only a bound form validates, so only a bound form gets them (the edit page's GET does not
    translate messages it never shows)."""

    if TYPE_CHECKING:
        fields: dict[str, Field]
        is_bound: bool

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if not self.is_bound:
            return
        for field in self.fields.values():
            for code, message in length_messages(field.label).items():
                field.error_messages.setdefault(code, message)


class FixedFields:
    """Form mixin: every instance has the class's fields as declared, and nothing changes them
    afterwards (no `__init__` that sets a label, a help text, a widget or `required` per
    instance, no view that does). `{% form_field %}` then writes each unbound field once per
    language and form options and only its value per request (`myspacecore.core.form_tags`)."""

    fields_are_fixed = True
