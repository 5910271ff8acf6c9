"""Plain SQL for the reads and writes that are faster without the ORM (bench/README.md).

Table and column names come from the models' `_meta`, quoted by the database's own rules,
and the tenancy rules those reads apply come from here, never retyped in a query.
"""

from __future__ import annotations

import datetime
from collections.abc import Sequence
from functools import cache
from typing import Any, TypeVar

from django.db import DatabaseError, connection, models, transaction

from myspacecore.tenancy.models import Lease

M = TypeVar("M", bound=models.Model)


def table(model: type[models.Model]) -> str:
    """The quoted table name of `model`, for a FROM or JOIN clause."""
    return connection.ops.quote_name(model._meta.db_table)


def column_name(model: type[models.Model], field_name: str) -> str:
    """The quoted column of `model`'s field `field_name`, unqualified (an UPDATE's SET)."""
    return _column_name(model, field_name, connection.vendor)


@cache
def _column_name(model: type[models.Model], field_name: str, vendor: str) -> str:
    # Once per process and database: the statements built at each call (a sign-in's) name
    # a few dozen columns.
    field = model._meta.get_field(field_name)
    if not isinstance(field, models.Field) or not field.column:
        raise ValueError(f"{model.__name__}.{field_name} has no column of its own")
    return connection.ops.quote_name(field.column)


def column(alias: str, model: type[models.Model], field_name: str) -> str:
    """The quoted column of `model`'s field `field_name` in the table named `alias` in the query."""
    return f"{alias}.{column_name(model, field_name)}"


def select_list(alias: str, model: type[models.Model]) -> str:
    """The quoted columns of `model`'s concrete fields on the table named `alias`, in field order:
    the row `model_from_row` reads."""
    return _select_list(alias, model, connection.vendor)


@cache
def _select_list(alias: str, model: type[models.Model], vendor: str) -> str:
    return ", ".join(column(alias, model, field.name) for field in model._meta.concrete_fields)


def _converters(model: type[models.Model], fields: Sequence[models.Field]) -> list[tuple[int, Any, list]]:
    # Each column's converters: the database's, then the field's, as a query applies them.
    converters = []
    for i, field in enumerate(fields):
        col = field.get_col(model._meta.db_table)
        found = connection.ops.get_db_converters(col) + col.get_db_converters(connection)
        if found:
            converters.append((i, col, found))
    return converters


@cache
def _row_reading(model: type[models.Model], vendor: str) -> tuple[list[str], list[tuple[int, Any, list]]]:
    # Attribute names, and each column's converters.
    fields = model._meta.concrete_fields
    return [field.attname for field in fields], _converters(model, fields)


@cache
def _values_reading(model: type[models.Model], field_names: tuple[str, ...], vendor: str) -> tuple[str, list]:
    fields = [model._meta.get_field(name) for name in field_names]
    if not all(isinstance(field, models.Field) and field.column for field in fields):
        raise ValueError(f"{model.__name__}: {field_names} are not all columns")
    return ", ".join(column_name(model, name) for name in field_names), _converters(model, fields)  # type: ignore[arg-type]


def values_columns(model: type[models.Model], *field_names: str) -> str:
    """The quoted, unqualified columns of `model`'s fields `field_names`, in that order: the rows
    `values_from_rows` reads."""
    return _values_reading(model, field_names, connection.vendor)[0]


def values_from_rows(
    model: type[models.Model], field_names: Sequence[str], rows: Sequence[Sequence[object]]
) -> list[tuple]:
    """Rows of `values_columns(model, *field_names)` as `values_list(*field_names)` gives them:
    each value converted as a query converts it (a datetime on SQLite, a field's own type)."""
    _columns, converters = _values_reading(model, tuple(field_names), connection.vendor)
    if not converters:
        return [tuple(row) for row in rows]
    return [tuple(_converted(list(row), converters)) for row in rows]


def _converted(values: list[Any], converters: list[tuple[int, Any, list]]) -> list[Any]:
    """`values` (a row's, in place) through each column's converters."""
    for i, col, found in converters:
        for converter in found:
            values[i] = converter(values[i], col, connection)
    return values


def model_from_row(model: type[M], row: Sequence[object]) -> M:
    """The instance of a row whose first columns are `select_list`'s (`Model.from_db`, the values
    converted as a query converts them); the columns after them are the caller's."""
    attnames, converters = _row_reading(model, connection.vendor)
    values = _converted(list(row[: len(attnames)]), converters)
    return model.from_db(connection.alias, attnames, values)


def models_from_row(row: Sequence[object], *row_models: type[models.Model]) -> list[Any]:
    """The instances of a row that holds `select_list`'s columns of each of `row_models` in turn
    (a query's LEFT JOINs): None for a model whose primary key is NULL (no row joined)."""
    instances: list[Any] = []
    start = 0
    for model in row_models:
        width, pk_index = _row_shape(model)
        part = row[start : start + width]
        instances.append(model_from_row(model, part) if part[pk_index] is not None else None)
        start += width
    return instances


@cache
def _row_shape(model: type[models.Model]) -> tuple[int, int]:
    # (columns of `select_list`, index of the primary key among them): read on every request.
    fields = model._meta.concrete_fields
    return len(fields), fields.index(model._meta.pk)


@cache
def _model_by_sql(model: type[models.Model], field_name: str) -> str:
    return (
        f"SELECT {select_list('t', model)} FROM {table(model)} t "  # noqa: S608 - names from _meta
        f"WHERE {column('t', model, field_name)} = %s"
    )


def model_by(model: type[M], field_name: str, value: Any) -> M | None:
    """The row of `model` whose unique `field_name` is `value`, or None: one plain SELECT built
    once per process, for the reads every code request and sign-in makes (through the ORM,
    building the query cost more than running it)."""
    with connection.cursor() as cursor:
        cursor.execute(_model_by_sql(model, field_name), [value])
        row = cursor.fetchone()
    return model_from_row(model, row) if row is not None else None


# Writes
# ------------------------------------------------------------------------------


def _saved_as_django_saves(model: type[models.Model]) -> bool:
    """Whether a plain INSERT / UPDATE of `model` does all its `save()` would: no `save()` of its
    own, no receiver of the save signals (they would not hear a plain statement)."""
    return (
        model.save is models.Model.save
        and not models.signals.pre_save.has_listeners(model)
        and not models.signals.post_save.has_listeners(model)
    )


@cache
def _insert_sql(model: type[models.Model], vendor: str) -> tuple[str, list[models.Field]] | None:
    meta = model._meta
    if meta.auto_field is None:
        return None  # a key the caller gives: the ORM's INSERT
    if not connection.features.can_return_columns_from_insert or meta.db_returning_fields != [meta.pk]:
        return None  # a column the database fills other than the key: the ORM reads it back
    fields = [field for field in meta.local_concrete_fields if field is not meta.auto_field and not field.generated]
    sql = (
        f"INSERT INTO {table(model)} ({', '.join(column_name(model, field.name) for field in fields)}) "  # noqa: S608 - names from _meta
        f"VALUES ({', '.join('%s' for _ in fields)}) RETURNING {column_name(model, meta.pk.name)}"
    )
    return sql, fields


def row_insert(instance: models.Model) -> None:
    """`instance.save(force_insert=True)` for a new row with a database-made key, in one plain
    INSERT … RETURNING built once per model: the same values (each field's `pre_save`, e.g.
    auto_now_add, then its database form), the same key and state set on the instance. A model
    with a `save()` or save signal receivers of its own is saved by the ORM. On the paths every
    resident takes (a PIN add), building the ORM's INSERT cost more than running it."""
    model = type(instance)
    plan = _insert_sql(model, connection.vendor)
    if plan is None or instance.pk is not None or not _saved_as_django_saves(model):
        instance.save(force_insert=True)
        return
    sql, fields = plan
    values = [field.get_db_prep_save(field.pre_save(instance, add=True), connection) for field in fields]
    with transaction.mark_for_rollback_on_error(), connection.cursor() as cursor:
        cursor.execute(sql, values)
        (pk,) = cursor.fetchone()
    instance.pk = pk
    instance._state.adding, instance._state.db = False, connection.alias


@cache
def _update_sql(model: type[models.Model], field_names: tuple[str, ...], vendor: str) -> tuple[str, list[models.Field]]:
    fields = [model._meta.get_field(name) for name in field_names]
    if not all(isinstance(field, models.Field) and field.concrete and not field.primary_key for field in fields):
        raise ValueError(f"{model.__name__}: {field_names} are not all columns to update")
    assignments = ", ".join(f"{column_name(model, name)} = %s" for name in field_names)
    sql = f"UPDATE {table(model)} SET {assignments} WHERE {column_name(model, model._meta.pk.name)} = %s"  # noqa: S608 - names from _meta
    return sql, fields  # type: ignore[return-value]


def row_update(instance: models.Model, update_fields: Sequence[str]) -> None:
    """`instance.save(update_fields=update_fields)` in one plain UPDATE built once per model and
    fields: the same values (each field's `pre_save`, e.g. auto_now), the same DatabaseError
    when no row has the key. A model with a `save()` or save signal receivers of its own is saved
    by the ORM."""
    model = type(instance)
    if not _saved_as_django_saves(model):
        instance.save(update_fields=update_fields)
        return
    sql, fields = _update_sql(model, tuple(update_fields), connection.vendor)
    values = [field.get_db_prep_save(field.pre_save(instance, add=False), connection) for field in fields]
    with transaction.mark_for_rollback_on_error(), connection.cursor() as cursor:
        cursor.execute(sql, [*values, instance._meta.pk.get_db_prep_value(instance.pk, connection)])
        if cursor.rowcount == 0:
            raise DatabaseError("Save with update_fields did not affect any rows.")


# Tenancy rules
# ------------------------------------------------------------------------------


def lease_in_force_sql(alias: str, on: datetime.date) -> tuple[str, list[datetime.date]]:
    """`Lease.objects.in_force(on)` as a WHERE fragment on the lease table named `alias`.

    Returns the fragment (parenthesised, to AND with others) and its parameters, in order.
    The twin of `LeaseQuerySet._in_force_q`: change the two together.
    """
    start = column(alias, Lease, "start_date")
    end = column(alias, Lease, "end_date")
    return f"({start} <= %s AND ({end} IS NULL OR {end} >= %s))", [on, on]


def lease_not_ended_sql(alias: str, on: datetime.date) -> tuple[str, list[datetime.date]]:
    """`Lease.objects.not_ended(on)` as a WHERE fragment on the lease table named `alias`.

    The twin of `LeaseQuerySet.not_ended`: change the two together.
    """
    end = column(alias, Lease, "end_date")
    return f"({end} IS NULL OR {end} >= %s)", [on]


def lease_granting_sql(alias: str, on: datetime.date) -> tuple[str, list[Any]]:
    """`Lease.objects.granting(on)` (accepted by its resident and in force) as a WHERE fragment.

    The twin of `LeaseQuerySet.granting`: change the two together.
    """
    in_force, params = lease_in_force_sql(alias, on)
    return f"({column(alias, Lease, 'acceptance')} = %s AND {in_force})", [Lease.Acceptance.ACCEPTED.value, *params]


def lease_invitations_exist_sql(phone_number: str, on: datetime.date) -> tuple[str, list[Any]]:
    """`myspacecore.tenancy.selectors.lease_invitations(phone_number=…).exists()` on day `on` as
    an SQL boolean (pending, not yet ended, naming the number), with its parameters in order.

    The twin of that selector: change the two together.
    """
    not_ended, params = lease_not_ended_sql("invitation", on)
    sql = (
        f"EXISTS (SELECT 1 FROM {table(Lease)} invitation "  # noqa: S608 - names from _meta
        f"WHERE {column('invitation', Lease, 'phone_number')} = %s "
        f"AND {column('invitation', Lease, 'acceptance')} = %s AND {not_ended})"
    )
    return sql, [phone_number, Lease.Acceptance.PENDING.value, *params]
