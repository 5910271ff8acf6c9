"""Bench data, made in-process with the product's models and services (Django set up by harness)."""

from __future__ import annotations

import datetime
import secrets

CSRF_SECRET = "benchcsrfsecret0123456789abcdefg"  # noqa: S105 - 32 chars: Django accepts the unmasked secret as token
CODE = "246810"


def phone(n: int) -> str:
    """A distinct Japanese mobile number (E.164) per n."""
    return f"+8190{20_000_000 + n:08d}"


def national(e164: str) -> str:
    return "0" + e164[3:]


def resident_with_home(*, n: int, remotes: int = 10, pins: int = 10, locks: int = 1):
    """A resident with a profile, a current lease, an own hub with `remotes` remotes and
    `locks` smart locks on the unit, the first with `pins` PINs. Returns the user."""
    from django.core.exceptions import ValidationError
    from django.utils import timezone

    from accounts.models import Profile, User, UserAttribute
    from accounts.services.invitations import lease_invitation_answer
    from myspacecore.tenancy.models import Lease, Operator, Property, Unit
    from smarthome import services
    from smarthome.models import Device, RemoteControlSetting
    from smarthome.pins import pin_validate

    operator, _ = Operator.objects.get_or_create(
        name="ベンチ管理", defaults={"contact_phone": "0120-000-000", "contact_email": "bench@example.jp"}
    )
    prop, _ = Property.objects.get_or_create(operator=operator, name="ベンチハイツ")
    unit = Unit.objects.create(property=prop, number=str(100 + n))
    rental = UserAttribute.objects.get(code="rental_resident")
    number = phone(n)
    lease = Lease.objects.create(
        unit=unit,
        phone_number=number,
        attribute=rental,
        start_date=timezone.localdate() - datetime.timedelta(days=30),
    )
    user = User.objects.create_user(phone_number=number, attribute=rental)
    # As the app does it: the operator's entry is an invitation, which the resident accepts.
    lease_invitation_answer(user=user, lease_id=lease.pk, accept=True)
    Profile.objects.create(user=user, nickname=f"住人{n}", birth_year=1985, gender=Profile.Gender.UNANSWERED)
    hub = Device.objects.create(kind=Device.Kind.HUB, name="ハブ", serial_number=f"HUB-{n}", owner_user=user)
    RemoteControlSetting.objects.bulk_create(
        RemoteControlSetting(device=hub, name=f"エアコン{i}", appliance_type="air_conditioner") for i in range(remotes)
    )
    for j in range(locks):
        lock = Device.objects.create(
            kind=Device.Kind.SMART_LOCK, name=f"玄関{j}", serial_number=f"LOCK-{n}-{j}", unit=unit
        )
        made = 0
        while j == 0 and made < pins:
            pin = f"{secrets.randbelow(10**6):06d}"
            try:
                pin_validate(pin)
                services.pin_code_create(device=lock, label=f"鍵{made}", pin=pin)
            except ValidationError:  # a random PIN the rules refuse (sequence, repeat): draw again
                continue
            made += 1
    return user


def session_cookie(user) -> str:
    """The session cookie of `user` signed in (a real session in the configured engine)."""
    from django.conf import settings
    from django.test import Client

    client = Client()
    client.force_login(user)
    return f"{settings.SESSION_COOKIE_NAME}={client.cookies[settings.SESSION_COOKIE_NAME].value}"


def csrf_cookie() -> str:
    from django.conf import settings

    return f"{settings.CSRF_COOKIE_NAME}={CSRF_SECRET}"


def pending_sign_ins(first: int, count: int) -> list[tuple[str, str]]:
    """`count` sessions waiting at the code page, each with its own pending code CODE.

    Returns (session cookie, E.164 number) pairs; numbers phone(first) … phone(first+count-1).
    """
    from django.conf import settings
    from django.utils import timezone
    from django.utils.module_loading import import_string

    from accounts.models import VerificationCode, VerificationTarget
    from accounts.services.verification import _code_hash
    from accounts.views.signin import SESSION_PENDING, SESSION_PHONE

    store_class = import_string(settings.SESSION_ENGINE + ".SessionStore")
    now = timezone.now()
    numbers = [phone(first + i) for i in range(count)]
    purpose = VerificationCode.Purpose.SIGN_IN
    VerificationTarget.objects.bulk_create(VerificationTarget(target=t, last_issued_at=now) for t in numbers)
    codes = VerificationCode.objects.bulk_create(
        VerificationCode(
            purpose=purpose,
            channel=VerificationCode.Channel.SMS,
            target=t,
            code_hash=_code_hash(purpose=purpose, target=t, code=CODE),
            created_at=now,
            # Longer than the product's 5 minutes: the whole benchmark must fit inside it.
            expires_at=now + datetime.timedelta(minutes=30),
            delivery=VerificationCode.Delivery.SENT,
        )
        for t in numbers
    )
    pairs = []
    for code in codes:
        store = store_class()
        store[SESSION_PENDING] = {"code_id": code.pk, "phone": code.target}
        store[SESSION_PHONE] = code.target
        store.create()
        pairs.append((f"{settings.SESSION_COOKIE_NAME}={store.session_key}", code.target))
    return pairs
