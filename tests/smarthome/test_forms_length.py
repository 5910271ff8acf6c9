"""The smart-home forms speak of a too-long name in our words, naming the field (issue 16.7)."""

from __future__ import annotations

import pytest
from django.utils import translation

from smarthome.forms import PinCodeEditForm, PinCodeForm, RemoteSettingForm

STOCK = ("Ensure this value", "この値は", "has at most")


@pytest.mark.parametrize(
    ("form_class", "data", "field", "expected"),
    [
        (
            RemoteSettingForm,
            {"name": "あ" * 51, "appliance_type": "tv", "maker": "メ" * 51},
            "name",
            "「名前」は50文字以内で入力してください（入力は51文字です）。",
        ),
        (
            RemoteSettingForm,
            {"name": "テレビ", "appliance_type": "tv", "maker": "メ" * 51},
            "maker",
            "「メーカー」は50文字以内で入力してください（入力は51文字です）。",
        ),
        (
            PinCodeForm,
            {"label": "あ" * 51, "pin": "482915"},
            "label",
            "「名前」は50文字以内で入力してください（入力は51文字です）。",
        ),
        (
            PinCodeEditForm,
            {"label": "あ" * 51},
            "label",
            "「名前」は50文字以内で入力してください（入力は51文字です）。",
        ),
    ],
)
def test_too_long_smart_home_fields_get_our_wording(form_class, data, field, expected):
    with translation.override("ja"):
        form = form_class(data)
        assert not form.is_valid()
        assert form.errors[field] == [expected]
        assert not any(stock in str(form.errors) for stock in STOCK)


def test_the_english_pages_say_it_in_english():
    with translation.override("en"):
        form = PinCodeEditForm({"label": "a" * 51})
        assert not form.is_valid()
        assert form.errors["label"] == ["“Name” can be at most 50 characters (you entered 51)."]
