"""Who may see which rows: the staff roles and one scope rule per model the console shows.

Every model has one rule here (`SCOPE_RULES`): a function from an operator id to the `Q`
of that operator's rows. `myspacecore.tenancy.scoped_admin` applies them to every admin
page. Platform staff (superusers) see everything; a staff account without an operator, or
a model without a rule, sees nothing.
"""

from __future__ import annotations

from collections.abc import Callable

from django.apps import apps
from django.db import models
from django.db.models import Exists, OuterRef, Q

from myspacecore.tenancy.roles import OPERATOR_ADMIN_GROUP, OPERATOR_GROUPS

NOTHING = Q(pk__in=[])


# Rules follow the row's foreign keys with joins and test residency with EXISTS on the
# lease's indexed `resident_id`, so a changelist page (ORDER BY -pk LIMIT 100) walks the
# primary-key index and stops at the page size instead of materialising every row of a
# large operator first (bench/admin_scale.py).


def _granting_leases(operator_id: int) -> models.QuerySet:
    """The operator's leases that grant it sight of their resident today: accepted and in force.

    A pending or declined entry shows nobody (the resident has not said it is theirs); an
    ended lease neither: after moving out, the resident's number and sessions are no longer
    that operator's business (the lease row stays, as the operator's record).
    """
    Lease = apps.get_model("tenancy", "Lease")
    return Lease.objects.granting().filter(unit__property__operator_id=operator_id)


def _is_resident(operator_id: int, ref: str) -> Exists:
    """The account in column `ref` holds an accepted lease in force of the operator."""
    return Exists(_granting_leases(operator_id).filter(resident_id=OuterRef(ref)))


def _residents(operator_id: int) -> Q:
    return Q(_is_resident(operator_id, "pk"))


def _staff(operator_id: int) -> Q:
    return Q(operator_id=operator_id, is_staff=True, is_superuser=False)


def _devices(prefix: str = "") -> Callable[[int], Q]:
    """A device is the operator's only through its unit: never a resident's own device
    (bought themselves), whoever's lease the resident holds."""

    def rule(operator_id: int) -> Q:
        return Q(**{f"{prefix}unit__property__operator_id": operator_id})

    return rule


# "app_label.ModelName" → operator id → Q of that operator's rows.
SCOPE_RULES: dict[str, Callable[[int], Q]] = {
    "tenancy.Operator": lambda op: Q(pk=op),
    "tenancy.Property": lambda op: Q(operator_id=op),
    "tenancy.Unit": lambda op: Q(property__operator_id=op),
    "tenancy.Lease": lambda op: Q(unit__property__operator_id=op),
    # Attributes are policy, not tenant data: every operator chooses among all of them.
    "accounts.UserAttribute": lambda op: Q(),
    "accounts.User": lambda op: _residents(op) | _staff(op),
    "accounts.ResidentAccount": lambda op: _residents(op) & Q(phone_number__isnull=False),
    "accounts.StaffAccount": _staff,
    "tenancy.AuditLogEntry": lambda op: Q(operator_id=op),
    "auth.Group": lambda op: Q(name__in=OPERATOR_GROUPS),
    "smarthome.Device": _devices(),
    "smarthome.RemoteControlSetting": _devices("device__"),
    "smarthome.PinCode": _devices("device__"),
}


def operator_scope_q(model: type[models.Model], user) -> Q:
    """The rows of `model` that `user` may see in the admin, as a Q (never raises)."""
    if not (user.is_active and user.is_staff):
        return NOTHING
    if user.is_superuser:
        return Q()
    if user.operator_id is None:
        return NOTHING
    rule = SCOPE_RULES.get(model._meta.label)
    return rule(user.operator_id) if rule is not None else NOTHING


# Set on the Query (clones copy it) of a queryset already narrowed for a user, so a
# second pass (get_search_results after get_queryset) does not filter twice. Admins
# narrow with .filter() only; OR-ing another queryset into a marked one would keep the
# mark, so none of ours does.
_SCOPED_FOR = "_operator_scoped_for"


def operator_scope(queryset: models.QuerySet, user) -> models.QuerySet:
    """`queryset` narrowed to what `user` may see (once: a queryset already narrowed is returned as is)."""
    if getattr(queryset.query, _SCOPED_FOR, None) == user.pk:
        return queryset
    scoped = queryset.filter(operator_scope_q(queryset.model, user))
    setattr(scoped.query, _SCOPED_FOR, user.pk)
    return scoped


def user_in_scope(user) -> bool:
    """Active staff that may hold rows at all: platform staff, or staff of an operator."""
    return user.is_active and user.is_staff and (user.is_superuser or user.operator_id is not None)


def user_is_operator_admin(user) -> bool:
    """Platform staff, or staff in the operator_admin group of an operator."""
    if user.is_superuser:
        return True
    return user.operator_id is not None and user.groups.filter(name=OPERATOR_ADMIN_GROUP).exists()
