"""Forms of the MySpaceCore profile: wizard steps and the edit page. They check the input's shape.

The rules themselves (nickname counting, birth-year range, address availability) come
from `accounts.services.profile`, so a form and a service can never disagree.
"""

from __future__ import annotations

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _
from phonenumber_field.formfields import PhoneNumberField

from accounts.forms.japanese_era import birth_year_label
from accounts.models import Profile, User
from accounts.services.profile import (
    birth_year_range,
    nickname_clean,
)
from myspacecore.core.forms import FixedFields, LengthMessages
from myspacecore.core.phone_numbers import jp_mobile_validate

NICKNAME_HELP = _("10文字以内で入力してください（絵文字も1文字と数えます）。")


class NicknameField(forms.CharField):
    def __init__(self, **kwargs):
        # No max_length: the browser would count UTF-16 units, not characters as a person does.
        kwargs.setdefault("label", _("ニックネーム"))
        kwargs.setdefault("help_text", NICKNAME_HELP)
        kwargs.setdefault("strip", False)
        kwargs.setdefault("error_messages", {"required": _("ニックネームを入力してください。")})
        super().__init__(**kwargs)
        self.widget.attrs.update({"autocomplete": "nickname"})

    def clean(self, value):
        return nickname_clean(super().clean(value))


class ProfileBasicsForm(LengthMessages, forms.Form):
    """Wizard step 1: nickname, birth year, gender."""

    nickname = NicknameField()
    birth_year = forms.TypedChoiceField(
        label=_("生年"), coerce=int, choices=(), error_messages={"required": _("生年を選択してください。")}
    )
    gender = forms.ChoiceField(
        label=_("性別"),
        choices=Profile.Gender.choices,
        widget=forms.RadioSelect,
        error_messages={"required": _("性別を選択してください（「回答しない」も選べます）。")},
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # Built per request: the range moves with the calendar.
        birth_year = self.fields["birth_year"]
        # `fields` is typed as plain Fields; this one is the TypedChoiceField declared above.
        assert isinstance(birth_year, forms.TypedChoiceField)
        birth_year.choices = [("", _("選択してください")), *((y, birth_year_label(y)) for y in birth_year_range())]
        birth_year.help_text = _("登録後は変更できません。")
        self.fields["gender"].help_text = _("登録後は変更できません。")


class NicknameForm(FixedFields, LengthMessages, forms.Form):
    """The edit page: the nickname is the only editable basic field (birth year and gender are not here)."""

    nickname = NicknameField()


class EmailForm(LengthMessages, forms.Form):
    email = forms.EmailField(
        label=_("メールアドレス"),
        max_length=254,
        error_messages={
            "required": _("メールアドレスを入力してください。"),
            "invalid": _("メールアドレスの形式が正しくありません。例: taro@example.jp"),
        },
        widget=forms.EmailInput(attrs={"autocomplete": "email", "inputmode": "email"}),
    )

    def __init__(self, *args, current: str | None = None, **kwargs):
        # The account's address now: typing it again sends no code (there is nothing to prove).
        self.current = current
        super().__init__(*args, **kwargs)

    # Whether another account uses the address is checked only after its code is verified:
    # refusing it here would tell anybody which addresses have an account.
    def clean_email(self) -> str:
        email = self.cleaned_data["email"].strip()
        if self.current and email.lower() == self.current.lower():
            raise ValidationError(
                _("現在のメールアドレスと同じです。認証コードは送信していません。別のアドレスを入力してください。"),
                code="same",
            )
        return email


class RegisterEmailForm(EmailForm):
    """Wizard step 2: the address is optional (the step can be skipped), so no 必須 badge."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["email"].required = False
        self.fields["email"].help_text = _(
            "任意です。登録しない場合は「メールアドレスを登録しない」をタップしてください。"
        )

    def clean_email(self) -> str:
        if not self.cleaned_data["email"].strip():
            raise ValidationError(
                _("メールアドレスを入力するか、「メールアドレスを登録しない」をタップしてください。"), code="required"
            )
        return super().clean_email()


class PhoneForm(LengthMessages, forms.Form):
    phone_number = PhoneNumberField(
        label=_("新しい電話番号"),
        region="JP",
        help_text=_("例: 090-1234-5678"),
        error_messages={
            "invalid": _("正しい電話番号を入力してください。"),
            "required": _("新しい電話番号を入力してください。"),
        },
        widget=forms.TextInput(attrs={"type": "tel", "autocomplete": "tel", "inputmode": "tel"}),
    )

    def __init__(self, *args, user: User, **kwargs):
        self.user = user
        super().__init__(*args, **kwargs)

    def clean_phone_number(self):
        phone = jp_mobile_validate(self.cleaned_data["phone_number"])
        if self.user.phone_number and phone == self.user.phone_number:
            raise ValidationError(_("現在の電話番号と同じです。"), code="same")
        # Another account's number is refused only after the code proves the number (no oracle).
        return phone


class CodeForm(LengthMessages, forms.Form):
    # Any text is accepted here: the code engine normalises it and treats the rest as wrong.
    code = forms.CharField(
        label=_("認証コード"),
        max_length=32,
        help_text=_("6桁の数字を入力してください。"),
        error_messages={"required": _("認証コードを入力してください。")},
        widget=forms.TextInput(attrs={"autocomplete": "one-time-code", "inputmode": "numeric"}),
    )
