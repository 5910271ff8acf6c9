"""The audit log of the operator console: one row per action taken for a resident or the roster."""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.db import transaction

from myspacecore.tenancy.models import AuditLogEntry, Operator

if TYPE_CHECKING:
    from accounts.models import User


@transaction.atomic
def audit_log_record(
    *,
    actor: User,
    action: str,
    target_label: str,
    operator: Operator | None = None,
    old_value: str = "",
    new_value: str = "",
) -> AuditLogEntry:
    """Write one audit row. Callers pass values already masked (`mask_phone`), never in clear.

    Called inside the caller's transaction, so the row exists exactly when the action
    it records was committed.
    """
    entry = AuditLogEntry(
        operator=operator,
        actor=actor,
        actor_label=str(actor)[:150],
        action=action,
        target_label=target_label[:200],
        old_value=old_value[:200],
        new_value=new_value[:200],
    )
    entry.full_clean()
    entry.save()
    return entry
