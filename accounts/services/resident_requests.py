"""What operator staff do for a resident on request, from the console: each writes an audit row.

The state changes themselves are the same services the resident's own pages and the
cleanup commands use (`user_phone_change`, `user_sessions_end`, `unit_settings_reset`);
these functions add the operator's side: the roster follows, and the audit row.
"""

from __future__ import annotations

from django.db import transaction

from accounts.models import User
from accounts.services.profile import user_phone_change
from accounts.services.sessions import user_sessions_end
from myspacecore.core.masking import mask_phone
from myspacecore.tenancy.models import AuditLogEntry, Operator
from myspacecore.tenancy.selectors import operator_contact_for_user
from myspacecore.tenancy.services.audit import audit_log_record


def _resident_operator(*, resident: User, acting_user: User) -> Operator | None:
    """The operator whose log records the action: the staff member's, else the resident's."""
    return acting_user.operator or operator_contact_for_user(user=resident)


@transaction.atomic
def resident_phone_change_on_request(*, resident: User, new_phone: str, acting_user: User) -> User:
    """Change a resident's sign-in number on their request (「管理会社様にご連絡の上…」).

    Goes through `user_phone_change` (same checks, every session ends, the roster entries
    follow, notice to the old number) and adds the audit row. Raises ValidationError keyed
    `phone_number` on a bad number.
    """
    old_phone = resident.phone_number.as_e164 if resident.phone_number else ""
    user = user_phone_change(user=resident, new_phone=new_phone, acting_user=acting_user)
    new_phone_e164 = user.phone_number.as_e164
    audit_log_record(
        actor=acting_user,
        operator=_resident_operator(resident=user, acting_user=acting_user),
        action=AuditLogEntry.Action.PHONE_CHANGE,
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
        target_label=f"#{resident.pk} {resident}",
    )
