"""Every resident page, in the states a resident meets them, for the page-wide browser checks.

`resident_pages(page, live_server, language)` is a generator: it creates the residents
it needs, puts the browser on one page after another (a session prepared with Django's
test client where a step needs one, real clicks where the state is an error), and yields
the page's name each time; the accessibility, layout and request tests run their checks
at every stop. One walk covers sign-in, code entry, each wizard step, My page, the edit
page and each change flow, smart home, deletion, the help centre and the error pages.
"""

from __future__ import annotations

import datetime
import re
from collections.abc import Iterator

from django.conf import settings
from django.core import mail
from django.template.loader import get_template
from django.test import Client
from django.utils import timezone

from accounts.models import Profile
from smarthome.models import Device, SyncState
from tests.accounts.profile_helpers import attributes_seed, code_in
from tests.factories import (
    LeaseFactory,
    OperatorFactory,
    ProfileFactory,
    ResidentFactory,
    StaffFactory,
    UnitFactory,
    attribute,
)
from tests.smarthome.factories import PinCodeFactory, RemoteControlSettingFactory, SmartLockFactory, UnitDeviceFactory

# A query string over DATA_UPLOAD_MAX_NUMBER_FIELDS: Django answers 400 (SuspiciousOperation).
BAD_REQUEST_PATH = "/help/?" + "&".join(f"f{n}=1" for n in range(1100))
SERVER_ERROR_PATH = "/__server-error__/"
# What residents and operators typed (names, nicknames): Japanese on the English pages too.
JAPANESE_DATA = re.compile(
    r"住人\d+|メゾン\d+|管理会社\d+|平日|さくら管理|さくら|とても長いニックネームです|玄関のスマートロック"
    r"|リビングのエアコン|リビングのハブ|家族用|ダイキン|エアコン\d+|ハブ\d+|来客用|清掃用|ゲスト用|勝手口のスマートロック"
)


def client_for(language: str, user=None) -> Client:
    client = Client()
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = language
    if user is not None:
        client.force_login(user)
    return client


def use_session(page, live_server, client: Client) -> None:
    """Continue in the browser with the session the test client prepared."""
    page.context.add_cookies(
        [
            {
                "name": settings.SESSION_COOKIE_NAME,
                "value": client.cookies[settings.SESSION_COOKIE_NAME].value,
                "url": live_server.url,
            }
        ]
    )


def forget_session(page) -> None:
    page.context.clear_cookies(name=settings.SESSION_COOKIE_NAME)


def go(page, path: str) -> None:
    page.goto(path)
    page.wait_for_load_state("load")


def _serve_the_500_page(page) -> None:
    # No view of ours fails on purpose: the browser gets 500.html exactly as Django's handler renders it.
    body = get_template("500.html").render()
    page.route(f"**{SERVER_ERROR_PATH}", lambda route: route.fulfill(status=500, body=body, content_type="text/html"))


def resident_pages(page, live_server, language: str, *, deletion: bool = True) -> Iterator[str]:
    attributes_seed()
    page.context.add_cookies([{"name": settings.LANGUAGE_COOKIE_NAME, "value": language, "url": live_server.url}])

    # Signed out: home, sign-in, the code page, the help centre, the error pages.
    go(page, "/")
    yield "home"
    go(page, "/signin/")
    yield "signin"
    page.locator("#id_phone_number").fill("12345")
    page.locator("#signin-send").click()
    page.locator("[data-error-summary]").wait_for()
    page.wait_for_load_state("load")
    yield "signin-error"
    anonymous = client_for(language)
    anonymous.post("/signin/", {"phone_number": "090-5555-0001"})
    use_session(page, live_server, anonymous)
    go(page, "/signin/code/")
    yield "signin-code"
    forget_session(page)
    go(page, "/help/")
    yield "help-index"
    go(page, "/help/?q=" + ("認証コード" if language == "ja" else "code"))
    yield "help-search"
    for slug in ("registration", "change-availability", "code-not-arriving"):
        go(page, f"/help/{slug}/")
        yield f"help-{slug}"
    go(page, "/no-such-page/")
    yield "error-404"
    go(page, BAD_REQUEST_PATH)
    yield "error-400"
    _serve_the_500_page(page)
    go(page, SERVER_ERROR_PATH)
    yield "error-500"

    # The registration wizard of an owner (with the e-mail step), then one that skips it.
    newcomer = ResidentFactory(attribute=attribute("owner"))
    wizard = client_for(language, newcomer)
    use_session(page, live_server, wizard)
    go(page, "/mypage/myspacecore/register/")
    yield "register-basics"
    page.locator("form[action$='/register/'] button.primary").click()
    page.locator("[data-error-summary]").wait_for()
    page.wait_for_load_state("load")
    yield "register-basics-error"
    basics = {"nickname": "さくら", "birth_year": "1990", "gender": Profile.Gender.FEMALE}
    wizard.post("/mypage/myspacecore/register/", basics)
    go(page, "/mypage/myspacecore/register/email/")
    yield "register-email"
    wizard.post("/mypage/myspacecore/register/email/", {"email": "sakura@example.jp"})
    go(page, "/mypage/myspacecore/register/code/")
    yield "register-code"
    code = code_in(mail.outbox[-1].body)
    wizard.post("/mypage/myspacecore/register/code/", {"code": f"{(int(code) + 1) % 1_000_000:06d}"})
    go(page, "/mypage/myspacecore/register/email/")
    yield "register-email-wait"

    second = client_for(language, ResidentFactory(attribute=attribute("owner")))
    second.post("/mypage/myspacecore/register/", basics)
    second.post("/mypage/myspacecore/register/email/", {"skip": "1"})
    use_session(page, live_server, second)
    go(page, "/mypage/myspacecore/register/confirm/")
    yield "register-confirm"
    page.locator("form[action$='/confirm/'] button.primary").click()
    page.locator("a.button[href='/mypage/']").wait_for()
    page.wait_for_load_state("load")
    yield "register-done"

    # A resident whose number a management company registered: its entry waits for an answer.
    invited = ProfileFactory(user=ResidentFactory(attribute=attribute("owner"))).user
    LeaseFactory(phone_number=invited.phone_number, end_date=None)
    use_session(page, live_server, client_for(language, invited))
    go(page, "/mypage/")
    yield "mypage-invitation"
    go(page, "/mypage/invitations/")
    yield "invitations"

    # An owner with a profile, an address and a smart lock: My page, editing, smart home.
    owner = ProfileFactory(user=ResidentFactory(attribute=attribute("owner")), email="owner@example.jp").user
    lock = SmartLockFactory(owner_user=owner, name="玄関のスマートロック")
    remote = RemoteControlSettingFactory(device=lock, name="リビングのエアコン")
    pin_code = PinCodeFactory(device=lock, label="家族用")
    signed_in = client_for(language, owner)
    use_session(page, live_server, signed_in)
    go(page, "/mypage/")
    yield "mypage"
    go(page, "/mypage/myspacecore/")
    yield "profile-edit"
    page.locator("#id_nickname").fill("とても長いニックネームです")
    page.locator("form[action='/mypage/myspacecore/'] button.primary").click()
    page.locator("[data-error-summary]").wait_for()
    page.wait_for_load_state("load")
    yield "profile-edit-error"
    go(page, "/mypage/myspacecore/data/view/")
    yield "data-view"
    go(page, "/mypage/myspacecore/phone/")
    yield "profile-phone"
    signed_in.post("/mypage/myspacecore/phone/", {"phone_number": "080-5555-0002"})
    go(page, "/mypage/myspacecore/phone/verify/")
    yield "profile-phone-verify"
    go(page, "/mypage/myspacecore/email/")
    yield "profile-email"
    signed_in.post("/mypage/myspacecore/email/", {"email": "new-owner@example.jp"})
    go(page, "/mypage/myspacecore/email/verify/")
    yield "profile-email-verify"
    go(page, "/mypage/smarthome/")
    yield "smarthome-devices"
    go(page, f"/mypage/smarthome/devices/{lock.pk}/")
    yield "smarthome-device"
    go(page, f"/mypage/smarthome/devices/{lock.pk}/remotes/add/")
    yield "smarthome-remote-add"
    go(page, f"/mypage/smarthome/remotes/{remote.pk}/edit/")
    yield "smarthome-remote-edit"
    go(page, f"/mypage/smarthome/remotes/{remote.pk}/delete/")
    yield "smarthome-remote-delete"
    go(page, f"/mypage/smarthome/devices/{lock.pk}/pins/add/")
    yield "smarthome-pin-add"
    go(page, f"/mypage/smarthome/pins/{pin_code.pk}/delete/")
    yield "smarthome-pin-delete"
    go(page, f"/mypage/smarthome/pins/{pin_code.pk}/edit/")
    yield "smarthome-pin-edit"
    # Every state a setting can be in on its lock (docs/device-states.md), and a lock whose hub is offline.
    states_lock = SmartLockFactory(
        owner_user=owner, name="勝手口のスマートロック", desired_version=3, reported_version=2
    )
    PinCodeFactory(device=states_lock, label="家族用", sync_state=SyncState.SET)
    PinCodeFactory(device=states_lock, label="来客用", sync_state=SyncState.SETTING, changed_version=3)
    PinCodeFactory(device=states_lock, label="清掃用", sync_state=SyncState.FAILED, sync_failure="lock_full")
    PinCodeFactory(device=states_lock, label="ゲスト用", sync_state=SyncState.REMOVING, changed_version=3)
    go(page, f"/mypage/smarthome/devices/{states_lock.pk}/")
    yield "smarthome-device-states"
    Device.objects.filter(pk=states_lock.pk).update(
        sync_failure=Device.SyncFailure.OFFLINE, sync_failure_since=timezone.now() - datetime.timedelta(hours=3)
    )
    go(page, f"/mypage/smarthome/devices/{states_lock.pk}/")
    yield "smarthome-device-offline"

    # A rental resident: the company's contact instead of 「変更する」, also on the phone page
    # opened directly (issue 16); a managed account's e-mail page says so with the contact; and a
    # refused page (403: staff on a resident page).
    operator = OperatorFactory(name="さくら管理", contact_phone="0120-111-222", contact_email="info@sakura.example.jp")
    unit = UnitFactory(property__operator=operator)
    tenant = ProfileFactory(user=ResidentFactory(attribute=attribute("rental_resident"))).user
    LeaseFactory(unit=unit, phone_number=tenant.phone_number, resident=tenant)
    UnitDeviceFactory(unit=unit, name="リビングのハブ")
    use_session(page, live_server, client_for(language, tenant))
    go(page, "/mypage/myspacecore/")
    yield "profile-edit-rental"
    go(page, "/mypage/smarthome/")
    yield "smarthome-devices-rental"
    go(page, "/help/editing/")
    yield "help-editing-rental"
    go(page, "/mypage/myspacecore/phone/")
    yield "profile-phone-rental"
    use_session(page, live_server, client_for(language, ProfileFactory(user__attribute=attribute("managed")).user))
    go(page, "/mypage/myspacecore/email/")
    yield "profile-email-managed"
    use_session(page, live_server, client_for(language, StaffFactory()))
    go(page, "/mypage/")
    yield "error-403"

    if deletion:
        use_session(page, live_server, signed_in)
        go(page, "/mypage/myspacecore/deletion/")
        yield "deletion-about"
        page.locator("#deletion-submit").click()
        page.locator("[data-error-summary]").wait_for()
        page.wait_for_load_state("load")
        yield "deletion-about-error"
        page.locator("#id_agree").check()
        page.locator("#deletion-submit").click()
        page.locator("#deletion-confirm").wait_for()
        page.wait_for_load_state("load")
        yield "deletion-confirm"
        page.locator("#deletion-confirm").click()
        page.locator("#deletion-ok").wait_for()
        page.wait_for_load_state("load")
        yield "deletion-done"

    # Last, as they change what this browser may do: a refused form (CSRF) and the 429 page.
    forget_session(page)
    go(page, "/signin/")
    page.context.clear_cookies(name=settings.CSRF_COOKIE_NAME)
    page.locator("#id_phone_number").fill("090-5555-0003")
    page.locator("#signin-send").click()
    page.wait_for_load_state("load")
    yield "error-403-csrf"
    go(page, "/help/about/")
    feedback = client_for(language)
    for _ in range(10):
        feedback.post("/help/about/feedback/", {"helpful": "yes"})
    page.locator("#feedback button[value='yes']").click()
    page.wait_for_load_state("load")
    yield "error-429"
