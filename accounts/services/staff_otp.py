"""The admin's TOTP second factor of a staff account (django-otp): enrol, confirm, verify, reset.

A staff member has at most one confirmed TOTPDevice. Enrolment creates an unconfirmed
device (its secret shown once, as text and QR code); a correct token confirms it. From
then on every admin sign-in asks for a token until platform staff or the operator admin
resets the device. Token checks go through TOTPDevice.verify_token, whose throttling
(django-otp) doubles the wait after each consecutive failure, per device.
"""

from __future__ import annotations

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils.translation import gettext as _
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts.admin_scoping import user_is_operator_admin
from accounts.models import AuditLogEntry, User
from accounts.services.audit import audit_log_record

DEVICE_NAME = "admin"


def staff_otp_device(*, staff: User) -> TOTPDevice | None:
    """The staff member's confirmed device, if any."""
    return TOTPDevice.objects.filter(user=staff, confirmed=True).order_by("pk").first()


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


def _token_check(*, device: TOTPDevice, token: str) -> None:
    """Check a token against the device, under its row lock, in a transaction of its own
    (callers must not wrap it in theirs): raising afterwards must not roll back the
    failure that django-otp's throttling just counted."""
    with transaction.atomic():
        locked = TOTPDevice.objects.select_for_update().get(pk=device.pk)
        allowed, _details = locked.verify_is_allowed()
        if not allowed:
            raise ValidationError(
                {
                    "token": _(
                        "確認コードの誤りが続いたため、しばらく入力できません。少し待ってからもう一度お試しください。"
                    )
                }
            )
        verified = locked.verify_token(token)
    if not verified:
        raise ValidationError(
            {"token": _("確認コードが正しくありません。認証アプリに表示されている最新の6桁を入力してください。")}
        )
    device.refresh_from_db()


def staff_otp_confirm(*, staff: User, device: TOTPDevice, token: str) -> TOTPDevice:
    """Confirm the staff member's pending device with a token from their authenticator app.

    The token is checked first, in its own transaction (see `_token_check`); then the device
    is confirmed, other pending devices are dropped and the audit row is written, together.
    """
    if device.user_id != staff.pk or device.confirmed:
        raise PermissionDenied
    _token_check(device=device, token=token)
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


def staff_otp_verify(*, staff: User, token: str) -> TOTPDevice:
    """The second step of an admin sign-in: the device that accepted `token`.

    Raises ValidationError on a wrong token, or while django-otp's throttling holds the device.
    """
    device = staff_otp_device(staff=staff)
    if device is None:
        raise ValidationError({"token": _("二段階認証が設定されていません。")})
    _token_check(device=device, token=token)
    return device


def _may_reset(*, acting_user: User, staff: User) -> bool:
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
    """Remove every TOTP device of `staff` (lost phone): their next sign-in enrols again if required.

    Platform staff may reset anyone; an operator admin only the staff of their own operator.
    Returns how many devices were removed; the audit row is written even when none were.
    """
    if not _may_reset(acting_user=acting_user, staff=staff):
        raise PermissionDenied
    removed, _per_model = TOTPDevice.objects.filter(user=staff).delete()
    audit_log_record(
        actor=acting_user,
        operator=staff.operator,
        action=AuditLogEntry.Action.STAFF_OTP_RESET,
        target_label=staff.username or f"#{staff.pk}",
        old_value="TOTP" if removed else "",
    )
    return removed
