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
    """Form mixin (before `forms.Form`): our length messages for every field without its own."""

    if TYPE_CHECKING:
        fields: dict[str, Field]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for field in self.fields.values():
            for code, message in length_messages(field.label).items():
                field.error_messages.setdefault(code, message)
