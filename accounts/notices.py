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
        return _("%(name)s（%(ways)s）") % {"name": self.name, "ways": ways} if ways else self.name


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


def _contact(operator_id: int | None) -> tuple[Operator | None, Contact]:
    operator = Operator.objects.filter(pk=operator_id).first() if operator_id else None
    return operator, (operator_contact(operator) if operator else support_contact())


def resident_contact_operator_id(*, user: User, changed_by: Operator | None = None) -> int | None:
    """The company a notice about `user` names as whom to call (None: SpaceCore support).

    The company that made the change, else that of the resident's current lease: a rental
    resident calls the management company, an owner SpaceCore support.
    """
    if changed_by is not None:
        return changed_by.pk
    operator = operator_contact_for_user(user=user)
    return operator.pk if operator else None


def _what_to_do(contact: Contact, restore: str) -> str:
    return (
        _("お心当たりがない場合は、第三者があなたのアカウントを操作した可能性があります。")
        + "\n"
        + _("すぐに次の連絡先にご連絡ください: %(contact)s") % {"contact": contact.line()}
        + "\n"
        + restore
    )


def phone_change_notice(
    *, operator_id: int | None, language: str, contact_operator_id: int | None = None
) -> tuple[str, str, str]:
    """(SMS text, e-mail subject, e-mail body) for a sign-in number change, in `language`.

    `operator_id`: the company that changed it from the console (named, and the one to call).
    Otherwise the resident changed it, and `contact_operator_id` is whom to call (their
    management company; None: SpaceCore support).
    """
    with override(language):
        operator, contact = _contact(operator_id or contact_operator_id)
        if operator_id and operator:
            sms_text = _(
                "【SpaceCore】MySpaceCore のサインイン電話番号が %(company)s によって変更されました。"
                "お心当たりがない場合は、すぐに %(contact)s にご連絡ください。"
            ) % {"company": operator.name, "contact": contact.line()}
            changed = _("MySpaceCore のサインイン電話番号が %(company)s によって変更されました。") % {
                "company": operator.name
            }
        else:
            sms_text = _(
                "【SpaceCore】MySpaceCore のサインイン電話番号が変更されました。"
                "お心当たりがない場合は、すぐに %(contact)s にご連絡ください。"
            ) % {"contact": contact.line()}
            changed = _("MySpaceCore のサインイン電話番号が変更されました。")
        subject = _("SpaceCore 電話番号変更のお知らせ")
        restore = _("ご連絡いただければ、アカウントを停止し、元の電話番号に戻す手続きをご案内します。")
        body = (
            changed
            + "\n\n"
            + _what_to_do(contact, restore)
            + "\n\n"
            + _("このメールは送信専用アドレスから送信しています。")
        )
    return sms_text, subject, body


def email_change_notice(*, language: str, contact_operator_id: int | None = None) -> tuple[str, str]:
    """(subject, body) telling the old address that the account's address changed, in `language`:
    whom to call (the resident's management company, else SpaceCore support) and what follows."""
    with override(language):
        _operator, contact = _contact(contact_operator_id)
        subject = _("SpaceCore メールアドレス変更のお知らせ")
        restore = _("ご連絡いただければ、アカウントを停止し、元のメールアドレスに戻す手続きをご案内します。")
        body = (
            _("MySpaceCore に登録されたメールアドレスが変更されました。")
            + "\n\n"
            + _what_to_do(contact, restore)
            + "\n\n"
            + _("このメールは送信専用アドレスから送信しています。")
        )
    return subject, body
