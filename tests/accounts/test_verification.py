"""The verification-code engine: every rule of SPEC "Verification codes", by name."""

from __future__ import annotations

import datetime

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from hypothesis import given
from hypothesis import strategies as st
from kombu.exceptions import OperationalError

from accounts.models import VerificationCode, VerificationTarget
from accounts.services import verification as engine
from accounts.services.verification import (
    DeliveryUnavailable,
    VerificationFailed,
    VerificationLocked,
    VerificationWait,
    normalize_code,
    target_wait_seconds,
    verification_code_issue,
    verification_code_verify,
    verification_target_unlock,
)
from tests.accounts.verification_helpers import issue_and_read
from tests.factories import ResidentFactory, StaffFactory

pytestmark = pytest.mark.django_db

PHONE = "+819012345678"
OTHER_PHONE = "+819087654321"
SIGN_IN = VerificationCode.Purpose.SIGN_IN
EMAIL = VerificationCode.Purpose.EMAIL
NOW = datetime.datetime(2026, 11, 25, 3, 0, tzinfo=datetime.UTC)


@pytest.fixture
def clock():
    with time_machine.travel(NOW, tick=False) as traveller:
        yield traveller


@pytest.fixture
def issue(django_capture_on_commit_callbacks):
    def issue(**kwargs):
        return issue_and_read(django_capture_on_commit_callbacks, **kwargs)

    return issue


def verify(code, raw, **kwargs):
    arguments = {"code_id": code.pk, "purpose": code.purpose, "target": code.target, "raw_code": raw}
    return verification_code_verify(**{**arguments, **kwargs})


def wrong(plain: str) -> str:
    return f"{(int(plain) + 1) % 1_000_000:06d}"


def fail_once(issue, clock, target=PHONE) -> VerificationFailed:
    """Issue a code for `target` after any wait, enter a wrong code, return the failure."""
    clock.shift(datetime.timedelta(seconds=max(target_wait_seconds(target=target), 0)))
    code, plain = issue(target=target)
    with pytest.raises(VerificationFailed) as failure:
        verify(code, wrong(plain))
    return failure.value


def failures_of(target=PHONE) -> int:
    return VerificationTarget.objects.get(target=target).consecutive_failures


# Normalisation -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("123456", "123456"),
        ("１２３４５６", "123456"),
        ("123 456", "123456"),
        ("123-456", "123456"),
        ("１２３－４５６", "123456"),
        (" 12 34 56 ", "123456"),
        ("123\u3000456", "123456"),
        ("12345", None),
        ("1234567", None),
        ("12345a", None),
        ("١٢٣٤٥٦", None),  # Arabic-Indic digits
        ("१२३४५६", None),  # Devanagari digits
        ("", None),
        (None, None),
        (["123456"], None),
        (123456, None),
        ("12\x003456", None),
        ("1" * 10_000, None),
    ],
)
def test_normalize_code_is_forgiving_and_never_raises(raw, expected):
    assert normalize_code(raw) == expected


@given(st.text(max_size=80))
def test_normalize_code_returns_six_ascii_digits_or_none_for_any_text(raw):
    result = normalize_code(raw)
    assert result is None or (len(result) == 6 and result.isascii() and result.isdigit())


# Issue, storage, expiry ----------------------------------------------------------------


def test_code_is_six_digits_and_stored_only_as_keyed_hash(issue):
    code, plain = issue()
    assert len(plain) == 6 and plain.isdigit()
    code.refresh_from_db()
    assert len(code.code_hash) == 64
    assert plain not in code.code_hash


def test_hash_only_storage_no_code_in_the_table(issue):
    code, plain = issue()
    with connection.cursor() as cursor:
        cursor.execute("SELECT * FROM accounts_verificationcode WHERE id = %s", [code.pk])
        row = cursor.fetchone()
    assert all(plain not in str(value) for value in row)


def test_code_verifies_at_4_59_after_issue(issue, clock):
    code, plain = issue()
    clock.shift(datetime.timedelta(minutes=4, seconds=59))
    assert verify(code, plain).state == VerificationCode.State.USED


def test_code_is_expired_at_5_00_and_burned(issue, clock):
    code, plain = issue()
    clock.shift(datetime.timedelta(minutes=5))
    with pytest.raises(VerificationFailed) as failure:
        verify(code, plain)
    assert failure.value.reason == "expired"
    code.refresh_from_db()
    assert code.state == VerificationCode.State.BURNED
    assert failures_of() == 1


def test_correct_code_is_single_use(issue):
    code, plain = issue()
    verify(code, plain)
    with pytest.raises(VerificationFailed) as failure:
        verify(code, plain)
    assert failure.value.reason == "used"


def test_new_code_supersedes_pending_code(issue, clock):
    first, first_plain = issue()
    clock.shift(datetime.timedelta(seconds=31))
    second, second_plain = issue()
    first.refresh_from_db()
    assert first.state == VerificationCode.State.SUPERSEDED
    with pytest.raises(VerificationFailed):
        verify(first, first_plain)
    assert verify(second, second_plain).state == VerificationCode.State.USED


def test_resend_is_refused_within_30_seconds(issue, clock):
    issue()
    clock.shift(datetime.timedelta(seconds=10))
    with pytest.raises(VerificationWait) as wait:
        verification_code_issue(purpose=SIGN_IN, target=PHONE, channel=VerificationCode.Channel.SMS)
    assert wait.value.retry_after == 20
    clock.shift(datetime.timedelta(seconds=20))
    assert target_wait_seconds(target=PHONE) == 0
    issue()


# One try, waits, backoff, lock ---------------------------------------------------------


def test_wrong_code_burns_the_code(issue):
    code, plain = issue()
    with pytest.raises(VerificationFailed) as failure:
        verify(code, wrong(plain))
    assert failure.value.reason == "wrong"
    code.refresh_from_db()
    assert code.state == VerificationCode.State.BURNED
    # The right code no longer helps: one try.
    with pytest.raises(VerificationFailed) as again:
        verify(code, plain)
    assert again.value.reason == "used"


def test_letters_are_a_wrong_code_that_burns(issue):
    code, _plain = issue()
    with pytest.raises(VerificationFailed) as failure:
        verify(code, "abcdef")
    assert failure.value.reason == "wrong"
    assert failures_of() == 1


def test_wrong_code_forces_30s_wait(issue, clock):
    failure = fail_once(issue, clock)
    assert failure.retry_after == 30
    with pytest.raises(VerificationWait) as wait:
        verification_code_issue(purpose=SIGN_IN, target=PHONE, channel=VerificationCode.Channel.SMS)
    assert wait.value.retry_after == 30
    clock.shift(datetime.timedelta(seconds=29))
    assert target_wait_seconds(target=PHONE) == 1
    clock.shift(datetime.timedelta(seconds=1))
    assert target_wait_seconds(target=PHONE) == 0


def test_wait_grows_slowly_by_the_failure_table(issue, clock):
    """30 s for the first five typos, 1 min to the 10th, 5 min to the 20th, 15 min to the 40th,
    then 1 hour (accounts.app_settings.DEFAULT_FAILURE_WAITS; it was a doubling from the 6th)."""
    waits = [fail_once(issue, clock).retry_after for _ in range(42)]
    assert waits == [30] * 5 + [60] * 5 + [300] * 10 + [900] * 20 + [3600] * 2


def test_each_failure_says_how_many_in_a_row_and_until_when(issue, clock):
    for _ in range(5):
        failure = fail_once(issue, clock)
    assert failure.wait.failures == 5
    assert failure.wait.until == timezone.now() + datetime.timedelta(seconds=30)
    with pytest.raises(VerificationWait) as wait:
        verification_code_issue(purpose=SIGN_IN, target=PHONE, channel=VerificationCode.Channel.SMS)
    assert (wait.value.failures, wait.value.until, wait.value.retry_after) == (5, failure.wait.until, 30)


def test_resend_wait_says_no_failure_caused_it(issue, clock):
    first, _plain = issue()
    with pytest.raises(VerificationWait) as wait:
        verification_code_issue(purpose=SIGN_IN, target=PHONE, channel=VerificationCode.Channel.SMS)
    assert (wait.value.failures, wait.value.until) == (0, first.created_at + datetime.timedelta(seconds=30))


def test_failure_wait_ceiling():
    assert engine.failure_wait(99) == datetime.timedelta(hours=1)
    assert engine.failure_wait(10_000) == datetime.timedelta(hours=1)


def test_failure_table_is_read_from_settings(settings):
    settings.ACCOUNTS_FAILURE_WAITS = ((1, datetime.timedelta(seconds=10)), (3, datetime.timedelta(minutes=2)))
    assert [engine.failure_wait(n).total_seconds() for n in (1, 2, 3, 50)] == [10, 10, 120, 120]


def test_attacker_asking_each_code_the_moment_the_wait_ends_gets_59_guesses_a_day_and_the_lock_takes_65_hours():
    """The guarantee of the table alone, whatever the cache's limits: at most 100 a day (NIST
    SP 800-63B-4), and a resident cannot be locked out within a day."""
    assert engine.failures_possible_within(datetime.timedelta(days=1)) == 59
    assert engine.failures_possible_within(datetime.timedelta(hours=64)) < 100
    assert engine.failures_possible_within(datetime.timedelta(hours=65)) == 100


def test_failures_are_counted_across_codes_and_new_code_never_resets_them(issue, clock):
    fail_once(issue, clock)
    fail_once(issue, clock)
    clock.shift(datetime.timedelta(seconds=30))
    issue()
    assert failures_of() == 2


def test_success_resets_failures(issue, clock):
    for _ in range(3):
        fail_once(issue, clock)
    clock.shift(datetime.timedelta(seconds=30))
    code, plain = issue()
    verify(code, plain)
    target = VerificationTarget.objects.get(target=PHONE)
    assert target.consecutive_failures == 0
    assert target.wait_until is None


def test_target_locked_at_100_consecutive_failures_until_staff_unlock(issue, clock):
    VerificationTarget.objects.create(target=PHONE, consecutive_failures=98)
    fail_once(issue, clock)
    assert failures_of() == 99
    failure = fail_once(issue, clock)
    assert failures_of() == 100
    assert failure.retry_after == 3600
    assert failure.wait.failures == 100
    clock.shift(datetime.timedelta(days=2))
    with pytest.raises(VerificationLocked):
        verification_code_issue(purpose=SIGN_IN, target=PHONE, channel=VerificationCode.Channel.SMS)
    verification_target_unlock(target=PHONE, acting_user=StaffFactory(is_superuser=True))
    assert failures_of() == 0
    issue()


def test_locked_target_cannot_verify_a_code_of_another_purpose(issue, clock):
    code, plain = issue(purpose=EMAIL)
    VerificationTarget.objects.filter(target=PHONE).update(consecutive_failures=100)
    with pytest.raises(VerificationLocked):
        verify(code, plain)
    # The refusal touches neither the code (still pending, as it was) nor the failure count.
    code.refresh_from_db()
    assert code.state == VerificationCode.State.PENDING and code.used_at is None
    assert failures_of() == 100


def test_a_verify_reads_the_target_and_settles_the_code_in_one_statement_on_postgresql(issue):
    code, plain = issue()
    with CaptureQueriesContext(connection) as queries:
        verify(code, plain)
    # The test's transaction makes the verify's a savepoint; SQLite has no data-modifying WITH.
    statements = [q["sql"] for q in queries.captured_queries if not q["sql"].startswith(("SAVEPOINT", "RELEASE"))]
    assert len(statements) == (1 if connection.vendor == "postgresql" else 2), statements
    code.refresh_from_db()
    assert code.state == VerificationCode.State.USED


def test_failures_of_one_target_do_not_touch_another(issue, clock):
    fail_once(issue, clock, target=PHONE)
    assert target_wait_seconds(target=OTHER_PHONE) == 0
    issue(target=OTHER_PHONE)


# Binding to purpose, target and user ---------------------------------------------------


def test_sign_in_code_never_verifies_another_purpose(issue):
    code, plain = issue(purpose=SIGN_IN)
    with pytest.raises(VerificationFailed) as failure:
        verify(code, plain, purpose=EMAIL)
    assert failure.value.reason == "wrong"
    code.refresh_from_db()
    assert code.state == VerificationCode.State.BURNED


def test_code_never_verifies_another_target(issue):
    code, plain = issue(target=PHONE)
    with pytest.raises(VerificationFailed) as failure:
        verify(code, plain, target=OTHER_PHONE)
    assert failure.value.reason == "wrong"
    assert failures_of(OTHER_PHONE) == 1


def test_code_never_verifies_for_another_user(issue):
    owner, other = ResidentFactory(), ResidentFactory()
    code, plain = issue(purpose=EMAIL, target="a@example.jp", channel=VerificationCode.Channel.EMAIL, user=owner)
    with pytest.raises(VerificationFailed) as failure:
        verify(code, plain, user=other)
    assert failure.value.reason == "wrong"


def test_code_verifies_for_its_own_user(issue):
    owner = ResidentFactory()
    code, plain = issue(purpose=EMAIL, target="a@example.jp", channel=VerificationCode.Channel.EMAIL, user=owner)
    assert verify(code, plain, user=owner).state == VerificationCode.State.USED


def test_hash_is_bound_to_purpose_and_target(issue):
    code, plain = issue()
    # Even a row edited to another purpose would not match: the MAC covers purpose and target.
    VerificationCode.objects.filter(pk=code.pk).update(purpose=EMAIL)
    with pytest.raises(VerificationFailed):
        verify(code, plain, purpose=EMAIL)


def test_full_width_input_verifies(issue):
    code, plain = issue()
    full_width = "".join(chr(ord(digit) + 0xFEE0) for digit in plain)
    assert verify(code, f"{full_width[:3]}－{full_width[3:]}").state == VerificationCode.State.USED


@pytest.mark.parametrize("junk", ["", "١٢٣٤٥٦", "12345", "1234567", "x" * 10_000, "\x00" * 6, None, ["123456"]])
def test_junk_input_is_a_wrong_code_never_an_error(issue, junk):
    code, _plain = issue()
    with pytest.raises(VerificationFailed) as failure:
        verify(code, junk)
    assert failure.value.reason == "wrong"


def test_unknown_code_id_is_not_an_error():
    with pytest.raises(VerificationFailed) as failure:
        verification_code_verify(code_id=999_999, purpose=SIGN_IN, target=PHONE, raw_code="123456")
    assert failure.value.reason == "used"


# Enqueueing ---------------------------------------------------------------------------


def test_delivery_is_enqueued_on_commit_with_a_sealed_code_and_hidden_argsrepr(
    monkeypatch, django_capture_on_commit_callbacks
):
    calls = []
    monkeypatch.setattr("accounts.tasks.verification_code_send.apply_async", lambda **kwargs: calls.append(kwargs))
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        code = verification_code_issue(purpose=SIGN_IN, target=PHONE, channel=VerificationCode.Channel.SMS)
    assert calls == []  # nothing is sent before the transaction commits
    for callback in callbacks:
        callback()
    (call,) = calls
    code_id, sealed = call["args"]
    assert code_id == code.pk
    assert "sealed" in call["argsrepr"] and sealed not in call["argsrepr"]
    plain = engine.code_unseal(sealed)
    assert len(plain) == 6 and plain not in sealed


def test_broker_down_cancels_the_code_and_raises_delivery_unavailable(monkeypatch, django_capture_on_commit_callbacks):
    def broker_down(**kwargs):
        raise OperationalError("Error 111 connecting to 127.0.0.1:6399. Connection refused.")

    monkeypatch.setattr("accounts.tasks.verification_code_send.apply_async", broker_down)
    with pytest.raises(DeliveryUnavailable), django_capture_on_commit_callbacks(execute=True):
        verification_code_issue(purpose=SIGN_IN, target=PHONE, channel=VerificationCode.Channel.SMS)
    code = VerificationCode.objects.get(target=PHONE)
    assert code.state == VerificationCode.State.CANCELLED
    # Nothing was sent, so the user need not wait for the resend interval.
    assert target_wait_seconds(target=PHONE) == 0


def test_code_lifetime_comes_from_app_settings(settings, issue, clock):
    settings.ACCOUNTS_CODE_LIFETIME = datetime.timedelta(minutes=10)
    code, _plain = issue()
    assert code.expires_at == timezone.now() + datetime.timedelta(minutes=10)
