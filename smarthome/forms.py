"""Forms check the shape of input; the services apply the rules again and save."""

from __future__ import annotations

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from myspacecore.core.forms import LengthMessages

from .models import ApplianceType, Device
from .pins import pin_normalize, pin_validate

DATETIME_LOCAL_FORMAT = "%Y-%m-%dT%H:%M"
SIGNAL_DATA_MAX_LENGTH = 4000


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


class RemoteSettingForm(LengthMessages, forms.Form):
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
        # A learned infrared code is at most a few KB of text; more is not a signal.
        max_length=SIGNAL_DATA_MAX_LENGTH,
        error_messages={
            "max_length": _("信号データは%(limit_value)s文字以内で入力してください（入力は%(show_value)s文字です）。")
        },
        widget=forms.Textarea(attrs={"rows": 4, "spellcheck": "false"}),
        help_text=_("学習した信号、またはプリセットの信号データです。"),
    )


class PinCodeForm(LengthMessages, forms.Form):
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
        # Masked while typed (works without JavaScript); static/js/reveal.js adds a show/hide
        # button. render_value: after an error elsewhere the PIN typed is kept, not lost.
        widget=forms.PasswordInput(
            render_value=True,
            attrs={
                "inputmode": "numeric",
                "autocomplete": "off",
                "spellcheck": "false",
                "data-reveal": "",
                "data-reveal-show": _("暗証番号を表示"),
                "data-reveal-hide": _("暗証番号を隠す"),
            },
        ),
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


class DeviceAdminForm(forms.ModelForm):
    """A device in the console: it belongs to a unit or to a resident's account, never both nor
    neither (the `device_owner_xor_unit` constraint), said next to the field instead of a 500.

    A field the page shows read-only is not in the form (Django then skips the constraint):
    its stored value is what the rule is checked against.
    """

    class Meta:
        model = Device
        # The admin passes its own field list (get_fields): this is the whole page's set.
        fields = ["kind", "name", "serial_number", "owner_user", "unit"]
        # Serial numbers are unique across every operator: the same words whoever holds the
        # number, so an operator never learns that another one installed it.
        error_messages = {
            "serial_number": {
                "unique": _(
                    "このシリアル番号は登録できません。番号をご確認ください。"
                    "正しい番号で登録できない場合は、SpaceCore サポートにお問い合わせください。"
                )
            }
        }

    def _value(self, name: str):
        return self.cleaned_data.get(name) if name in self.fields else getattr(self.instance, name)

    def clean(self):
        super().clean()
        if "unit" in self.errors or "owner_user" in self.errors:
            return self.cleaned_data  # a choice that did not even parse: its own error says so
        owner, unit = self._value("owner_user"), self._value("unit")
        field = "unit" if "unit" in self.fields else None
        if owner is None and unit is None:
            self.add_error(field, _("住戸を選択してください。住戸に設置するデバイスは、住戸の指定が必要です。"))
        elif owner is not None and unit is not None:
            message = (
                _("入居者がご自身で購入したデバイスです。住戸は設定できません（住戸を空欄にしてください）。")
                if "owner_user" not in self.fields
                else _("所有アカウントか住戸のどちらか一方だけを指定してください。")
            )
            self.add_error(field, message)
        return self.cleaned_data


class PinCodeEditForm(LengthMessages, forms.Form):
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
