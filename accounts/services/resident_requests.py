"""What operator staff do for a resident on request, from the console: each writes an audit row.

The state changes themselves are the same services the resident's own pages and the
cleanup commands use (`user_phone_change`, `user_sessions_end`, `unit_settings_reset`);
these functions add the operator's side: the roster follows, and the audit row.
"""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from accounts.models import User
from accounts.services.profile import user_phone_change
from accounts.services.sessions import user_sessions_end
from myspacecore.core.masking import mask_phone
from myspacecore.tenancy.models import AuditLogEntry, Lease, Operator
from myspacecore.tenancy.selectors import operator_contact_for_user
from myspacecore.tenancy.services.audit import audit_log_record


def _holds_another_operators_lease(*, resident: User, operator: Operator) -> bool:
    return Lease.objects.granting().filter(resident=resident).exclude(unit__property__operator=operator).exists()


def _resident_operator(*, resident: User, acting_user: User) -> Operator | None:
    """The operator whose log records the action: the staff member's, else the resident's."""
    return acting_user.operator or operator_contact_for_user(user=resident)


@transaction.atomic
def resident_phone_change_on_request(*, resident: User, new_phone: str, acting_user: User) -> User:
    """Change a resident's sign-in number on their request (「管理会社様にご連絡の上…」).

    Goes through `user_phone_change` (same checks, every session ends, notice to the old
    number and the address naming the company) and adds the audit row. Staff of an operator
    move only their own operator's entries, and are refused when the account also holds an
    accepted lease in force of another operator: the number is then the resident's to
    change, or SpaceCore support's once both companies agree. Raises ValidationError keyed
    `phone_number` on a bad number or a refusal.
    """
    operator = acting_user.operator
    if operator is not None and _holds_another_operators_lease(resident=resident, operator=operator):
        raise ValidationError({"phone_number": _(
            "この入居者は他の管理会社の入居契約も承認しているため、ここでは電話番号を変更できません。"
            "入居者ご本人が変更するか（ユーザー属性が許す場合）、両社の合意のうえ SpaceCore サポートが変更します。"
        )})
    old_phone = resident.phone_number.as_e164 if resident.phone_number else ""
    user = user_phone_change(user=resident, new_phone=new_phone, acting_user=acting_user, changed_by=operator)
    new_phone_e164 = user.phone_number.as_e164
    audit_log_record(
        actor=acting_user,
        operator=_resident_operator(resident=user, acting_user=acting_user),
        action=AuditLogEntry.Action.PHONE_CHANGE,
        target=user,
        target_label=f"#{user.pk}",
        old_value=mask_phone(old_phone) if old_phone else "",
        new_value=mask_phone(new_phone_e164),
    )
    return user


@transaction.atomic
def resident_sessions_end_on_request(*, resident: User, acting_user: User) -> None:
    """Sign the resident out everywhere (a lost phone, a shared tablet), with an audit row."""
    user_sessions_end(user=resident)
    audit_log_record(
        actor=acting_user,
        operator=_resident_operator(resident=resident, acting_user=acting_user),
        action=AuditLogEntry.Action.SESSIONS_END,
        target=resident,
        target_label=f"#{resident.pk} {resident}",
    )
