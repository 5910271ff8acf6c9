"""Rows read in plain SQL (myspacecore.tenancy.sql.select_list / model_from_row) are the instances the ORM reads."""

from __future__ import annotations

import datetime

import pytest
from django.db import DatabaseError, IntegrityError, connection, transaction
from django.db.models.signals import post_save
from django.db.transaction import TransactionManagementError
from django.utils import timezone

from accounts.models import Profile, User, VerificationCode, VerificationTarget
from myspacecore.tenancy.sql import (
    _saved_as_django_saves,
    column,
    model_from_row,
    row_insert,
    row_update,
    select_list,
    table,
)
from smarthome.crypto import pin_encrypt, pin_lookup
from smarthome.models import PinCode
from tests.factories import ProfileFactory, ResidentFactory
from tests.smarthome.factories import SmartLockFactory

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


# Writes: row_insert / row_update do what save() does
# ------------------------------------------------------------------------------


def stored(model, pk) -> dict[str, object]:
    return field_values(getattr(model, "all_objects", model.objects).get(pk=pk))


def test_a_row_inserted_in_plain_sql_is_the_one_save_inserts():
    lock = SmartLockFactory()
    now = timezone.now()

    sealed = pin_encrypt("482915")

    def new(label):
        return PinCode(
            device=lock,
            label=label,
            pin_encrypted=sealed,
            sync_changed_at=now,
            pin_lookup=pin_lookup(device_id=lock.pk, pin="482915"),
            valid_from=now,
            valid_until=now + datetime.timedelta(days=1),
            changed_version=3,
        )

    by_orm, plain = new("ORM"), new("plain")
    by_orm.save(force_insert=True)
    row_insert(plain)

    assert plain.pk is not None and plain.pk != by_orm.pk
    assert not plain._state.adding and plain._state.db == by_orm._state.db
    assert plain.created_at is not None  # auto_now_add, as save() sets it
    skip = {"id", "label", "created_at"}
    orm_row, plain_row = stored(PinCode, by_orm.pk), stored(PinCode, plain.pk)
    assert {k: v for k, v in plain_row.items() if k not in skip} == {k: v for k, v in orm_row.items() if k not in skip}
    assert plain_row == field_values(plain)


def test_a_refused_plain_insert_leaves_the_transaction_as_a_refused_save_does():
    lock = SmartLockFactory()
    now = timezone.now()
    backwards = PinCode(  # its check constraint refuses a window that ends before it starts
        device=lock, label="逆", pin_encrypted=pin_encrypt("482915"), pin_lookup="x", valid_from=now, valid_until=now
    )
    assert _saved_as_django_saves(PinCode)  # the plain INSERT, not the ORM's
    with transaction.atomic():
        with pytest.raises(IntegrityError):
            row_insert(backwards)
        with pytest.raises(TransactionManagementError):  # as after save(): roll back first
            PinCode.objects.count()


def test_a_row_updated_in_plain_sql_is_the_one_save_updates():
    profile = ProfileFactory(nickname="前")
    before = Profile.objects.get(pk=profile.pk)
    profile.nickname, profile.birth_year = "後", 1990  # birth_year is not named: not written

    row_update(profile, ["nickname", "updated_at"])

    after = Profile.objects.get(pk=profile.pk)
    assert after.nickname == "後" and after.birth_year == before.birth_year
    assert after.updated_at == profile.updated_at > before.updated_at  # auto_now, as save() sets it


def test_a_plain_update_of_a_row_that_is_gone_fails_as_save_does():
    profile = ProfileFactory()
    Profile.objects.filter(pk=profile.pk).delete()
    for save in (lambda: row_update(profile, ["nickname"]), lambda: profile.save(update_fields=["nickname"])):
        with transaction.atomic():
            with pytest.raises(DatabaseError, match="did not affect any rows"):
                save()
            with pytest.raises(TransactionManagementError):  # both mark the transaction for rollback
                Profile.objects.count()


def test_a_model_with_save_receivers_is_saved_by_the_orm():
    heard = []

    def receiver(sender, instance, **kwargs):
        heard.append((instance.pk, kwargs.get("update_fields")))

    post_save.connect(receiver, sender=Profile)
    try:
        profile = ProfileFactory()
        heard.clear()
        row_update(profile, ["nickname"])
        fresh = Profile(user=ResidentFactory(), nickname="新", birth_year=1980, gender=Profile.Gender.UNANSWERED)
        row_insert(fresh)
    finally:
        post_save.disconnect(receiver, sender=Profile)
    assert heard == [(profile.pk, frozenset({"nickname"})), (fresh.pk, None)]
