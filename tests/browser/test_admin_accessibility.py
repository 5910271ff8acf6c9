"""axe-core on the operator console (the admin), in Japanese and English: 0 WCAG A/AA violations.

The pages an operator's staff use, in the states they meet them: the sign-in and its
error; the menu; the lists of residents, leases, units, devices, the audit log and staff;
a resident's page, a lease's change form and the staff account form; the phone-number
change with its errors; the CSV import and its preview; the move-out confirmation; the
second factor (enrolment, the token step and its error, recovery codes before and after
issuing). Each page is checked in the light and the dark theme (the admin follows the
system's), at a desktop size: the console is used at a desk.

No rule is switched off: what axe found in Django's stock markup is fixed in
static/css/admin.css, and in our own templates where they are the cause.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterator

import pytest
from axe_playwright_python.base import AXE_SCRIPT
from django.apps import apps as django_apps
from django.conf import settings
from django.contrib.auth.models import Group
from django.test import Client
from django.urls import reverse
from django_otp.oath import totp
from django_otp.plugins.otp_totp.models import TOTPDevice

from myspacecore.tenancy.roles import operator_roles_sync
from tests.browser.resident_pages import go, use_session
from tests.factories import (
    LeaseFactory,
    OperatorFactory,
    ProfileFactory,
    PropertyFactory,
    ResidentFactory,
    StaffFactory,
    UnitFactory,
    attribute,
)
from tests.smarthome.factories import RemoteControlSettingFactory, UnitDeviceFactory, UnitSmartLockFactory

pytestmark = pytest.mark.django_db(transaction=True)

WCAG_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"]
COLOR_SCHEMES = ("light", "dark")
SETTLED = "() => document.getAnimations().every(animation => animation.playState !== 'running')"
AXE_RUN = "options => axe.run(document, options).then(results => results.violations)"
PASSWORD = "a-long-staff-password"  # StaffFactory's
CHANGELISTS = (
    "accounts_residentaccount",
    "tenancy_lease",
    "tenancy_unit",
    "smarthome_device",
    "tenancy_auditlogentry",
    "accounts_staffaccount",
)
SCREENSHOTS = ("index", "changelist-tenancy_lease", "phone-change-error", "lease-import-preview", "otp-setup")


def axe_violations(page) -> dict[str, list[str]]:
    """Violations per colour scheme; axe is injected once and the scheme switched as the system would."""
    page.evaluate(AXE_SCRIPT)
    found = {}
    for scheme in COLOR_SCHEMES:
        page.emulate_media(color_scheme=scheme)
        # The admin's links fade to their new colours (CSS transitions): measure the end state.
        page.wait_for_function(SETTLED)
        violations = page.evaluate(AXE_RUN, {"runOnly": {"type": "tag", "values": WCAG_TAGS}})
        found[scheme] = [
            f"{violation['id']} ({violation['impact']}): {violation['help']} at "
            + ", ".join(str(node["target"]) for node in violation["nodes"][:5])
            for violation in violations
        ]
    page.emulate_media(color_scheme="light")
    return found


def seed_rows_of_migrations() -> None:
    """A transactional test starts from a flushed database: put back what migrations seed."""
    importlib.import_module("accounts.migrations.0002_seed_user_attributes").seed(django_apps, None)
    operator_roles_sync()


def staff_in(operator, group: str, username: str):
    staff = StaffFactory(operator=operator, username=username)
    staff.groups.set([Group.objects.get(name=group)])
    return staff


def submit(page, selector: str) -> None:
    page.locator(selector).click()
    page.wait_for_load_state("load")


def admin_pages(page, live_server, language: str) -> Iterator[str]:
    """Put the browser on one console page after another, yielding each page's name."""
    seed_rows_of_migrations()
    page.context.add_cookies([{"name": settings.LANGUAGE_COOKIE_NAME, "value": language, "url": live_server.url}])
    operator = OperatorFactory(name="さくら管理")
    unit = UnitFactory(property=PropertyFactory(operator=operator, name="メゾン1"), number="101")
    resident = ResidentFactory(attribute=attribute("rental_resident"))
    ProfileFactory(user=resident, nickname="住人1")
    lease = LeaseFactory(unit=unit, phone_number=resident.phone_number, resident=resident)
    hub = UnitDeviceFactory(unit=unit, name="リビングのハブ")
    UnitSmartLockFactory(unit=unit, name="玄関のスマートロック")
    RemoteControlSettingFactory(device=hub, name="リビングのエアコン")
    admin = staff_in(operator, "operator_admin", "sakura-admin")

    # The operator admin signs in (a wrong password first) and walks the console.
    go(page, reverse("admin:login"))
    yield "login"
    page.locator("#id_username").fill(admin.username)
    page.locator("#id_password").fill("not-the-password")
    submit(page, "#login-form [type=submit]")
    yield "login-error"
    page.locator("#id_password").fill(PASSWORD)
    page.locator("#login-form [type=submit]").click()
    page.wait_for_url("**/admin/")
    page.wait_for_load_state("load")
    yield "index"
    for model in CHANGELISTS:
        go(page, reverse(f"admin:{model}_changelist"))
        yield f"changelist-{model}"
    go(page, reverse("admin:accounts_residentaccount_change", args=[resident.pk]))
    yield "change-residentaccount"
    go(page, reverse("admin:tenancy_lease_change", args=[lease.pk]))
    yield "change-lease"
    go(page, reverse("admin:accounts_staffaccount_add"))
    yield "add-staffaccount"
    go(page, reverse("admin:accounts_residentaccount_phone", args=[resident.pk]))
    yield "phone-change"
    submit(page, "form [type=submit].default")
    yield "phone-change-error"

    go(page, reverse("admin:tenancy_lease_import"))
    yield "lease-import"
    roster = "物件名,部屋番号,入居者電話番号,ユーザー属性,契約開始日,契約終了日\n"
    # An update of unit 101's lease, and a lease on unit 102, which the import is asked to create.
    roster += f"メゾン1,101,{lease.phone_number.as_national},rental_resident,{lease.start_date},2030-03-31\n"
    roster += "メゾン1,102,090-2000-0002,managed,2026-04-01,\n"
    page.locator("input[type=file]").set_input_files(
        files=[{"name": "roster.csv", "mimeType": "text/csv", "buffer": roster.encode()}]
    )
    page.locator("#id_create_units").check()
    submit(page, "form:has(input[type=file]) [type=submit]")
    page.locator("#import-preview").wait_for()
    yield "lease-import-preview"

    go(page, reverse("admin:tenancy_unit_changelist"))
    page.locator(f"input[name=_selected_action][value='{unit.pk}']").check()
    page.locator("select[name=action]").select_option("move_out_now")
    submit(page, "button[name=index]")
    yield "move-out-confirm"

    # The second factor: enrolment, then a staff member who enrolled signs in with a token.
    go(page, reverse("admin:otp_setup"))
    yield "otp-setup"
    enrolled = staff_in(operator, "operator_staff", "sakura-staff")
    device = TOTPDevice.objects.create(user=enrolled, name="admin", confirmed=True)
    client = Client()
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = language
    client.post(reverse("admin:login"), {"username": enrolled.username, "password": PASSWORD})
    use_session(page, live_server, client)
    go(page, reverse("admin:otp_verify"))
    yield "otp-verify"
    page.locator("#id_token").fill("000000" if totp(device.bin_key) != 0 else "111111")
    submit(page, "#otp-verify-form [type=submit]")
    yield "otp-verify-error"
    # django-otp makes the device wait after a wrong token; the walk need not.
    TOTPDevice.objects.filter(pk=device.pk).update(throttling_failure_count=0, throttling_failure_timestamp=None)
    device.refresh_from_db()
    page.locator("#id_token").fill(f"{totp(device.bin_key):06d}")
    page.locator("#otp-verify-form [type=submit]").click()
    page.wait_for_url("**/admin/")
    go(page, reverse("admin:otp_recovery_codes"))
    yield "otp-recovery-codes"
    submit(page, "#otp-recovery-codes-form [type=submit]")
    page.locator(".otp-recovery-codes").wait_for()
    yield "otp-recovery-codes-issued"


@pytest.mark.parametrize("language", ["ja", "en"])
def test_every_admin_page_has_no_wcag_violations(desk_page, live_server, screenshot, language):
    problems, visited = [], []
    for name in admin_pages(desk_page, live_server, language):
        visited.append(name)
        assert desk_page.locator("html").get_attribute("lang") == language, name
        if name in SCREENSHOTS:
            screenshot(desk_page, f"admin-{language}-{name}")
        for scheme, violations in axe_violations(desk_page).items():
            problems += [f"{language} {name} {scheme}: {violation}" for violation in violations]
    assert len(visited) == 22
    assert problems == []
