"""Every changelist answers in a bounded number of queries, whatever the number of rows."""

from __future__ import annotations

import datetime
from http import HTTPStatus

import pytest
from django.contrib import admin
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import NoReverseMatch, reverse
from django.utils import timezone

from accounts.models import VerificationCode, VerificationTarget
from myspacecore.tenancy import scoped_admin
from myspacecore.tenancy.models import AuditLogEntry, Unit
from tests.admin.conftest import tenant_build
from tests.factories import LeaseFactory, ProfileFactory, ResidentFactory, StaffFactory, UnitFactory
from tests.smarthome.factories import PinCodeFactory, RemoteControlSettingFactory, UnitSmartLockFactory

pytestmark = pytest.mark.django_db

# The bound for every changelist: session, user, permissions, count, rows, filters' choices.
MAX_QUERIES = 10


def more_rows(tenant, n: int) -> None:
    """n more rows of every kind for the tenant, so a per-row query would show."""
    from django.contrib.auth.models import Group

    prop = tenant.objects["tenancy.Property"]
    group = Group.objects.get(name="operator_staff")
    for i in range(n):
        unit = UnitFactory(property=prop)
        resident = ResidentFactory()
        ProfileFactory(user=resident)
        LeaseFactory(unit=unit, phone_number=resident.phone_number, resident=resident)
        lock = UnitSmartLockFactory(unit=unit)
        RemoteControlSettingFactory(device=lock)
        PinCodeFactory(device=lock)
        StaffFactory(operator=tenant.operator).groups.set([group])
        AuditLogEntry.objects.create(
            operator=tenant.operator, actor_label="x", action="sessions_end", target_label=f"#{i}"
        )
        VerificationCode.objects.create(
            purpose="sign_in",
            channel="sms",
            target=str(resident.phone_number),
            code_hash="0" * 64,
            expires_at=timezone.now() + datetime.timedelta(minutes=5),
        )
        VerificationTarget.objects.create(target=str(resident.phone_number))


def changelists():
    urls = []
    for model in admin.site._registry:
        try:
            urls.append(reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_changelist"))
        except NoReverseMatch:
            # Registered after the URLconf was built (a test imported it late): no page to measure.
            continue
    return sorted(urls)


def count_queries(client, url: str) -> int:
    with CaptureQueriesContext(connection) as context:
        response = client.get(url)
    assert response.status_code == HTTPStatus.OK, url
    return len(context.captured_queries)


@pytest.mark.parametrize("who", ["superuser", "operator_admin"])
def test_every_changelist_has_a_bounded_query_count(client, operator_groups, django_assert_max_num_queries, who):
    tenant = tenant_build("A")
    user = StaffFactory(is_superuser=True) if who == "superuser" else tenant.admin
    client.force_login(user)
    visible = [url for url in changelists() if client.get(url).status_code == HTTPStatus.OK]
    assert len(visible) >= 8
    few = {url: count_queries(client, url) for url in visible}
    more_rows(tenant, 15)
    for url in visible:
        with django_assert_max_num_queries(MAX_QUERIES):
            response = client.get(url)
        assert response.status_code == HTTPStatus.OK
        assert count_queries(client, url) == few[url], f"{url}: queries grow with rows"


def test_the_capped_paginator_counts_at_most_one_past_the_cap(monkeypatch, django_assert_num_queries):
    """A QuerySet is counted in one capped COUNT; any other sequence by its length, as Django's Paginator does."""
    monkeypatch.setattr(scoped_admin, "COUNT_CAP", 3)
    UnitFactory.create_batch(5)
    with django_assert_num_queries(1):
        assert scoped_admin.CappedCountPaginator(Unit.objects.order_by("pk"), 2).count == 4
    assert scoped_admin.CappedCountPaginator(list(range(5)), 2).count == 4
    assert scoped_admin.CappedCountPaginator(list(range(2)), 2).count == 2
