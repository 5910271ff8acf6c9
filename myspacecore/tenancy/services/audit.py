"""The audit log of the operator console: one row per write, whoever makes it and however.

Two ways a row is written, never both for one write:

- a named action (a phone change, a move-out, an import, a TOTP reset) writes its row in its
  own service through `audit_log_record`;
- a console form's plain add / change / delete (every `ScopedModelAdmin`, whatever the model)
  goes through `console_object_save` / `console_object_delete`, which make the write and
  its row in one transaction.

Values are masked here, once: PINs and passwords never appear (`PIN_MASK`), phone numbers
and e-mail addresses through `myspacecore.core.masking`, in field values and in free text.
"""

from __future__ import annotations

import datetime
from collections.abc import Callable, Iterable, Mapping
from typing import TYPE_CHECKING, Any

from django.db import models, transaction
from django.utils import timezone
from phonenumber_field.modelfields import PhoneNumberField

from myspacecore.core.masking import PIN_MASK, mask_email, mask_phone, mask_text
from myspacecore.tenancy.models import AuditLogEntry, Operator

if TYPE_CHECKING:
    from accounts.models import User

# Fields whose value never reaches the log, whatever it is (ciphertext, hashes, secrets):
# the row says that they were set or changed, as ••••.
SECRET_FIELDS = frozenset({"password", "pin_encrypted", "pin_lookup", "session_token"})

# Whose log a platform staff member's write goes into: the path from the row to its operator.
# Staff of an operator always write into their own operator's log. A model not listed (user
# attributes, groups, verification targets; a resident, who may live with several operators;
# a device bought by the resident, whose unit is empty) is the platform's: its rows have no
# operator, and only platform staff see them.
AUDIT_OPERATOR_PATHS: dict[str, str] = {
    "tenancy.operator": "pk",
    "tenancy.property": "operator_id",
    "tenancy.unit": "property.operator_id",
    "tenancy.lease": "unit.property.operator_id",
    "accounts.staffaccount": "operator_id",
    "smarthome.device": "unit.property.operator_id",
    "smarthome.remotecontrolsetting": "device.unit.property.operator_id",
    "smarthome.pincode": "device.unit.property.operator_id",
}

# One value in the log is at most this long: a learned remote signal is not worth 1,000 characters.
VALUE_MAX_LENGTH = 80
_ROW_VALUE_MAX_LENGTH = AuditLogEntry._meta.get_field("old_value").max_length or 1000


def _concrete(model: models.Model | type[models.Model]) -> type[models.Model]:
    """The model a proxy stands for (ResidentAccount, StaffAccount → User)."""
    return model._meta.concrete_model or (model if isinstance(model, type) else type(model))


@transaction.atomic
def audit_log_record(
    *,
    actor: User,
    action: str,
    target: models.Model | type[models.Model] | None = None,
    target_id: str = "",
    target_label: str = "",
    operator: Operator | None = None,
    old_value: str = "",
    new_value: str = "",
) -> AuditLogEntry:
    """Write one audit row. Callers pass values already masked (`mask_phone`), never in clear;
    the label and values are masked once more here (`mask_text`), so a slip never stores one.

    `target` is the row acted on (its model and id are what staff search for), or a model
    for an action on many of its rows (an import) or on a row gone (with its `target_id`).
    The label defaults to the row's name.
    Called inside the caller's transaction, so the row exists exactly when the action
    it records was committed.
    """
    target_type = ""
    if target is not None:
        # The concrete model: a resident is `accounts.user` whether the console's resident or
        # staff page (proxies) or the resident's own page acted on them.
        target_type = _concrete(target)._meta.label_lower
        if isinstance(target, models.Model):
            target_id = target_id or str(target.pk)
            target_label = target_label or str(target)
    entry = AuditLogEntry(
        operator=operator,
        actor=actor,
        actor_label=str(actor)[:150],
        action=action,
        target_label=mask_text(target_label)[:200],
        target_type=target_type,
        target_id=target_id,
        old_value=mask_text(old_value)[:_ROW_VALUE_MAX_LENGTH],
        new_value=mask_text(new_value)[:_ROW_VALUE_MAX_LENGTH],
    )
    entry.full_clean()
    entry.save()
    return entry


def audit_operator_of(obj: models.Model, *, actor: User) -> Operator | None:
    """The operator whose log a write on `obj` by `actor` goes into (see AUDIT_OPERATOR_PATHS)."""
    if actor.operator_id is not None:
        return actor.operator
    path = AUDIT_OPERATOR_PATHS.get(obj._meta.label_lower)
    value: Any = obj
    for name in path.split(".") if path else ():
        value = getattr(value, name, None)
    if path is None or value is None:
        return None
    return Operator.objects.filter(pk=value).first()


# Values
# ------------------------------------------------------------------------------


def _shortened(text: str) -> str:
    return text if len(text) <= VALUE_MAX_LENGTH else text[: VALUE_MAX_LENGTH - 1] + "…"


def _value_text(field: models.Field, value: Any) -> str:
    if value is None or value == "":
        return "-"
    if field.name in SECRET_FIELDS:
        return PIN_MASK
    if isinstance(field, PhoneNumberField):
        return mask_phone(getattr(value, "as_e164", str(value)))
    if isinstance(field, models.EmailField):
        return mask_email(str(value))
    if isinstance(value, datetime.datetime):
        value = timezone.localtime(value).isoformat(timespec="minutes")
    return _shortened(mask_text(str(value)))


def _audited_fields(obj: models.Model) -> list[models.Field]:
    """The fields a form may write (editable ones, many-to-many too) and the secret ones."""
    fields: list[models.Field] = [
        field
        for field in obj._meta.concrete_fields
        if not field.primary_key and (field.editable or field.name in SECRET_FIELDS)
    ]
    return fields + [field for field in obj._meta.many_to_many if field.editable]


def _related_rows(obj: models.Model, name: str, related: Mapping[str, Iterable[models.Model]]):
    if name in related:
        return related[name]
    return getattr(obj, name).all() if obj.pk is not None else ()


def _raw_values(obj: models.Model, related: Mapping[str, Iterable[models.Model]]) -> dict[str, Any]:
    """The fields' values as stored (a foreign key's id, the ids of a many-to-many): cheap to compare."""
    raw: dict[str, Any] = {}
    for field in _audited_fields(obj):
        if field.many_to_many:
            raw[field.name] = sorted(row.pk for row in _related_rows(obj, field.name, related))
        else:
            raw[field.name] = field.value_from_object(obj)
    return raw


def audit_values(
    obj: models.Model,
    *,
    related: Mapping[str, Iterable[models.Model]] | None = None,
    names: Iterable[str] | None = None,
) -> dict[str, str]:
    """What a row holds, field by field (`names`, else every audited one), as the log may show
    it: masked, secrets as ••••, a foreign key by the related row's name.

    A many-to-many value comes from `related` when it holds the field (a form's new choices,
    saved by the admin right after), else from the database.
    """
    related = related or {}
    wanted = None if names is None else set(names)
    values: dict[str, str] = {}
    for field in _audited_fields(obj):
        if wanted is not None and field.name not in wanted:
            continue
        if field.many_to_many:
            rows = _related_rows(obj, field.name, related)
            values[field.name] = _shortened(", ".join(sorted(mask_text(str(row)) for row in rows))) or "-"
        else:
            value = getattr(obj, field.name) if field.is_relation else field.value_from_object(obj)
            values[field.name] = _value_text(field, value)
    return values


def _filled(value: Any) -> bool:
    return value not in (None, "", [])


def _values_line(values: Mapping[str, str], names: Iterable[str]) -> str:
    return "; ".join(f"{name}={values[name]}" for name in names if name in values)


# A console form's own writes
# ------------------------------------------------------------------------------


@transaction.atomic
def console_object_save(
    *,
    obj: models.Model,
    acting_user: User,
    related: Mapping[str, Iterable[models.Model]] | None = None,
    write: Callable[[models.Model], object] | None = None,
) -> AuditLogEntry:
    """Save `obj` as a console form left it (add or change) and write its audit row: the
    fields that changed, masked old → new.

    `related` holds the form's many-to-many choices (saved by the admin right after, in
    the same transaction), so the row names them too. `write` is the owning room's service
    that saves the row with its own rules (a setting's device is told of it); default
    `obj.save()`.
    """
    related = related or {}
    adding = obj._state.adding or obj.pk is None
    # Locked: a second save of the same row waits, so each row's "old" is what the other left.
    stored = None if adding else type(obj)._base_manager.select_for_update().filter(pk=obj.pk).first()
    # Compared as stored (ids), named only where they differ: no query for what did not change.
    raw_before = {} if stored is None else _raw_values(stored, {})
    raw_after = _raw_values(obj, related)
    changed = [
        name for name, value in raw_after.items() if raw_before.get(name, None) != value and (stored or _filled(value))
    ]
    before = {} if stored is None else audit_values(stored, names=changed)
    if write is None:
        obj.save()
    else:
        write(obj)
    after = audit_values(obj, related=related, names=changed)
    return audit_log_record(
        actor=acting_user,
        operator=audit_operator_of(obj, actor=acting_user),
        action=AuditLogEntry.Action.OBJECT_ADD if stored is None else AuditLogEntry.Action.OBJECT_CHANGE,
        target=obj,
        old_value=_values_line(before, changed),
        new_value=_values_line(after, changed),
    )


@transaction.atomic
def console_object_delete(
    *, obj: models.Model, acting_user: User, remove: Callable[[models.Model], object] | None = None
) -> AuditLogEntry:
    """Delete `obj` from the console and write its audit row: what it held (masked), and
    what went with it (the rows its deletion cascaded to, counted per model).

    `remove` is the owning room's service for a row that does not simply go (a PIN stays
    "being removed" until its lock confirms); default `obj.delete()`.
    """
    before = audit_values(obj)
    operator = audit_operator_of(obj, actor=acting_user)
    if operator == obj:
        # An operator deleted by platform staff (possible only while its log is empty: the rows
        # protect it) cannot hold the row of its own deletion: the platform's log does.
        operator = None
    # The row goes, its id and name stay: staff still find the deletion by them.
    target_id, label = str(obj.pk), str(obj)
    per_model: dict[str, int] = {}
    if remove is None:
        _total, per_model = obj.delete()
    else:
        remove(obj)
    own_label = _concrete(obj)._meta.label
    cascaded = {name: count for name, count in per_model.items() if name != own_label and count}
    return audit_log_record(
        actor=acting_user,
        operator=operator,
        action=AuditLogEntry.Action.OBJECT_DELETE,
        target=type(obj),
        target_id=target_id,
        target_label=label,
        old_value=_values_line(before, [name for name, value in before.items() if value != "-"]),
        new_value=" ".join(f"{name}={count}" for name, count in sorted(cascaded.items())),
    )


@transaction.atomic
def console_objects_delete(
    *, queryset: models.QuerySet, acting_user: User, remove: Callable[[models.Model], object] | None = None
) -> int:
    """Delete the rows of `queryset` one by one (the console's "delete selected"), one audit
    row each; returns how many went."""
    count = 0
    for obj in queryset:
        console_object_delete(obj=obj, acting_user=acting_user, remove=remove)
        count += 1
    return count
