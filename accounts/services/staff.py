"""Staff accounts of an operator, managed by its operator admin in the console."""

from __future__ import annotations

from django.contrib.auth.models import Group
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from accounts.models import User
from myspacecore.tenancy.models import AuditLogEntry, Operator
from myspacecore.tenancy.roles import OPERATOR_GROUPS
from myspacecore.tenancy.services.audit import audit_log_record


def _role_validate(role: str) -> Group:
    if role not in OPERATOR_GROUPS:
        raise ValidationError({"role": _("権限を選択してください。")})
    return Group.objects.get(name=role)


@transaction.atomic
def staff_account_create(*, operator: Operator, username: str, password: str, role: str, acting_user: User) -> User:
    """Create a staff account of `operator` with one role (operator_admin / operator_staff).

    Never a superuser, never without an operator: what the new account sees is exactly
    its operator's data, whoever creates it.
    """
    group = _role_validate(role)
    staff = User(username=username.strip(), operator=operator, is_staff=True, is_superuser=False)
    try:
        validate_password(password, user=staff)
    except ValidationError as error:
        raise ValidationError({"password1": error.messages}) from None
    staff.set_password(password)
    staff.full_clean()
    staff.save()
    staff.groups.set([group])
    audit_log_record(
        actor=acting_user,
        operator=operator,
        action=AuditLogEntry.Action.STAFF_CREATE,
        target=staff,
        target_label=staff.get_username(),
        new_value=role,
    )
    return staff


@transaction.atomic
def staff_account_update(*, staff: User, role: str, is_active: bool, acting_user: User) -> User:
    """Change a staff account's role and whether it may sign in."""
    group = _role_validate(role)
    # The stored row, not `staff`: a bound admin form has already assigned the new values.
    stored = User.objects.select_for_update().get(pk=staff.pk)
    old_roles = ",".join(sorted(stored.groups.values_list("name", flat=True)))
    old_value = f"{old_roles} active={stored.is_active}"
    staff.is_active = is_active
    staff.full_clean(exclude=["password"])
    staff.save(update_fields=["is_active"])
    staff.groups.set([group])
    audit_log_record(
        actor=acting_user,
        operator=staff.operator,
        action=AuditLogEntry.Action.STAFF_UPDATE,
        target=staff,
        target_label=staff.username or f"#{staff.pk}",
        old_value=old_value,
        new_value=f"{role} active={is_active}",
    )
    return staff
