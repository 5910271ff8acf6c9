"""The takeover of issue 14, replayed: operator A names operator B's resident on a lease of its own.

Before: at the resident's next sign-in the account was linked to A's lease, its attribute
changed, A saw the resident (nickname, e-mail, own devices and PINs), and A's phone change
rewrote B's lease and opened B's door lock to a number A controls. Each step is now refused
or inert.
"""

from __future__ import annotations

from http import HTTPStatus

import pytest
from django.test import Client, TestCase
from django.urls import reverse
from django.utils import timezone

from accounts.models import User
from myspacecore.tenancy.models import AuditLogEntry, Lease
from tests.accounts.verification_helpers import last_sms_code
from tests.factories import attribute

pytestmark = pytest.mark.django_db

A_CONTROLLED_PHONE = "090-7777-0001"


def resident_signs_in(resident: User) -> Client:
    client = Client()
    with TestCase.captureOnCommitCallbacks(execute=True):  # the SMS leaves on commit
        response = client.post(reverse("accounts:signin"), {"phone_number": resident.phone_number.as_national})
    assert response.status_code == HTTPStatus.FOUND
    client.post(reverse("accounts:signin_code"), {"code": last_sms_code(resident.phone_number.as_e164)})
    return client


def a_adds_a_lease_naming(a, resident: User) -> Lease:
    console = Client()
    console.force_login(a.admin)
    response = console.post(
        reverse("admin:tenancy_lease_add"),
        {
            "unit": a.unit.pk,
            "phone_number": resident.phone_number.as_national,
            "attribute": attribute("managed").pk,
            "start_date": (timezone.localdate()).isoformat(),
            "end_date": "",
        },
    )
    assert response.status_code == HTTPStatus.FOUND, response.content.decode()[:2000]
    return Lease.objects.get(unit=a.unit, phone_number=resident.phone_number)


def console_of(a) -> Client:
    console = Client()
    console.force_login(a.admin)
    return console


def test_a_lease_naming_another_operators_resident_takes_over_nothing(tenants):
    a, b = tenants
    victim = b.resident
    b_lease = b.objects["tenancy.Lease"]

    # 1. A registers B's resident: nothing checks the number, and nothing happens to the account.
    a_lease = a_adds_a_lease_naming(a, victim)
    assert a_lease.acceptance == Lease.Acceptance.PENDING and a_lease.resident is None

    # 2. The resident signs in as usual: not linked, attribute unchanged, A's entry shown first.
    client = resident_signs_in(victim)
    victim.refresh_from_db()
    a_lease.refresh_from_db()
    assert victim.attribute == attribute("rental_resident"), "the e-mail step and its rights stay"
    assert a_lease.resident is None
    invitations = client.get(reverse("accounts:mypage"))
    assert invitations.url == reverse("accounts:invitations")
    assert "A-OPERATOR 管理会社" in client.get(invitations.url).content.decode()
    devices = client.get(reverse("smarthome:device_list")).content.decode()
    assert "A-HUB" not in devices and "B-HUB" in devices

    # 3. A's console shows nothing of the resident: not the account, its devices or PINs.
    console = console_of(a)
    page = console.get(reverse("admin:accounts_residentaccount_changelist")).content.decode()
    assert "B-NICK" not in page and victim.phone_number.as_e164 not in page
    assert console.get(reverse("admin:accounts_residentaccount_change", args=[victim.pk])).status_code == 404
    for changelist in ("smarthome_device", "smarthome_pincode", "smarthome_remotecontrolsetting"):
        page = console.get(reverse(f"admin:{changelist}_changelist")).content.decode()
        assert "B-SERIAL" not in page and "B-PIN" not in page and "B-OWN" not in page

    # 4. A cannot change the resident's number: the page is not there for A.
    phone_url = reverse("admin:accounts_residentaccount_phone", args=[victim.pk])
    response = console.post(phone_url, {"phone_number": A_CONTROLLED_PHONE, "confirm": "on"})
    assert response.status_code == 404
    victim.refresh_from_db()
    b_lease.refresh_from_db()
    assert victim.phone_number.as_national != A_CONTROLLED_PHONE
    assert b_lease.phone_number == victim.phone_number
    assert not AuditLogEntry.objects.filter(operator=a.operator, action=AuditLogEntry.Action.PHONE_CHANGE).exists()


def test_once_accepted_a_sees_only_what_its_lease_grants_and_cannot_touch_bs_lease(tenants):
    a, b = tenants
    resident = b.resident
    b_lease = b.objects["tenancy.Lease"]
    a_lease = a_adds_a_lease_naming(a, resident)
    client = resident_signs_in(resident)
    client.post(reverse("accounts:invitations"), {"lease": a_lease.pk, "answer": "accept"})
    a_lease.refresh_from_db()
    assert a_lease.resident == resident  # a second home: the resident said it is theirs

    console = console_of(a)
    page = console.get(reverse("admin:accounts_residentaccount_changelist")).content.decode()
    assert "B-NICK" in page, "the number and nickname of a resident who accepted"
    change = console.get(reverse("admin:accounts_residentaccount_change", args=[resident.pk])).content.decode()
    assert "b-resident@example.jp" not in change, "never the e-mail address"
    for changelist in ("smarthome_device", "smarthome_pincode", "smarthome_remotecontrolsetting"):
        page = console.get(reverse(f"admin:{changelist}_changelist")).content.decode()
        assert "B-SERIAL" not in page and "B-PIN" not in page and "B-OWN" not in page, changelist

    # B's accepted lease is in force: A may not change the number (nor, through it, B's lease).
    phone_url = reverse("admin:accounts_residentaccount_phone", args=[resident.pk])
    response = console.post(phone_url, {"phone_number": A_CONTROLLED_PHONE, "confirm": "on"})
    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert "他の管理会社の入居契約も承認している" in response.content.decode()
    resident.refresh_from_db()
    b_lease.refresh_from_db()
    assert resident.phone_number.as_national != A_CONTROLLED_PHONE
    assert b_lease.phone_number == resident.phone_number


def test_a_declined_entry_shows_declined_to_its_operator_and_grants_nothing(tenants):
    a, b = tenants
    resident = b.resident
    a_lease = a_adds_a_lease_naming(a, resident)
    client = resident_signs_in(resident)
    client.post(reverse("accounts:invitations"), {"lease": a_lease.pk, "answer": "decline"})
    a_lease.refresh_from_db()
    assert a_lease.acceptance == Lease.Acceptance.DECLINED and a_lease.resident is None
    page = console_of(a).get(reverse("admin:tenancy_lease_changelist")).content.decode()
    assert "入居者が辞退" in page
    assert "B-NICK" not in console_of(a).get(reverse("admin:accounts_residentaccount_changelist")).content.decode()
    assert client.get(reverse("accounts:invitations")).url == reverse("accounts:mypage")


def test_a_phone_change_by_the_operator_moves_only_its_own_lease_and_names_the_company(tenants, mailoutbox):
    from accounts import sms

    a, _b = tenants
    resident = a.resident
    old = resident.phone_number.as_e164
    console = console_of(a)
    phone_url = reverse("admin:accounts_residentaccount_phone", args=[resident.pk])
    with TestCase.captureOnCommitCallbacks(execute=True):
        response = console.post(phone_url, {"phone_number": "090-7777-0002", "confirm": "on"})
    assert response.status_code == HTTPStatus.FOUND
    a.objects["tenancy.Lease"].refresh_from_db()
    assert a.objects["tenancy.Lease"].phone_number == "+819077770002"
    notice = [message for message in sms.outbox if message.to == old][-1].body
    assert "A-OPERATOR 管理会社" in notice
    notices = [message.body for message in mailoutbox if message.to == ["a-resident@example.jp"]]
    assert any("A-OPERATOR 管理会社" in body for body in notices)
    entry = AuditLogEntry.objects.filter(action=AuditLogEntry.Action.PHONE_CHANGE).get()
    assert entry.operator == a.operator
