"""The words of a change notice: who made the change and whom to call if it was not you.

An account-takeover victim reads these: they name the company that changed the number
(with its contact) or, for a change the resident made, SpaceCore support.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from django.conf import settings
from django.utils.translation import gettext as _
from django.utils.translation import override

from myspacecore.tenancy.models import Operator
from myspacecore.tenancy.selectors import operator_contact_for_user

if TYPE_CHECKING:
    from accounts.models import User


@dataclass(frozen=True)
class Contact:
    """Whom to call: a name and what is known of how to reach it (pages show it, notices write it)."""

    name: str
    phone: str
    email: str
    hours: str = ""
    is_operator: bool = False

    def line(self) -> str:
        """`name (phone, e-mail)` with what is known."""
        ways = ", ".join(value for value in (self.phone, self.email) if value)
        return f"{self.name}（{ways}）" if ways else self.name


def support_contact() -> Contact:
    """SpaceCore support, as configured (SUPPORT_CONTACT_* settings)."""
    return Contact(
        name=_("SpaceCore サポート"), phone=settings.SUPPORT_CONTACT_PHONE, email=settings.SUPPORT_CONTACT_EMAIL
    )


def operator_contact(operator: Operator) -> Contact:
    return Contact(
        name=operator.name,
        phone=operator.contact_phone,
        email=operator.contact_email,
        hours=operator.contact_hours,
        is_operator=True,
    )


def resident_contact(*, user: User) -> Contact:
    """Whom the resident calls about the account: the management company of the current lease
    (a rental resident), else SpaceCore support."""
    operator = operator_contact_for_user(user=user)
    return operator_contact(operator) if operator else support_contact()


def phone_change_notice(*, operator_id: int | None, language: str) -> tuple[str, str, str]:
    """(SMS text, e-mail subject, e-mail body) for a sign-in number change, in `language`."""
    operator = Operator.objects.filter(pk=operator_id).first() if operator_id else None
    with override(language):
        contact = operator_contact(operator) if operator else support_contact()
        if operator:
            sms_text = _(
                "【SpaceCore】MySpaceCore のサインイン電話番号が %(company)s によって変更されました。"
                "お心当たりがない場合は、すぐに %(contact)s にご連絡ください。"
            ) % {"company": operator.name, "contact": contact.line()}
        else:
            sms_text = _(
                "【SpaceCore】MySpaceCore のサインイン電話番号が変更されました。"
                "お心当たりがない場合は、すぐに %(contact)s にご連絡ください。"
            ) % {"contact": contact.line()}
        subject = _("SpaceCore 電話番号変更のお知らせ")
        body = (
            sms_text.removeprefix(_("【SpaceCore】"))
            + "\n\n"
            + _("ご連絡いただければ、アカウントを停止し、元の電話番号に戻す手続きをご案内します。")
            + "\n\n"
            + _("このメールは送信専用アドレスから送信しています。")
        )
    return sms_text, subject, body
