"""Forms of accounts' pages in the operator console: they check the shape of input, services do the rest."""

from __future__ import annotations

from django import forms
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from accounts.models import StaffAccount
from accounts.services.staff import USERNAME_UNAVAILABLE
from myspacecore.tenancy.roles import OPERATOR_ADMIN_GROUP, OPERATOR_STAFF_GROUP

ROLE_CHOICES = [
    (OPERATOR_ADMIN_GROUP, _("事業者管理者（名簿とスタッフの管理）")),
    (OPERATOR_STAFF_GROUP, _("事業者スタッフ（名簿の閲覧と入居者対応）")),
]


class ResidentPhoneChangeForm(forms.Form):
    phone_number = forms.CharField(
        label=_("新しい電話番号"),
        max_length=32,
        help_text=_("例: 090-1234-5678。変更すると、入居者のすべてのセッションが終了します。"),
    )
    confirm = forms.BooleanField(
        label=_("入居者ご本人からの依頼であることを確認しました"),
        error_messages={"required": _("ご本人からの依頼であることを確認してください。")},
    )


class StaffAccountForm(forms.ModelForm):
    """Add or change a staff account: a role among the operator groups, never a superuser."""

    role = forms.ChoiceField(label=_("権限"), choices=ROLE_CHOICES)
    password1 = forms.CharField(label=_("パスワード"), widget=forms.PasswordInput, strip=False, required=False)
    password2 = forms.CharField(label=_("パスワード（確認）"), widget=forms.PasswordInput, strip=False, required=False)

    class Meta:
        model = StaffAccount
        fields = ["username", "operator", "email", "is_active"]
        error_messages = {"username": {"unique": USERNAME_UNAVAILABLE}}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        adding = self.instance.pk is None
        if adding:
            self.fields["password1"].required = True
            self.fields["password2"].required = True
        else:
            del self.fields["password1"]
            del self.fields["password2"]
            self.fields["role"].initial = (
                self.instance.groups.filter(name__in=dict(ROLE_CHOICES)).values_list("name", flat=True).first()
            )
        if "username" in self.fields:
            self.fields["username"].required = True
        if "operator" in self.fields:
            self.fields["operator"].required = True

    def clean(self):
        super().clean()
        cleaned = self.cleaned_data
        if "password1" not in self.fields or not cleaned.get("password1"):
            return cleaned
        if cleaned["password1"] != cleaned.get("password2"):
            self.add_error("password2", _("パスワードが一致しません。"))
        try:
            # The same validators the service runs, here so the message sits next to the field.
            validate_password(cleaned["password1"], user=StaffAccount(username=cleaned.get("username")))
        except ValidationError as error:
            self.add_error("password1", error)
        return cleaned
