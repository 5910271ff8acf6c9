"""Sign-in forms: the phone number (Japanese mobile numbers only) and the SMS code."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _
from phonenumber_field.formfields import PhoneNumberField

from myspacecore.core.phone_numbers import jp_mobile_validate

# Longer than any way of writing a Japanese number, short enough to refuse junk early.
PHONE_MAX_LENGTH = 32
CODE_MAX_LENGTH = 32


class SignInPhoneForm(forms.Form):
    phone_number = PhoneNumberField(
        label=_("携帯電話番号"),
        region="JP",
        max_length=PHONE_MAX_LENGTH,
        help_text=_("例: 090-1234-5678（ハイフンなし・全角数字でも入力できます）"),
        error_messages={
            "required": _("携帯電話番号を入力してください。"),
            "invalid": _("電話番号の形式が正しくありません。例: 090-1234-5678"),
            "max_length": _("電話番号の形式が正しくありません。例: 090-1234-5678"),
        },
        widget=forms.TextInput(attrs={"type": "tel", "autocomplete": "tel", "inputmode": "tel"}),
    )

    def clean_phone_number(self):
        return jp_mobile_validate(self.cleaned_data["phone_number"])


class SignInCodeForm(forms.Form):
    """The shape of the input only; whether it is the code is the verification engine's call."""

    code = forms.CharField(
        label=_("認証コード（6桁）"),
        max_length=CODE_MAX_LENGTH,
        error_messages={
            "required": _("認証コードを入力してください。"),
            "max_length": _("認証コードは6桁の数字です。"),
        },
        widget=forms.TextInput(attrs={"inputmode": "numeric", "autocomplete": "one-time-code"}),
    )
