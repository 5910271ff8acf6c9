"""The operator console in a real browser: the demo operator admin changes a resident's phone number.

This is the issue's "done when": from the footer's 「導入事業者様向けログイン」, sign in with
the account `seed_demo` prints, open the demo resident and change their number.
"""

from __future__ import annotations

import importlib

import pytest
from django.apps import apps as django_apps
from django.core.management import call_command
from django.utils import timezone
from playwright.sync_api import expect

from accounts.models import User
from myspacecore.demo.accounts import (
    DEMO_LINKED_RESIDENT_PHONE,
    DEMO_OPERATOR_ADMIN_PASSWORD,
    DEMO_OPERATOR_ADMIN_USERNAME,
)
from myspacecore.tenancy.models import AuditLogEntry, Lease, Unit
from myspacecore.tenancy.roles import operator_roles_sync
from tests.browser.conftest import browser_page
from tests.factories import LeaseFactory

DESKTOP = {"width": 1280, "height": 800}

pytestmark = pytest.mark.django_db(transaction=True)


def seed_rows_of_migrations() -> None:
    """A transactional test starts from a flushed database: put back what migrations seed."""
    importlib.import_module("accounts.migrations.0002_seed_user_attributes").seed(django_apps, None)
    operator_roles_sync()


def test_demo_operator_admin_changes_a_residents_phone_number(page, screenshot):
    seed_rows_of_migrations()
    call_command("seed_demo")

    page.goto("/signin/")
    page.get_by_role("link", name="導入事業者様向けログイン").click()
    page.get_by_label("ユーザー名").fill(DEMO_OPERATOR_ADMIN_USERNAME)
    page.get_by_label("パスワード").fill(DEMO_OPERATOR_ADMIN_PASSWORD)
    screenshot(page, "admin-login")
    page.get_by_role("button", name="ログイン").click()

    page.get_by_role("link", name="入居者アカウント").first.click()
    screenshot(page, "admin-resident-list")
    page.get_by_role("link", name="090-1111-0002").click()
    page.get_by_role("link", name="電話番号を変更").click()
    page.get_by_label("新しい電話番号").fill("090-2222-0002")
    page.get_by_label("入居者ご本人からの依頼であることを確認しました").check()
    screenshot(page, "admin-phone-change")
    page.get_by_role("button", name="変更する").click()
    page.get_by_text("電話番号を変更しました。").wait_for()
    screenshot(page, "admin-phone-changed")

    assert not User.objects.filter(phone_number=DEMO_LINKED_RESIDENT_PHONE).exists()
    resident = User.objects.get(phone_number="+819022220002")
    assert Lease.objects.filter(resident=resident, phone_number="+819022220002").exists()
    entry = AuditLogEntry.objects.get(action=AuditLogEntry.Action.PHONE_CHANGE)
    assert entry.actor.username == DEMO_OPERATOR_ADMIN_USERNAME
    assert entry.new_value == "+81******0002"


def test_the_operator_sees_each_lease_as_pending_accepted_or_declined(browser, live_server, screenshot):
    """The console's lease list says where each invitation stands; only the resident answers.
    On a desktop screen, as operators work (README's screenshot)."""
    seed_rows_of_migrations()
    call_command("seed_demo")
    demo_unit = Lease.objects.filter(acceptance=Lease.Acceptance.ACCEPTED).select_related("unit").first().unit
    other_units = Unit.objects.filter(property__operator=demo_unit.property.operator).exclude(pk=demo_unit.pk)
    pending = LeaseFactory(unit=other_units[0], phone_number="+819033330001")
    declined = LeaseFactory(unit=other_units[1], phone_number="+819033330002")
    declined.acceptance, declined.answered_at = Lease.Acceptance.DECLINED, timezone.now()
    declined.save(update_fields=["acceptance", "answered_at"])

    with browser_page(browser, live_server, viewport=DESKTOP) as page:
        _leases_page(page, screenshot)
    assert pending.resident is None and Lease.objects.get(pk=declined.pk).resident is None


def _leases_page(page, screenshot) -> None:
    page.goto("/admin/login/")
    page.get_by_label("ユーザー名").fill(DEMO_OPERATOR_ADMIN_USERNAME)
    page.get_by_label("パスワード").fill(DEMO_OPERATOR_ADMIN_PASSWORD)
    page.get_by_role("button", name="ログイン").click()
    page.goto("/admin/tenancy/lease/")

    rows = page.locator("#result_list tbody tr")
    expect(rows.filter(has_text="090-3333-0001")).to_contain_text("入居者の確認待ち")
    expect(rows.filter(has_text="090-3333-0002")).to_contain_text("入居者が辞退")
    expect(rows.filter(has_text="入居者が承認").first).to_be_visible()
    screenshot(page, "admin-leases-acceptance")
