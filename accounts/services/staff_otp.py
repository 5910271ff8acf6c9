"""The admin's second factor of a staff account (django-otp): a TOTP authenticator, and recovery codes.

A staff member has at most one confirmed TOTPDevice. Enrolment creates an unconfirmed
device (its secret shown once, as text and QR code); a correct token confirms it. From
then on every admin sign-in asks for a token until platform staff or the operator admin
resets the device. Token checks go through the device's verify_token, whose throttling
(django-otp) doubles the wait after each consecutive failure, per device.

Recovery codes are django-otp's static tokens: one StaticDevice per staff member holding
`RECOVERY_CODE_COUNT` single-use StaticTokens, issued once the authenticator is confirmed
and replaced as a whole set. At the sign-in step the shape of what was typed chooses the
one device it is checked against (6 digits: the authenticator; 8 letters and digits: the
recovery codes), so a success on one never counts as a failure on the other (which
django_otp.match_token would do).
"""

from __future__ import annotations

import logging
import re

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils.translation import gettext as _
from django_otp.models import Device
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts.models import User
from myspacecore.core.typed_text import typed_compact
from myspacecore.tenancy.models import AuditLogEntry
from myspacecore.tenancy.scoping import user_is_operator_admin
from myspacecore.tenancy.services.audit import audit_log_record

logger = logging.getLogger(__name__)

DEVICE_NAME = "admin"
RECOVERY_DEVICE_NAME = "recovery"
RECOVERY_CODE_COUNT = 10
_TOTP_TOKEN_RE = re.compile(r"[0-9]{6}")
# StaticToken.random_token(): 5 random bytes in lower-case base32, 8 characters.
_RECOVERY_CODE_RE = re.compile(r"[a-z2-7]{8}")
_MAX_RAW_LENGTH = 64


def staff_otp_token_normalise(raw: object) -> str | None:
    """What the staff member meant to type: 6 ASCII digits (authenticator app) or a
    recovery code in lower case; None for anything that is neither.

    NFKC turns full-width characters into ASCII; spaces and hyphens are dropped, so a code
    copied as shown (`abcd-efgh`) or typed on a Japanese keyboard still matches.
    """
    if not isinstance(raw, str) or len(raw) > _MAX_RAW_LENGTH:
        return None
    text = typed_compact(raw).lower()
    if _TOTP_TOKEN_RE.fullmatch(text) or _RECOVERY_CODE_RE.fullmatch(text):
        return text
    return None


def staff_otp_device(*, staff: User) -> TOTPDevice | None:
    """The staff member's confirmed device, if any."""
    return TOTPDevice.objects.filter(user=staff, confirmed=True).order_by("pk").first()


def _recovery_device(*, staff: User) -> StaticDevice | None:
    return StaticDevice.objects.filter(user=staff, confirmed=True).order_by("pk").first()


def staff_recovery_codes_remaining(*, staff: User) -> int | None:
    """How many unused recovery codes the staff member has; None when none were ever issued."""
    device = _recovery_device(staff=staff)
    return None if device is None else device.token_set.count()


@transaction.atomic
def staff_otp_enrol(*, staff: User) -> TOTPDevice:
    """The unconfirmed device to set up: the pending one if any (so a reload shows the same secret), else a new one.

    Refused when the account already has a confirmed device: replacing it would let
    whoever holds a password-only session drop the second factor.
    """
    if not (staff.is_active and staff.is_staff):
        raise PermissionDenied
    if staff_otp_device(staff=staff) is not None:
        raise ValidationError(_("二段階認証はすでに設定されています。"))
    device = TOTPDevice.objects.filter(user=staff, confirmed=False).order_by("pk").first()
    if device is None:
        device = TOTPDevice(user=staff, name=DEVICE_NAME, confirmed=False)
        device.full_clean()
        device.save()
    return device


def _throttled_error() -> ValidationError:
    return ValidationError(
        {"token": _("確認コードの誤りが続いたため、しばらく入力できません。少し待ってからもう一度お試しください。")}
    )


def _token_check(*, device: Device, token: str, wrong: ValidationError) -> None:
    """Check a token against the device, under its row lock, in a transaction of its own
    (callers must not wrap it in theirs): raising afterwards must not roll back the
    failure that django-otp's throttling just counted, nor give back a used recovery code."""
    with transaction.atomic():
        locked = type(device).objects.select_for_update().get(pk=device.pk)
        allowed, _details = locked.verify_is_allowed()
        if not allowed:
            raise _throttled_error()
        verified = locked.verify_token(token)
    if not verified:
        raise wrong
    device.refresh_from_db()


def _wrong_totp() -> ValidationError:
    return ValidationError(
        {"token": _("確認コードが正しくありません。認証アプリに表示されている最新の6桁を入力してください。")}
    )


def staff_otp_confirm(*, staff: User, device: TOTPDevice, token: str) -> TOTPDevice:
    """Confirm the staff member's pending device with a token from their authenticator app.

    The token is checked first, in its own transaction (see `_token_check`); then the device
    is confirmed, other pending devices are dropped and the audit row is written, together.
    """
    if device.user_id != staff.pk or device.confirmed:
        raise PermissionDenied
    _token_check(device=device, token=token, wrong=_wrong_totp())
    with transaction.atomic():
        device.confirmed = True
        device.full_clean()
        device.save(update_fields=["confirmed"])
        TOTPDevice.objects.filter(user=staff, confirmed=False).exclude(pk=device.pk).delete()
        audit_log_record(
            actor=staff,
            operator=staff.operator,
            action=AuditLogEntry.Action.STAFF_OTP_CONFIRM,
            target_label=staff.username or f"#{staff.pk}",
            new_value="TOTP",
        )
    return device


def staff_otp_verify(*, staff: User, token: str) -> Device:
    """The second step of an admin sign-in: the device that accepted `token`.

    Six digits are checked against the authenticator (TOTPDevice); a recovery code against
    the staff member's recovery codes (StaticDevice), which consumes it. Raises
    ValidationError on a wrong token or a used code, or while django-otp's throttling holds
    the device.
    """
    device = staff_otp_device(staff=staff)
    if device is None:
        raise ValidationError({"token": _("二段階認証が設定されていません。")})
    normalised = staff_otp_token_normalise(token)
    if normalised is None:
        raise ValidationError({"token": _("確認コードは6桁の数字、リカバリーコードは英数字8文字で入力してください。")})
    if _TOTP_TOKEN_RE.fullmatch(normalised):
        _token_check(device=device, token=normalised, wrong=_wrong_totp())
        return device
    wrong_code = ValidationError({"token": _("リカバリーコードが正しくないか、すでに使用済みです。")})
    recovery = _recovery_device(staff=staff)
    if recovery is None:
        raise wrong_code
    _token_check(device=recovery, token=normalised, wrong=wrong_code)
    # Ids only: the code itself never reaches a log.
    logger.info(
        "staff #%s passed the admin second factor with a recovery code; %s left",
        staff.pk,
        recovery.token_set.count(),
    )
    return recovery


@transaction.atomic
def staff_recovery_codes_generate(*, staff: User) -> list[str]:
    """Issue `RECOVERY_CODE_COUNT` new single-use recovery codes to the staff member, replacing
    any unused ones, and return them: the caller shows them once, they are never shown again.

    Only for an active staff account whose authenticator is confirmed. The same StaticDevice
    is kept (a session that signed in with an old code stays signed in); its tokens are
    replaced. The audit row says how many codes were replaced and issued, never the codes.
    """
    if not (staff.is_active and staff.is_staff):
        raise PermissionDenied
    # Serialises two concurrent requests of the same account: one device, one set of codes.
    User.objects.select_for_update().filter(pk=staff.pk).first()
    if staff_otp_device(staff=staff) is None:
        raise ValidationError(_("リカバリーコードを発行するには、先に二段階認証を設定してください。"))
    device = _recovery_device(staff=staff)
    if device is None:
        old_count = None
        device = StaticDevice(user=staff, name=RECOVERY_DEVICE_NAME, confirmed=True)
        device.full_clean()
        device.save()
    else:
        old_count = device.token_set.count()
        device.token_set.all().delete()
    codes: set[str] = set()
    while len(codes) < RECOVERY_CODE_COUNT:
        codes.add(StaticToken.random_token())
    StaticToken.objects.bulk_create(StaticToken(device=device, token=code) for code in codes)
    audit_log_record(
        actor=staff,
        operator=staff.operator,
        action=AuditLogEntry.Action.STAFF_RECOVERY_CODES_ISSUE,
        target_label=staff.username or f"#{staff.pk}",
        old_value="" if old_count is None else f"recovery codes: {old_count} unused",
        new_value=f"recovery codes: {RECOVERY_CODE_COUNT}",
    )
    return sorted(codes)


def staff_may_manage(*, acting_user: User, staff: User) -> bool:
    """Whether `acting_user` may reset or unlock `staff`: platform staff anyone, an operator admin their own staff."""
    if not (acting_user.is_active and acting_user.is_staff):
        return False
    if acting_user.is_superuser:
        return True
    # An operator admin resets the devices of their own operator's staff, never platform staff's.
    return (
        not staff.is_superuser
        and staff.operator_id is not None
        and staff.operator_id == acting_user.operator_id
        and user_is_operator_admin(acting_user)
    )


@transaction.atomic
def staff_otp_reset(*, staff: User, acting_user: User) -> int:
    """Remove every TOTP device and the recovery codes of `staff` (lost phone): their next
    sign-in enrols again if required, and no old recovery code opens the admin any more.

    Platform staff may reset anyone; an operator admin only the staff of their own operator.
    Returns how many devices were removed; the audit row is written even when none were,
    and says how many unused recovery codes went, never the codes.
    """
    if not staff_may_manage(acting_user=acting_user, staff=staff):
        raise PermissionDenied
    recovery_codes = StaticToken.objects.filter(device__user=staff).count()
    totp_removed, _per_model = TOTPDevice.objects.filter(user=staff).delete()
    # The count of StaticDevice rows only: the delete also reports the tokens it cascaded to.
    _total, per_model = StaticDevice.objects.filter(user=staff).delete()
    static_removed = per_model.get(StaticDevice._meta.label, 0)
    removed = []
    if totp_removed:
        removed.append("TOTP")
    if static_removed:
        removed.append(f"recovery codes: {recovery_codes} unused")
    audit_log_record(
        actor=acting_user,
        operator=staff.operator,
        action=AuditLogEntry.Action.STAFF_OTP_RESET,
        target_label=staff.username or f"#{staff.pk}",
        old_value=", ".join(removed),
    )
    return totp_removed + static_removed
