"""Rows read in plain SQL (myspacecore.tenancy.sql.select_list / model_from_row) are the instances the ORM reads."""

from __future__ import annotations

import datetime

import pytest
from django.db import connection
from django.utils import timezone

from accounts.models import User, VerificationCode, VerificationTarget
from myspacecore.tenancy.sql import column, model_from_row, select_list, table
from tests.factories import ResidentFactory

pytestmark = pytest.mark.django_db


def read_plain(model, pk, *extra: str):
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT {', '.join([select_list('r', model), *extra])} FROM {table(model)} r "  # noqa: S608
            f"WHERE {column('r', model, 'id')} = %s",
            [pk],
        )
        return cursor.fetchone()


def field_values(instance) -> dict[str, object]:
    return {field.attname: getattr(instance, field.attname) for field in type(instance)._meta.concrete_fields}


def assert_same_instance(plain, orm) -> None:
    assert field_values(plain) == field_values(orm)
    assert {k: type(v) for k, v in field_values(plain).items()} == {k: type(v) for k, v in field_values(orm).items()}
    assert not plain._state.adding and plain._state.db == orm._state.db


def test_an_account_read_in_plain_sql_is_the_orms():
    user = ResidentFactory(last_login=timezone.now())

    plain = model_from_row(User, read_plain(User, user.pk))

    assert_same_instance(plain, User.objects.get(pk=user.pk))
    assert plain.phone_number.as_e164 == user.phone_number.as_e164


def test_a_code_and_its_target_read_in_plain_sql_are_the_orms():
    now = timezone.now()
    target = VerificationTarget.objects.create(target="+819012345678", consecutive_failures=2, wait_until=now)
    code = VerificationCode.objects.create(
        purpose=VerificationCode.Purpose.SIGN_IN,
        channel=VerificationCode.Channel.SMS,
        target=target.target,
        code_hash="0" * 64,
        created_at=now,
        expires_at=now + datetime.timedelta(minutes=5),
    )

    plain = model_from_row(VerificationCode, read_plain(VerificationCode, code.pk))
    assert_same_instance(plain, VerificationCode.objects.get(pk=code.pk))
    assert_same_instance(
        model_from_row(VerificationTarget, read_plain(VerificationTarget, target.pk)),
        VerificationTarget.objects.get(pk=target.pk),
    )


def test_columns_after_the_models_are_left_to_the_caller():
    user = ResidentFactory()

    row = read_plain(User, user.pk, "42")

    assert model_from_row(User, row).pk == user.pk
    assert row[-1] == 42
