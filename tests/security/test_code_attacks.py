"""Attacks on the verification codes (ASVS V6, NIST SP 800-63B-4 §3.1.3, §3.2.2), through the real pages.

Each test is named after the attack it stages; its docstring says which defence stops it.
"""

from __future__ import annotations

import datetime
from http import HTTPStatus

import pytest
import time_machine
from django.contrib.auth import SESSION_KEY
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from accounts import sms
from accounts.models import VerificationCode, VerificationTarget
from accounts.services.verification import VerificationFailed, verification_code_verify
from accounts.views.signin import SESSION_PENDING
from tests.accounts.verification_helpers import issue_and_read, last_email_code, last_sms_code
from tests.factories import ProfileFactory, attribute
from tests.security.conftest import NOW, PHONE, PHONE_NATIONAL, SIGNIN, SIGNIN_CODE, client_from, wrong

pytestmark = pytest.mark.django_db

VICTIM = "+819087650001"
VICTIM_NATIONAL = "090-8765-0001"


def pending_session(client: Client, *, code_id: int, phone: str) -> None:
    """Put a code-entry step into the client's (server-side) session, as the phone page would."""
    session = client.session
    session[SESSION_PENDING] = {"code_id": code_id, "phone": phone}
    session.save()


def test_replay_of_a_used_code_is_refused(client, sign_in):
    """Single use: the code row is settled USED by one conditional UPDATE; a second POST of it fails."""
    assert sign_in(client).status_code == HTTPStatus.FOUND
    code = VerificationCode.objects.get()
    plain = last_sms_code(PHONE)
    attacker = client_from("203.0.113.9")
    pending_session(attacker, code_id=code.pk, phone=PHONE)
    response = attacker.post(SIGNIN_CODE, {"code": plain})
    assert response.status_code == HTTPStatus.FOUND
    assert response.url == SIGNIN
    assert SESSION_KEY not in attacker.session
    assert "この認証コードは使用できません" in attacker.get(SIGNIN).content.decode()


def test_code_sent_to_phone_a_does_not_sign_in_phone_b(send):
    """Target binding: the attacker's own code (number A) typed on the page of the victim's number B."""
    attacker = client_from("203.0.113.10")
    send(attacker, PHONE_NATIONAL)
    own_code = last_sms_code(PHONE)
    victim_page = client_from("203.0.113.10")
    send(victim_page, VICTIM_NATIONAL)
    victim_code = last_sms_code(VICTIM)
    if own_code == victim_code:  # one chance in a million: the attack would then be a lucky guess
        own_code = wrong(victim_code)
    response = victim_page.post(SIGNIN_CODE, {"code": own_code})
    assert response.url == SIGNIN
    assert SESSION_KEY not in victim_page.session
    assert VerificationCode.objects.get(target=VICTIM).state == VerificationCode.State.BURNED


def test_code_of_phone_a_on_the_code_row_of_phone_b_is_refused(django_capture_on_commit_callbacks):
    """Target binding in the engine: a code row issued for A never verifies as B, even with A's right code."""
    code, plain = issue_and_read(django_capture_on_commit_callbacks, target=PHONE)
    with pytest.raises(VerificationFailed):
        verification_code_verify(
            code_id=code.pk, purpose=VerificationCode.Purpose.SIGN_IN, target=VICTIM, raw_code=plain
        )
    assert VerificationCode.objects.get(pk=code.pk).state == VerificationCode.State.BURNED


def test_sign_in_code_used_for_an_email_change_is_refused(django_capture_on_commit_callbacks):
    """Purpose binding: a sign-in code for an address never proves that address for an e-mail change."""
    user = ProfileFactory(user__attribute=attribute("owner")).user
    address = "victim@example.jp"
    code, plain = issue_and_read(
        django_capture_on_commit_callbacks,
        purpose=VerificationCode.Purpose.SIGN_IN,
        target=address,
        channel=VerificationCode.Channel.EMAIL,
        user=user,
    )
    with pytest.raises(VerificationFailed) as failed:
        verification_code_verify(
            code_id=code.pk, purpose=VerificationCode.Purpose.EMAIL, target=address, raw_code=plain, user=user
        )
    assert failed.value.reason == "wrong"


def test_email_code_of_another_account_is_refused(django_capture_on_commit_callbacks):
    """Account binding: B's e-mail code, even right, does not verify on A's pending change."""
    victim = ProfileFactory(user__attribute=attribute("owner")).user
    attacker = ProfileFactory(user__attribute=attribute("owner")).user
    code, plain = issue_and_read(
        django_capture_on_commit_callbacks,
        purpose=VerificationCode.Purpose.EMAIL,
        target="shared@example.jp",
        channel=VerificationCode.Channel.EMAIL,
        user=victim,
    )
    with pytest.raises(VerificationFailed):
        verification_code_verify(
            code_id=code.pk,
            purpose=VerificationCode.Purpose.EMAIL,
            target="shared@example.jp",
            raw_code=plain,
            user=attacker,
        )


def test_thousand_wrong_codes_from_rotating_ips_and_new_sessions(send):
    """Guessing with a fresh session and IP each time: the count is on the target, survives new
    codes, the wait grows past 5 failures, and the target locks at 100 consecutive failures."""
    waits, refused, burned = [], 0, 0
    with time_machine.travel(NOW, tick=False) as clock:
        for attempt in range(1000):
            browser = client_from(f"10.{attempt // 250}.{attempt % 250}.7")
            response = send(browser, VICTIM_NATIONAL)
            if response.status_code == HTTPStatus.FORBIDDEN:
                assert "利用を停止しています" in response.content.decode()
                refused += 1
            else:
                assert response.status_code == HTTPStatus.FOUND, (attempt, response.status_code)
                failed = browser.post(SIGNIN_CODE, {"code": wrong(last_sms_code(VICTIM))})
                assert failed.url == SIGNIN
                assert SESSION_KEY not in browser.session
                burned += 1
                row = VerificationTarget.objects.get(target=VICTIM)
                waits.append(round((row.wait_until - timezone.now()).total_seconds()))
            # Past the wait and the hourly rate windows: only the target's count stands in the way.
            clock.shift(datetime.timedelta(hours=1, seconds=1))
    row = VerificationTarget.objects.get(target=VICTIM)
    assert burned == 100
    assert refused == 900
    assert row.consecutive_failures == 100
    assert waits[:20] == [30] * 5 + [60] * 5 + [300] * 10
    assert waits[20:40] == [900] * 20
    assert set(waits[40:]) == {3600}
    assert VerificationCode.objects.filter(state=VerificationCode.State.USED).count() == 0
    assert len(sms.outbox) == 100


@pytest.mark.parametrize(
    ("elapsed", "signed_in"),
    [(datetime.timedelta(minutes=4, seconds=59), True), (datetime.timedelta(minutes=5, seconds=1), False)],
    ids=["4:59", "5:01"],
)
def test_code_entered_at_4_59_signs_in_and_at_5_01_is_expired(client, send, elapsed, signed_in):
    """Lifetime: a code is valid 5 minutes; after that the right code is an expired, burned one."""
    with time_machine.travel(NOW, tick=False) as clock:
        send(client)
        plain = last_sms_code(PHONE)
        clock.shift(elapsed)
        response = client.post(SIGNIN_CODE, {"code": plain})
    assert (SESSION_KEY in client.session) is signed_in
    state = VerificationCode.objects.get().state
    assert state == (VerificationCode.State.USED if signed_in else VerificationCode.State.BURNED)
    if not signed_in:
        assert response.url == SIGNIN


@pytest.mark.parametrize("bypass", ["cookies_dropped", "new_session", "other_ip"])
def test_failure_wait_is_not_bypassed_by_cookies_session_or_ip(client, send, bypass):
    """The 30-second wait is kept on the target's row, not in the session, a cookie or per IP."""
    with time_machine.travel(NOW, tick=False) as clock:
        send(client)
        client.post(SIGNIN_CODE, {"code": wrong(last_sms_code(PHONE))})
        clock.shift(datetime.timedelta(seconds=5))
        if bypass == "cookies_dropped":
            client.cookies.clear()
            again = client
        elif bypass == "new_session":
            client.session.flush()
            again = Client()
        else:
            again = client_from("198.51.100.77")
        response = send(again)
        assert response.status_code == HTTPStatus.TOO_MANY_REQUESTS
        assert int(response["Retry-After"]) == 25
        # NOW is 12:00 in Tokyo; the wait started at 12:00 and ends at 12:00:30.
        assert (
            "認証コードをまちがえたため、12:01 以降に新しい認証コードを送信できます（あと25秒）。"
            in response.content.decode()
        )
        assert len(sms.outbox) == 1
        clock.shift(datetime.timedelta(seconds=26))
        assert send(again).status_code == HTTPStatus.FOUND
    assert len(sms.outbox) == 2


def _wrong_looking(plain: str) -> dict[str, str]:
    return {
        "five_digits": plain[:5],
        "seven_digits": plain + "1",
        "arabic_indic_digits": plain.translate(str.maketrans("0123456789", "٠١٢٣٤٥٦٧٨٩")),
        "letters": "abcdef",
    }


@pytest.mark.parametrize(
    "form",
    ["spaces_around", "full_width", "hyphenated"],
)
def test_fuzzed_code_in_a_forgiving_form_still_signs_in(client, send, form):
    """Forgiving input: the one right code, typed with spaces, full-width digits or a hyphen."""
    send(client)
    plain = last_sms_code(PHONE)
    typed = {
        "spaces_around": f" {plain} ",
        "full_width": plain.translate(str.maketrans("0123456789", "０１２３４５６７８９")),
        "hyphenated": f"{plain[:3]}-{plain[3:]}",
    }[form]
    response = client.post(SIGNIN_CODE, {"code": typed})
    assert response.status_code == HTTPStatus.FOUND
    assert SESSION_KEY in client.session


@pytest.mark.parametrize("kind", ["five_digits", "seven_digits", "arabic_indic_digits", "letters"])
def test_fuzzed_code_that_is_not_six_ascii_digits_is_a_wrong_code(client, send, kind):
    """Only ASCII (or full-width) digits count: other scripts' digits and lengths are a wrong, burned code."""
    send(client)
    response = client.post(SIGNIN_CODE, {"code": _wrong_looking(last_sms_code(PHONE))[kind]})
    assert response.status_code == HTTPStatus.FOUND
    assert response.url == SIGNIN
    assert SESSION_KEY not in client.session
    assert VerificationCode.objects.get().state == VerificationCode.State.BURNED


JUNK = {
    "array": {"code": ["123456", "654321"]},
    "php_array": {"code[]": ["123456"]},
    "nul_byte": {"code": "123\x00456"},
    "ten_kilobytes": {"code": "9" * 10_240},
    "missing": {},
    "invalid_utf8": "code=%FF%FE%FD%FC%FB%FA",
}


def post_junk(client: Client, url: str, junk: str):
    data = JUNK[junk]
    if isinstance(data, str):
        # Bytes that are not UTF-8: only a raw body carries them, as a hostile client would send.
        return client.post(url, data=data, content_type="application/x-www-form-urlencoded")
    return client.post(url, data)


@pytest.mark.parametrize("junk", JUNK, ids=list(JUNK))
def test_fuzzed_junk_code_input_at_sign_in_is_never_a_500(client, send, junk):
    send(client)
    response = post_junk(client, SIGNIN_CODE, junk)
    # Malformed input answers 400; undecodable bytes become a wrong code. Never a 500, never in.
    assert response.status_code in (HTTPStatus.BAD_REQUEST, HTTPStatus.FOUND)
    assert SESSION_KEY not in client.session


@pytest.mark.parametrize("junk", JUNK, ids=list(JUNK))
def test_fuzzed_junk_code_input_at_email_change_is_never_a_500(django_capture_on_commit_callbacks, junk):
    profile = ProfileFactory(user__attribute=attribute("owner"))
    client = Client()
    client.force_login(profile.user)
    with django_capture_on_commit_callbacks(execute=True):
        client.post(reverse("accounts:profile_email"), {"email": "new@example.jp"})
    last_email_code()
    response = post_junk(client, reverse("accounts:profile_email_verify"), junk)
    assert response.status_code < HTTPStatus.INTERNAL_SERVER_ERROR
    profile.refresh_from_db()
    assert profile.email is None
