"""Helpers of the profile tests: sign a resident in, post while sending codes, read codes back."""

from __future__ import annotations

import importlib
import re

from django.core import mail
from django.test import Client

from accounts import sms
from accounts.models import User, UserAttribute

CODE_RE = re.compile(r"(?<![0-9])([0-9]{6})(?![0-9])")


def signed_in(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


def code_in(text: str) -> str:
    match = CODE_RE.search(text)
    assert match, f"no 6-digit code in {text!r}"
    return match.group(1)


def last_email_code(to: str) -> str:
    messages = [message for message in mail.outbox if to.lower() in (address.lower() for address in message.to)]
    assert messages, f"no e-mail to {to}"
    return code_in(messages[-1].body)


def last_sms_code(to: str) -> str:
    messages = [message for message in sms.outbox if message.to == to]
    assert messages, f"no SMS to {to}"
    return code_in(messages[-1].body)


def wrong_code(code: str) -> str:
    return f"{(int(code) + 1) % 1_000_000:06d}"


def post_on_commit(capture, client: Client, url: str, data: dict):
    """POST and run the on-commit callbacks (code delivery) as a real request would."""
    with capture(execute=True):
        return client.post(url, data)


def attributes_seed() -> None:
    """Put back the seeded attributes that a transactional test's flush removed.

    pytest-django's serialized_rollback is skipped with the `live_server` fixture
    (pytest-dev/pytest-django#1117), so browser tests re-apply the seed migration's rows.
    """
    seed = importlib.import_module("accounts.migrations.0002_seed_user_attributes")
    for row in seed.ATTRIBUTES:
        UserAttribute.objects.update_or_create(code=row["code"], defaults=row)


def axe_serious_violations(page) -> list[str]:
    """Accessibility problems of impact serious/critical on the current page (axe-core, no download)."""
    from axe_playwright_python.sync_playwright import Axe

    results = Axe().run(page)
    return [
        f"{violation['id']}: {violation['help']}"
        for violation in results.response["violations"]
        if violation["impact"] in ("serious", "critical")
    ]
