"""Helpers of the adversarial suite: drive the real pages as an attacker would, read codes back."""

from __future__ import annotations

import datetime
from http import HTTPStatus

import pytest
from django.test import Client
from django.urls import reverse

from tests.accounts.verification_helpers import last_sms_code

SIGNIN = reverse("accounts:signin")
SIGNIN_CODE = reverse("accounts:signin_code")
MYPAGE = reverse("accounts:mypage")
PHONE = "+819012345678"
PHONE_NATIONAL = "090-1234-5678"
NOW = datetime.datetime(2026, 11, 25, 3, 0, tzinfo=datetime.UTC)


def wrong(plain: str) -> str:
    return f"{(int(plain) + 1) % 1_000_000:06d}"


def client_from(ip: str) -> Client:
    """A fresh browser (no cookies, a new session) at another address."""
    return Client(REMOTE_ADDR=ip)


@pytest.fixture
def send(django_capture_on_commit_callbacks):
    """POST a phone number from `client`, running the on-commit delivery (eager Celery)."""

    def send(client: Client, phone: str = PHONE_NATIONAL):
        with django_capture_on_commit_callbacks(execute=True):
            return client.post(SIGNIN, {"phone_number": phone})

    return send


@pytest.fixture
def sign_in(send):
    """Sign `client` in with `phone` through the two real pages; returns the code page's answer."""

    def sign_in(client: Client, phone: str = PHONE_NATIONAL, e164: str = PHONE):
        assert send(client, phone).status_code == HTTPStatus.FOUND
        return client.post(SIGNIN_CODE, {"code": last_sms_code(e164)})

    return sign_in
