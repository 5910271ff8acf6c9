"""Staff accounts of an operator, managed by its operator admin in the console."""

from __future__ import annotations

from django.contrib.auth.models import Group
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from accounts.models import User
from myspacecore.core.masking import mask_email
from myspacecore.tenancy.models import AuditLogEntry, Operator
from myspacecore.tenancy.roles import OPERATOR_GROUPS
from myspacecore.tenancy.services.audit import audit_log_record

# Usernames are unique across every operator: the same words whoever holds the name (the
# console's form shows them too), so an operator never learns another one's staff names.
USERNAME_UNAVAILABLE = gettext_lazy(
    "このユーザー名は使用できません。別のユーザー名を入力してください。"
    "同じ名前で登録する必要がある場合は、SpaceCore サポートにお問い合わせください。"
)


def _role_validate(role: str) -> Group:
    if role not in OPERATOR_GROUPS:
        raise ValidationError({"role": _("権限を選択してください。")})
    return Group.objects.get(name=role)


@transaction.atomic
def staff_account_create(
    *, operator: Operator, username: str, password: str, role: str, acting_user: User, email: str = ""
) -> User:
    """Create a staff account of `operator` with one role (operator_admin / operator_staff).

    Never a superuser, never without an operator: what the new account sees is exactly
    its operator's data, whoever creates it. `email`: where notices about the account's
    sign-in go (e.g. failed passwords throttling it).
    """
    group = _role_validate(role)
    staff = User(username=username.strip(), operator=operator, email=email, is_staff=True, is_superuser=False)
    try:
        validate_password(password, user=staff)
    except ValidationError as error:
        raise ValidationError({"password1": error.messages}) from None
    staff.set_password(password)
    if User.objects.filter(username=staff.username).exists():
        raise ValidationError({"username": USERNAME_UNAVAILABLE}, code="unique")
    staff.full_clean()
    staff.save()
    staff.groups.set([group])
    audit_log_record(
        actor=acting_user,
        operator=operator,
        action=AuditLogEntry.Action.STAFF_CREATE,
        target_label=staff.get_username(),
        new_value=role,
    )
    return staff


@transaction.atomic
def staff_account_update(
    *, staff: User, role: str, is_active: bool, acting_user: User, email: str | None = None
) -> User:
    """Change a staff account's role, whether it may sign in and (unless None) its notice address."""
    group = _role_validate(role)
    # The stored row, not `staff`: a bound admin form has already assigned the new values.
    stored = User.objects.select_for_update().get(pk=staff.pk)
    old_roles = ",".join(sorted(stored.groups.values_list("name", flat=True)))
    old_value = f"{old_roles} active={stored.is_active}"
    new_value = f"{role} active={is_active}"
    staff.is_active = is_active
    staff.email = stored.email if email is None else email
    if staff.email != stored.email:
        old_value += f" email={mask_email(stored.email) if stored.email else '-'}"
        new_value += f" email={mask_email(staff.email) if staff.email else '-'}"
    staff.full_clean(exclude=["password"])
    staff.save(update_fields=["is_active", "email"])
    staff.groups.set([group])
    audit_log_record(
        actor=acting_user,
        operator=staff.operator,
        action=AuditLogEntry.Action.STAFF_UPDATE,
        target_label=staff.username or f"#{staff.pk}",
        old_value=old_value,
        new_value=new_value,
    )
    return staff
