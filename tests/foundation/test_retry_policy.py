"""The one retry policy of the Celery tasks: countdowns, Celery's options, the broker check."""

from __future__ import annotations

import dataclasses

import pytest

from accounts import sms
from accounts.sms.backends import locmem
from accounts.tasks import profile_email_changed_notice_send, user_phone_changed_notice_send
from myspacecore.core import retry
from myspacecore.core.retry import CODE_DELIVERY, NOTICE, RETRY_POLICIES, SETTINGS_PURGE, longest_countdown


@pytest.fixture(autouse=True)
def _reset_locmem():
    locmem.reset()
    yield
    locmem.reset()


def test_code_delivery_and_purge_wait_2_4_8_16_32_seconds():
    for kind in (CODE_DELIVERY, SETTINGS_PURGE):
        policy = RETRY_POLICIES[kind]
        assert [policy.countdown(retries) for retries in range(policy.max_retries)] == [2, 4, 8, 16, 32], kind


def test_a_countdown_never_passes_the_cap():
    policy = dataclasses.replace(RETRY_POLICIES[CODE_DELIVERY], max_retries=20)
    assert max(policy.countdown(retries) for retries in range(policy.max_retries)) == policy.backoff_max == 300


def test_notice_countdowns_are_jittered_within_1_2_4_8_16_seconds():
    policy = RETRY_POLICIES[NOTICE]
    for retries, ceiling in enumerate([1, 2, 4, 8, 16]):
        assert all(0 <= policy.countdown(retries) <= ceiling for _ in range(50))


@pytest.mark.parametrize("task", [user_phone_changed_notice_send, profile_email_changed_notice_send])
def test_notice_tasks_take_celerys_retry_options_from_the_notice_policy(task):
    policy = RETRY_POLICIES[NOTICE]
    assert (task.retry_backoff, task.retry_backoff_max, task.retry_jitter, task.max_retries) == (
        policy.backoff,
        policy.backoff_max,
        policy.jitter,
        policy.max_retries,
    )
    assert ConnectionError in task.autoretry_for


NOTICE_KWARGS = {"old_phone": "+819012345678", "language": "ja"}


def test_a_notice_on_a_transient_error_is_retried_on_the_notice_countdowns(monkeypatch):
    recorded = []

    def record_retry(**kwargs):
        recorded.append(kwargs)
        raise RuntimeError("stop")

    monkeypatch.setattr(user_phone_changed_notice_send, "retry", record_retry)
    for retries in range(5):
        locmem.fail_next(1)
        with pytest.raises(RuntimeError):
            user_phone_changed_notice_send.apply(kwargs=NOTICE_KWARGS, retries=retries, throw=True)
    countdowns = [call["countdown"] for call in recorded]
    assert len(countdowns) == 5
    assert all(0 <= countdown <= ceiling for countdown, ceiling in zip(countdowns, [1, 2, 4, 8, 16], strict=True))
    assert all(isinstance(call["exc"], sms.SmsTransientError) for call in recorded)


def test_a_notice_gives_up_after_its_last_retry():
    """Celery raises the provider's error instead of a sixth retry (eager: nothing is sent)."""
    locmem.fail_next(1)
    with pytest.raises(sms.SmsTransientError):
        user_phone_changed_notice_send.apply(
            kwargs=NOTICE_KWARGS, retries=RETRY_POLICIES[NOTICE].max_retries, throw=True
        )
    assert sms.outbox == []


def test_longest_countdown_is_the_longest_cap_of_any_policy(monkeypatch):
    assert longest_countdown() == 300
    longer = {**RETRY_POLICIES, "slow": retry.RetryPolicy(backoff=60, backoff_max=900, max_retries=3)}
    monkeypatch.setattr(retry, "RETRY_POLICIES", longer)
    assert longest_countdown() == 900


@pytest.mark.django_db
def test_broker_check_reads_the_longest_countdown_of_any_policy(settings, monkeypatch):
    from accounts.checks import accounts_settings_check

    settings.CELERY_BROKER_URL = "redis://127.0.0.1:6379/0"
    settings.CELERY_TASK_TIME_LIMIT = 300
    settings.CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": 900}
    assert "accounts.E007" not in {error.id for error in accounts_settings_check()}

    longer = {**RETRY_POLICIES, "slow": retry.RetryPolicy(backoff=60, backoff_max=600, max_retries=3)}
    monkeypatch.setattr(retry, "RETRY_POLICIES", longer)
    assert "accounts.E007" in {error.id for error in accounts_settings_check()}
