"""The site's one table of rates: every rate parses, a typo stops `manage.py check`, callers read it."""

from __future__ import annotations

from datetime import timedelta
from http import HTTPStatus

import pytest
from django.core.management import call_command
from django.core.management.base import SystemCheckError
from django.urls import reverse

from accounts.app_settings import DEFAULT_RATE_LIMITS
from accounts.checks import accounts_settings_check
from myspacecore.core.ratelimits import parse_rate


def check_ids() -> set[str]:
    return {error.id for error in accounts_settings_check()}


@pytest.mark.parametrize(
    ("rate", "parsed"), [("5/h", (5, 3600)), ("20/15m", (20, 900)), ("0/h", (0, 3600)), ("3/2d", (3, 172800))]
)
def test_a_rate_parses_to_count_and_window(rate, parsed):
    assert parse_rate(rate) == parsed


@pytest.mark.parametrize("typo", ["5/hr", "five/h", "5/", "5/0m", "5 /h", "5/H", "", "/h"])
def test_a_mistyped_rate_is_refused(typo):
    with pytest.raises(ValueError, match=r"not a rate|empty window"):
        parse_rate(typo)


def test_every_default_rate_parses():
    assert {key: parse_rate(rate) for key, rate in DEFAULT_RATE_LIMITS.items()}
    assert "accounts.E008" not in check_ids()


@pytest.mark.parametrize("typo", ["5/hr", "five/h"])
def test_a_typo_in_an_overridden_rate_fails_manage_py_check(settings, typo):
    settings.ACCOUNTS_RATE_LIMITS = {"admin_login_ip": typo}

    assert "accounts.E008" in check_ids()
    with pytest.raises(SystemCheckError, match=r"accounts\.E008.*admin_login_ip"):
        call_command("check")


def test_an_sms_cap_that_is_no_count_fails_the_check(settings):
    settings.ACCOUNTS_SMS_GLOBAL_HOURLY_CAP = "lots"
    assert "accounts.E008" in check_ids()
    settings.ACCOUNTS_SMS_GLOBAL_HOURLY_CAP = 0  # no ceiling
    assert "accounts.E008" not in check_ids()


def test_a_rate_for_a_limit_that_does_not_exist_fails_the_check(settings):
    settings.ACCOUNTS_RATE_LIMITS = {"code_sendip": "5/h"}
    assert "accounts.E009" in check_ids()


@pytest.mark.parametrize("retired", ["ACCOUNTS_ADMIN_LOGIN_RATES", "ACCOUNTS_ADMIN_OTP_RATES"])
def test_a_retired_rate_setting_fails_the_check_rather_than_being_ignored(settings, retired):
    setattr(settings, retired, {"ip": "3/15m"})
    assert "accounts.E010" in check_ids()


@pytest.mark.django_db
@pytest.mark.parametrize(("rate", "retry_after"), [("2/h", 3600), ("2/m", 60)])
def test_help_feedback_reads_its_rate_from_the_table(client, settings, rate, retry_after):
    settings.ACCOUNTS_RATE_LIMITS = {"help_feedback": rate}
    url = reverse("help:feedback", kwargs={"slug": "about"})
    for _ in range(2):
        assert client.post(url, {"helpful": "yes"}).status_code == HTTPStatus.FOUND

    response = client.post(url, {"helpful": "yes"})
    assert response.status_code == HTTPStatus.TOO_MANY_REQUESTS
    assert int(response["Retry-After"]) == retry_after


@pytest.mark.parametrize("retired", ["ACCOUNTS_FAILURE_WAIT", "ACCOUNTS_FAILURES_BEFORE_BACKOFF", "ACCOUNTS_MAX_WAIT"])
def test_a_retired_setting_of_the_doubling_wait_fails_the_check(settings, retired):
    setattr(settings, retired, 5)
    assert "accounts.E010" in check_ids()


def test_the_default_failure_table_passes_the_checks():
    assert not {"accounts.E002", "accounts.E013"} & check_ids()


@pytest.mark.parametrize(
    "table",
    [
        ((2, timedelta(seconds=30)),),  # does not start at the first failure
        ((1, timedelta(minutes=5)), (6, timedelta(minutes=1))),  # a wait shorter than the one before
        ((1, timedelta(seconds=30)), (1, timedelta(minutes=1))),  # the same failure twice
        ((1, timedelta(0)),),  # no wait at all
        ((1, 30),),  # seconds, not a timedelta
        "30s",
    ],
    ids=["not_from_1", "shorter", "repeated", "zero", "not_timedelta", "not_a_table"],
)
def test_a_failure_table_of_the_wrong_shape_fails_the_check(settings, table):
    settings.ACCOUNTS_FAILURE_WAITS = table
    assert "accounts.E002" in check_ids()


def test_a_failure_table_that_lets_an_attacker_reach_the_lock_within_a_day_fails_the_check(settings):
    # 30 s, then 10 min: the 100th failure after about 16 hours.
    settings.ACCOUNTS_FAILURE_WAITS = ((1, timedelta(seconds=30)), (6, timedelta(minutes=10)))
    assert "accounts.E013" in check_ids()
    # 30 s, then 20 min: the 100th failure only after 31 hours.
    settings.ACCOUNTS_FAILURE_WAITS = ((1, timedelta(seconds=30)), (6, timedelta(minutes=20)))
    assert "accounts.E013" not in check_ids()
