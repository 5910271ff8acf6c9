"""Forms check the shape of input; the services apply the rules again and save."""

from __future__ import annotations

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from .models import ApplianceType
from .pins import pin_normalize, pin_validate

DATETIME_LOCAL_FORMAT = "%Y-%m-%dT%H:%M"


class DateTimeLocalInput(forms.DateTimeInput):
    """`<input type="datetime-local">`: the phone's own date-and-time picker."""

    input_type = "datetime-local"

    def __init__(self, attrs=None):
        super().__init__(attrs=attrs, format=DATETIME_LOCAL_FORMAT)


def datetime_local_field(label, help_text) -> forms.DateTimeField:
    return forms.DateTimeField(
        label=label,
        help_text=help_text,
        required=False,
        widget=DateTimeLocalInput(),
        input_formats=[DATETIME_LOCAL_FORMAT, "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M"],
    )


class RemoteSettingForm(forms.Form):
    name = forms.CharField(
        label=_("名前"),
        max_length=50,
        help_text=_("例：リビングのエアコン"),
        error_messages={"required": _("名前を入力してください。")},
    )
    appliance_type = forms.ChoiceField(
        label=_("家電の種類"),
        choices=ApplianceType.choices,
        error_messages={"required": _("家電の種類を選択してください。")},
    )
    maker = forms.CharField(label=_("メーカー"), max_length=50, required=False)
    signal_data = forms.CharField(
        label=_("信号データ"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 4, "spellcheck": "false"}),
        help_text=_("学習した信号、またはプリセットの信号データです。"),
    )


class PinCodeForm(forms.Form):
    label = forms.CharField(
        label=_("名前"),
        max_length=50,
        help_text=_("例：家族用、清掃スタッフ用"),
        error_messages={"required": _("名前を入力してください。")},
    )
    pin = forms.CharField(
        label=_("暗証番号"),
        # Room for full-width digits, spaces and hyphens before normalisation.
        max_length=40,
        error_messages={"required": _("暗証番号を入力してください。")},
        help_text=_("4〜10桁の数字。同じ数字の繰り返しや連続した数字は使えません。保存後は表示されません。"),
        widget=forms.TextInput(attrs={"inputmode": "numeric", "autocomplete": "off", "spellcheck": "false"}),
    )
    valid_from = datetime_local_field(_("有効開始日時"), _("任意。指定しない場合はすぐに使えます。"))
    valid_until = datetime_local_field(
        _("有効終了日時"), _("任意。ゲストや清掃スタッフ用に、期間を限って使えるようにできます。")
    )

    def clean_pin(self) -> str:
        pin = pin_normalize(self.cleaned_data["pin"])
        pin_validate(pin)
        return pin

    def clean(self):
        super().clean()
        cleaned = self.cleaned_data
        valid_from, valid_until = cleaned.get("valid_from"), cleaned.get("valid_until")
        if valid_from and valid_until and valid_until <= valid_from:
            self.add_error("valid_until", ValidationError(_("有効終了日時は有効開始日時より後にしてください。")))
        return cleaned


class PinCodeEditForm(forms.Form):
    """A PIN's label and validity window. The PIN itself is not editable: as locks treat it, a
    new value is a new code (delete this one, add the new one)."""

    label = PinCodeForm.base_fields["label"]
    valid_from = PinCodeForm.base_fields["valid_from"]
    valid_until = PinCodeForm.base_fields["valid_until"]

    def clean(self):
        super().clean()
        cleaned = self.cleaned_data
        valid_from, valid_until = cleaned.get("valid_from"), cleaned.get("valid_until")
        if valid_from and valid_until and valid_until <= valid_from:
            self.add_error("valid_until", ValidationError(_("有効終了日時は有効開始日時より後にしてください。")))
        return cleaned
