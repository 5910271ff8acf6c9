"""Deleting MySpaceCore (SPEC "Deletion"): the pages, what goes at once, what stays, and signing in again."""

from __future__ import annotations

import datetime
import io
from http import HTTPStatus

import pytest
import time_machine
from django.contrib.auth import SESSION_KEY
from django.core.management import call_command
from django.db import connection
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from kombu.exceptions import OperationalError as BrokerDown

from accounts.models import AccountSession, Profile, User, VerificationCode, VerificationTarget
from accounts.services.deletion import account_delete
from accounts.services.invitations import lease_invitation_answer
from accounts.services.signin import resident_sign_in
from accounts.services.verification import verification_code_issue
from myspacecore.tenancy.models import Lease
from smarthome.models import Device, PinCode, RemoteControlSetting, SettingsPurgeRequest
from smarthome.tasks import settings_purge_request_run
from tests.factories import LeaseFactory, ProfileFactory, ResidentFactory, StaffFactory, UnitFactory, attribute
from tests.smarthome.factories import (
    DeviceFactory,
    PinCodeFactory,
    RemoteControlSettingFactory,
    SmartLockFactory,
    UnitDeviceFactory,
)

pytestmark = pytest.mark.django_db

ABOUT = reverse("accounts:deletion")
CONFIRM = reverse("accounts:deletion_confirm")
DONE = reverse("accounts:deletion_done")
DAY = datetime.timedelta(days=1)


@pytest.fixture
def resident():
    user = ResidentFactory(attribute=attribute("rental_resident"))
    ProfileFactory(user=user, nickname="さくら", email="Sakura@Example.jp")
    return user


def signed_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def agree_and_delete(client: Client):
    response = client.post(ABOUT, {"agree": "on"})
    assert response.status_code == HTTPStatus.FOUND
    assert response.url == CONFIRM
    return client.post(CONFIRM)


# The pages
# ------------------------------------------------------------------------------


def test_about_page_explains_what_goes_what_stays_and_offers_the_download(resident):
    response = signed_in(resident).get(ABOUT)
    assert response.status_code == HTTPStatus.OK
    text = response.content.decode()
    assert "入居契約期間中はスマートホームで設定された情報をリセットすることはできません" in text
    assert "アプリのユーザー認証を最初からやり直すことにより" in text
    assert "同意します" in text
    assert "設定情報の削除" in text
    assert reverse("accounts:data_download") in text


@pytest.mark.parametrize("url", [ABOUT, CONFIRM, reverse("accounts:data_download")])
def test_deletion_pages_need_a_signed_in_resident(client, url):
    response = client.get(url)
    assert response.status_code == HTTPStatus.FOUND
    assert response.url.startswith(reverse("accounts:signin"))


@pytest.mark.parametrize("url", [ABOUT, CONFIRM, reverse("accounts:data_download")])
def test_staff_cannot_reach_the_deletion_pages(url):
    staff = StaffFactory()
    assert signed_in(staff).get(url).status_code == HTTPStatus.FORBIDDEN
    assert signed_in(staff).post(CONFIRM).status_code == HTTPStatus.FORBIDDEN
    assert User.objects.filter(pk=staff.pk).exists()


def test_without_the_tick_nothing_happens_and_the_page_says_why(resident):
    client = signed_in(resident)
    response = client.post(ABOUT, {})
    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert "「同意します」にチェックを入れてください" in response.content.decode()
    # The confirm step is not reachable, and posting to it directly deletes nothing.
    assert client.get(CONFIRM).url == ABOUT
    response = client.post(CONFIRM)
    assert response.status_code == HTTPStatus.FOUND
    assert response.url == ABOUT
    assert User.objects.filter(pk=resident.pk).exists()
    assert Profile.objects.filter(user=resident).exists()


def test_an_old_tick_does_not_delete(resident):
    client = signed_in(resident)
    with time_machine.travel(timezone.now(), tick=False) as traveller:
        client.post(ABOUT, {"agree": "on"})
        assert client.get(CONFIRM).status_code == HTTPStatus.OK
        traveller.shift(datetime.timedelta(minutes=11))
        response = client.post(CONFIRM)
    assert response.url == ABOUT
    assert User.objects.filter(pk=resident.pk).exists()


def test_confirm_then_delete_shows_the_done_page_signed_out(resident):
    client = signed_in(resident)
    response = client.post(ABOUT, {"agree": "on"})
    confirm = client.get(response.url)
    assert confirm.status_code == HTTPStatus.OK
    assert "削除" in confirm.content.decode()

    response = client.post(CONFIRM)
    assert response.status_code == HTTPStatus.FOUND
    assert response.url == DONE
    done = client.get(DONE)
    assert done.status_code == HTTPStatus.OK
    text = done.content.decode()
    assert "ユーザー情報の削除が完了しました。" in text
    assert f'href="{reverse("accounts:signin")}"' in text
    assert SESSION_KEY not in client.session
    assert not User.objects.filter(pk=resident.pk).exists()
    # After the flag expires the done page is simply the sign-in page.
    with time_machine.travel(timezone.now() + datetime.timedelta(minutes=11)):
        assert client.get(DONE).url == reverse("accounts:signin")


def test_done_page_is_only_shown_right_after_a_deletion(client, resident):
    assert client.get(DONE).url == reverse("accounts:signin")
    assert signed_in(resident).get(DONE).url == reverse("accounts:signin")


def test_deletion_ends_every_session_of_the_account(resident):
    this_phone, other_phone = signed_in(resident), signed_in(resident)
    assert other_phone.get(reverse("accounts:mypage")).status_code == HTTPStatus.OK
    agree_and_delete(this_phone)
    response = other_phone.get(reverse("accounts:mypage"))
    assert response.status_code == HTTPStatus.FOUND
    assert response.url.startswith(reverse("accounts:signin"))


def test_deletion_deletes_the_session_row_of_every_device_and_no_one_else(resident):
    this_phone, other_phone = signed_in(resident), signed_in(resident)
    neighbour = signed_in(ProfileFactory().user)
    other_key = other_phone.session.session_key
    assert AccountSession.objects.filter(account_id=resident.pk).count() == 2

    agree_and_delete(this_phone)

    assert not AccountSession.objects.filter(account_id=resident.pk).exists()
    assert not AccountSession.objects.filter(session_key=other_key).exists()
    # The deleting browser is left with a fresh anonymous session; the neighbour is untouched.
    assert AccountSession.objects.filter(session_key=neighbour.session.session_key).exists()
    assert neighbour.get(reverse("accounts:mypage")).status_code == HTTPStatus.OK


def test_the_same_deletion_confirmed_in_two_tabs_is_harmless(resident):
    assert account_delete(user=resident) is not None
    assert account_delete(user=resident) is None
    assert SettingsPurgeRequest.objects.count() == 1


# What goes at once, what stays
# ------------------------------------------------------------------------------


def raw_rows(sql: str, params=()) -> list[tuple]:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()


def test_a_raw_read_finds_no_trace_of_the_profile_codes_or_own_devices(resident, django_capture_on_commit_callbacks):
    phone = str(resident.phone_number)
    own_hub = DeviceFactory(owner_user=resident, serial_number="SC-OWN-0001")
    RemoteControlSettingFactory.create_batch(2, device=own_hub)
    PinCodeFactory(device=SmartLockFactory(owner_user=resident))
    verification_code_issue(purpose="sign_in", target=phone, channel="sms")
    verification_code_issue(purpose="email", target="sakura@example.jp", channel="email", user=resident)
    others = ProfileFactory(nickname="もも")
    other_pin = PinCodeFactory(device=SmartLockFactory(owner_user=others.user))

    with django_capture_on_commit_callbacks(execute=True):
        account_delete(user=resident)

    assert raw_rows("SELECT nickname FROM accounts_profile") == [("もも",)]
    assert raw_rows("SELECT id FROM accounts_user WHERE phone_number = %s", [phone]) == []
    targets = [phone, "sakura@example.jp"]
    assert raw_rows("SELECT id FROM accounts_verificationcode WHERE target IN (%s, %s)", targets) == []
    assert raw_rows("SELECT id FROM accounts_verificationtarget WHERE target IN (%s, %s)", targets) == []
    assert raw_rows("SELECT id FROM smarthome_device WHERE serial_number = 'SC-OWN-0001'") == []
    assert [row[0] for row in raw_rows("SELECT id FROM smarthome_pincode")] == [other_pin.pk]
    assert raw_rows("SELECT COUNT(*) FROM smarthome_remotecontrolsetting") == [(0,)]


def test_roster_entry_stays_unlinked_and_a_failure_count_survives(resident):
    lease = LeaseFactory(resident=resident, phone_number=resident.phone_number)
    VerificationTarget.objects.create(target=str(resident.phone_number), consecutive_failures=3)
    account_delete(user=resident)
    lease.refresh_from_db()
    assert lease.resident is None
    assert Lease.objects.filter(pk=lease.pk, unit=lease.unit, attribute=attribute("rental_resident")).exists()
    assert VerificationTarget.objects.get(target=str(resident.phone_number)).consecutive_failures == 3


def test_signing_in_again_with_the_same_number_starts_a_fresh_account(resident, django_capture_on_commit_callbacks):
    phone = str(resident.phone_number)
    unit = UnitFactory()
    lease = LeaseFactory(unit=unit, resident=resident, phone_number=phone)
    RemoteControlSettingFactory(device=UnitDeviceFactory(unit=unit), name="リビング")
    PinCodeFactory(device=SmartLockFactory(owner_user=resident))
    old_pk = resident.pk
    with django_capture_on_commit_callbacks(execute=True):
        account_delete(user=resident)

    fresh = resident_sign_in(phone_number=phone)
    assert fresh.pk != old_pk
    assert not Profile.objects.filter(user=fresh).exists()
    assert not Device.objects.filter(owner_user=fresh).exists()
    assert not PinCode.objects.exists()
    lease.refresh_from_db()
    assert lease.resident is None and lease.acceptance == lease.Acceptance.PENDING, "the entry asks again"
    lease_invitation_answer(user=fresh, lease_id=lease.pk, accept=True)
    lease.refresh_from_db()
    fresh.refresh_from_db()
    assert lease.resident == fresh, "the operator's roster entry links the new account once accepted"
    assert fresh.attribute == attribute("rental_resident")
    # The unit's settings were protected by the lease in force; they were the unit's, not the profile's.
    assert RemoteControlSetting.objects.filter(device__unit=unit).count() == 1
    response = signed_in(fresh).get(reverse("accounts:mypage"))
    assert response.url == reverse("accounts:register"), "registration starts again"


def test_deletion_succeeds_and_the_request_stays_pending_when_the_broker_is_down(
    resident, monkeypatch, django_capture_on_commit_callbacks
):
    today = timezone.localdate()
    unit = UnitFactory()
    LeaseFactory(unit=unit, resident=resident, start_date=today - 400 * DAY, end_date=today - 3 * DAY)
    RemoteControlSettingFactory(device=UnitDeviceFactory(unit=unit))

    def broker_down(*args, **kwargs):
        raise BrokerDown("Error 111 connecting to 127.0.0.1:6379. Connection refused.")

    monkeypatch.setattr(settings_purge_request_run, "delay", broker_down)
    client = signed_in(resident)
    client.post(ABOUT, {"agree": "on"})
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(CONFIRM)
    assert response.url == DONE
    assert client.get(DONE).status_code == HTTPStatus.OK
    assert not User.objects.filter(pk=resident.pk).exists()
    purge_request = SettingsPurgeRequest.objects.get()
    assert purge_request.state == SettingsPurgeRequest.State.PENDING
    assert RemoteControlSetting.objects.filter(device__unit=unit).count() == 1

    call_command("cleanup_purge_requests", stdout=io.StringIO())
    purge_request.refresh_from_db()
    assert purge_request.state == SettingsPurgeRequest.State.DONE
    assert RemoteControlSetting.objects.filter(device__unit=unit).count() == 0
    assert not VerificationCode.objects.exists()
