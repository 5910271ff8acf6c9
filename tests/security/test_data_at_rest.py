"""Data at rest (ASVS V14): no code, PIN or full phone number in the logs; codes hashed; PINs encrypted."""

from __future__ import annotations

import hashlib
import logging
import re

import pytest
from cryptography.fernet import Fernet, InvalidToken
from django.db import connection
from django.test import Client
from django.urls import reverse

from accounts import sms
from accounts.models import User, VerificationCode
from accounts.services.verification import VerificationFailed, verification_code_issue, verification_code_verify
from smarthome.crypto import pin_decrypt
from smarthome.models import PinCode
from tests.accounts.verification_helpers import CODE_RE, last_email_code, last_sms_code
from tests.factories import ProfileFactory
from tests.smarthome.factories import SmartLockFactory

pytestmark = pytest.mark.django_db

OLD_PHONE = "+819012345678"
NEW_PHONE = "+819087654321"
THE_PIN = "583920"


def phone_forms(e164: str) -> list[str]:
    """Every way a full number could show up in a log line."""
    national = "0" + e164[3:]
    return [e164, e164[1:], national, f"{national[:3]}-{national[3:7]}-{national[7:]}"]


def log_everything(caplog) -> None:
    """DEBUG for the root logger and every logger that exists, whatever the settings say."""
    caplog.set_level(logging.DEBUG)
    for name in list(logging.root.manager.loggerDict):
        caplog.set_level(logging.DEBUG, logger=name)


def post(capture, client: Client, name: str, data: dict):
    with capture(execute=True):
        return client.post(reverse(name), data)


def test_no_code_pin_or_full_phone_number_in_the_logs_of_a_whole_flow(caplog, django_capture_on_commit_callbacks):
    """Sign-in, registration with an e-mail address, a phone change and a new PIN, logged at DEBUG."""
    log_everything(caplog)
    capture = django_capture_on_commit_callbacks
    client = Client()
    post(capture, client, "accounts:signin", {"phone_number": "090-1234-5678"})
    codes = [last_sms_code(OLD_PHONE)]
    post(capture, client, "accounts:signin_code", {"code": codes[-1]})
    user = User.objects.get(phone_number=OLD_PHONE)

    post(capture, client, "accounts:register", {"nickname": "さくら", "birth_year": "1990", "gender": "female"})
    post(capture, client, "accounts:register_email", {"email": "sakura@example.jp"})
    codes.append(last_email_code())
    post(capture, client, "accounts:register_code", {"code": codes[-1]})
    rev = client.get(reverse("accounts:register_confirm")).context["rev"]
    post(capture, client, "accounts:register_confirm", {"rev": rev})
    assert user.profile.email == "sakura@example.jp"

    post(capture, client, "accounts:profile_phone", {"phone_number": "090-8765-4321"})
    codes.append(last_sms_code(NEW_PHONE))
    post(capture, client, "accounts:profile_phone_verify", {"code": codes[-1]})
    user.refresh_from_db()
    assert user.phone_number == NEW_PHONE

    lock = SmartLockFactory(owner_user=user)
    client.post(reverse("smarthome:pin_code_create", args=[lock.pk]), {"label": "家族", "pin": THE_PIN})
    assert PinCode.objects.filter(device=lock).count() == 1

    # The notice to the old number went out too: its text is in the outbox, not in a log.
    assert [message.to for message in sms.outbox][-1] == OLD_PHONE
    # What a handler writes: the formatted lines (plain formatter) and each record's message.
    logged = "\n".join([caplog.text, *(record.getMessage() for record in caplog.records)])
    assert "verification code #" in logged  # the flow did log: the search below is not vacuous
    secrets = [*codes, THE_PIN, *phone_forms(OLD_PHONE), *phone_forms(NEW_PHONE)]
    leaked = [secret for secret in secrets if secret in logged]
    assert leaked == []
    # Not even a code-like number next to "code": each logged 6-digit run is a known non-secret.
    assert not set(CODE_RE.findall(logged)) & set(codes)


def test_codes_are_stored_only_as_keyed_hashes(django_capture_on_commit_callbacks, settings):
    """A table dump neither shows the code nor lets anyone brute-force the 10^6 codes without the key."""
    with django_capture_on_commit_callbacks(execute=True):
        code = verification_code_issue(
            purpose=VerificationCode.Purpose.SIGN_IN, target=OLD_PHONE, channel=VerificationCode.Channel.SMS
        )
    plain = last_sms_code(OLD_PHONE)
    with connection.cursor() as cursor:
        cursor.execute("SELECT * FROM accounts_verificationcode WHERE id = %s", [code.pk])
        row = " ".join(str(value) for value in cursor.fetchone())
    assert plain not in row
    stored = VerificationCode.objects.get(pk=code.pk).code_hash
    assert re.fullmatch(r"[0-9a-f]{64}", stored)
    # Without the key, hashing each of the million candidates never finds the stored value.
    unkeyed = {
        hashlib.sha256(plain.encode()).hexdigest(),
        hashlib.sha256(f"sign_in\x1f{OLD_PHONE}\x1f{plain}".encode()).hexdigest(),
    }
    assert stored not in unkeyed


def test_pins_are_encrypted_at_rest_and_never_shown_again(client):
    user = ProfileFactory().user
    lock = SmartLockFactory(owner_user=user)
    client.force_login(user)
    client.post(reverse("smarthome:pin_code_create", args=[lock.pk]), {"label": "家族", "pin": THE_PIN})
    pin_code = PinCode.objects.get(device=lock)
    with connection.cursor() as cursor:
        cursor.execute("SELECT * FROM smarthome_pincode WHERE id = %s", [pin_code.pk])
        row = " ".join(str(value) for value in cursor.fetchone())
    assert THE_PIN not in row
    assert pin_decrypt(pin_code.pin_encrypted) == THE_PIN
    with pytest.raises(InvalidToken):
        Fernet(Fernet.generate_key()).decrypt(pin_code.pin_encrypted.encode())
    assert pin_code.pin_lookup != hashlib.sha256(THE_PIN.encode()).hexdigest()
    page = client.get(reverse("smarthome:device_detail", args=[lock.pk])).content.decode()
    assert "家族" in page and THE_PIN not in page


def test_celery_logs_the_phone_change_notice_with_a_masked_number(monkeypatch, django_capture_on_commit_callbacks):
    """A worker logs each task's kwargsrepr ("received", "succeeded"): the old number must be masked there."""
    from accounts.services import profile as profile_services

    sent = []
    monkeypatch.setattr(
        profile_services.user_phone_changed_notice_send, "apply_async", lambda **options: sent.append(options)
    )
    user = ProfileFactory(user__phone_number=OLD_PHONE).user
    with django_capture_on_commit_callbacks(execute=True):
        profile_services.user_phone_change(user=user, new_phone=NEW_PHONE, acting_user=user)
    assert sent[0]["kwargs"]["old_phone"] == OLD_PHONE
    assert OLD_PHONE not in sent[0]["kwargsrepr"]
    assert "+81******5678" in sent[0]["kwargsrepr"]


def test_code_hmac_key_rotation_invalidates_pending_codes(django_capture_on_commit_callbacks, settings):
    """SECURITY.md: rotating ACCOUNTS_CODE_HMAC_KEY kills the codes pending (at most 5 minutes' worth)."""
    with django_capture_on_commit_callbacks(execute=True):
        code = verification_code_issue(
            purpose=VerificationCode.Purpose.SIGN_IN, target=OLD_PHONE, channel=VerificationCode.Channel.SMS
        )
    settings.ACCOUNTS_CODE_HMAC_KEY = "the-next-code-hmac-key"
    with pytest.raises(VerificationFailed):
        verification_code_verify(
            code_id=code.pk,
            purpose=VerificationCode.Purpose.SIGN_IN,
            target=OLD_PHONE,
            raw_code=last_sms_code(OLD_PHONE),
        )
