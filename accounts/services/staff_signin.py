"""Failed admin sign-ins of staff accounts: the locks, the staff member's notice, the unlock.

Failures are counted on the shared cache (django-ratelimit through myspacecore.core.ratelimits),
with the rates `admin_login_*` of `app_settings.RATE_LIMITS`:

- per username *and* address (`admin_login_ip_username`): five wrong passwords lock that
  username from that address only, so a guesser elsewhere never locks the staff member out
  of theirs;
- per address (`admin_login_ip`), whatever the username: one address trying many names;
- per username from every address (`admin_login_username`): credential stuffing spread over
  many addresses. It holds only for browsers that never signed in as that staff member
  (`trusted`: the console's device cookie, OWASP's "device cookies"): the staff member's own
  browser goes on signing in with the right password (and the second factor, whose own
  limits still hold), while the attacker's browsers all wait.

When a username's lock fills, the staff member gets one e-mail per window (`admin_login_notice`),
on commit, through Celery. Their operator admin (or platform staff) lifts the username's locks
at once (`staff_signin_unlock`): every counter of a username carries a generation kept in the
cache, and the unlock starts a new one.
"""

from __future__ import annotations

import datetime
import hashlib
import secrets
from typing import TYPE_CHECKING

from django.core.cache import cache
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import override

from accounts.app_settings import app_settings
from accounts.models import User
from accounts.services.staff_otp import staff_may_manage
from myspacecore.core.ratelimits import BY_IP, failures_retry_after, parse_rate
from myspacecore.tenancy.models import AuditLogEntry
from myspacecore.tenancy.services.audit import audit_log_record

if TYPE_CHECKING:
    from django.http import HttpRequest

Limit = tuple[str, str, object]


def staff_signin_username_key(username: str) -> str:
    """The name the counters know a username by: `ALICE ` and `alice` are one."""
    return username.strip().casefold()


def _generation_key(username: str) -> str:
    digest = hashlib.sha256(staff_signin_username_key(username).encode()).hexdigest()
    return f"accounts:staff-signin-generation:{digest}"


def _generation(username: str) -> str:
    return cache.get(_generation_key(username)) or "0"


def _username_limits(username: str, *, trusted: bool) -> list[Limit]:
    """The counters of this username (none for an empty one): from this address, and from all."""
    if not staff_signin_username_key(username):
        return []
    rates = app_settings.RATE_LIMITS
    key = staff_signin_username_key(username)
    generation = _generation(username)
    # The group carries the username, so BY_IP counts this username from this address only.
    limits: list[Limit] = [
        (f"admin_login_ip_username.{generation}.{key}", rates["admin_login_ip_username"], BY_IP)
    ]
    if not trusted:
        limits.append((f"admin_login_username.{generation}", rates["admin_login_username"], key))
    return limits


def _ip_limits() -> list[Limit]:
    return [("admin_login_ip", app_settings.RATE_LIMITS["admin_login_ip"], BY_IP)]


def staff_signin_retry_after(request: HttpRequest, *, username: str, trusted: bool) -> int:
    """Seconds this sign-in must wait before its password is even checked; 0 when none.

    `trusted`: the browser has signed in as this username before (the console's device cookie).
    """
    limits = _ip_limits() + _username_limits(username, trusted=trusted)
    return failures_retry_after(request, limits, increment=False)


def staff_signin_failed(request: HttpRequest, *, username: str, trusted: bool) -> None:
    """Count a wrong password; when that fills a lock of the username, notify its staff member
    (at most once per `admin_login_notice` window), on commit."""
    failures_retry_after(request, _ip_limits(), increment=True)
    limits = _username_limits(username, trusted=trusted)
    failures_retry_after(request, limits, increment=True)
    # Locked from now on (the count has reached a limit): what the next attempt will be told.
    retry_after = failures_retry_after(request, limits, increment=False)
    if retry_after and _notice_due(request, username):
        until = (timezone.now() + datetime.timedelta(seconds=retry_after)).isoformat()
        _notice_send(username=username, until=until)


def _notice_due(request: HttpRequest, username: str) -> bool:
    rate = app_settings.RATE_LIMITS["admin_login_notice"]
    key = staff_signin_username_key(username)
    limits: list[Limit] = [(f"admin_login_notice.{_generation(username)}", rate, key)]
    return failures_retry_after(request, limits, increment=True) == 0


def _notice_send(*, username: str, until: str) -> None:
    from accounts.tasks import staff_signin_throttled_notice_send

    # Staff sign in with their username as typed; the counters fold case, so tell every match.
    staff_ids = User.objects.filter(
        username__iexact=username.strip(), is_staff=True, is_active=True
    ).values_list("pk", flat=True)
    for staff_id in staff_ids:
        staff_signin_throttled_notice_send.delay_on_commit(staff_id=staff_id, until=until)


def staff_signin_throttled_notice(*, staff_id: int, until: str) -> None:
    """Send the throttled sign-in notice (the task's body): what happened, until when, what to do."""
    from django.core.mail import send_mail

    staff = User.objects.filter(pk=staff_id, is_staff=True).exclude(email="").first()
    if staff is None:
        return
    local_until = timezone.localtime(datetime.datetime.fromisoformat(until))
    with override(staff.language):
        subject = _("SpaceCore 管理画面へのサインインを制限しています")
        body = _(
            "管理画面のユーザー名「%(username)s」で、パスワードの誤りが続いたため、"
            "サインインを %(until)s まで制限しています。\n\n"
            "・これまでにサインインしたことのあるブラウザーからは、正しいパスワード（と二段階認証）で"
            "引き続きサインインできます。\n"
            "・すぐに解除が必要な場合は、事業者管理者に「スタッフアカウント」の"
            "「サインインの制限を解除」を依頼してください。\n"
            "・お心当たりがない場合は、第三者がパスワードを試している可能性があります。"
            "パスワードを変更し、二段階認証を設定してください。\n\n"
            "このメールは送信専用アドレスから送信しています。"
        ) % {"username": staff.username, "until": local_until.strftime("%Y-%m-%d %H:%M")}
    send_mail(subject, body, None, [staff.email])


@transaction.atomic
def staff_signin_unlock(*, staff: User, acting_user: User) -> None:
    """Lift every lock of `staff`'s username at once, from every address, with an audit row.

    Platform staff may unlock anyone; an operator admin only their own operator's staff.
    The per-address lock of whatever username stays: it is the address's, not the account's.
    """
    if not staff.username or not staff_may_manage(acting_user=acting_user, staff=staff):
        raise PermissionDenied
    rates = app_settings.RATE_LIMITS
    timeout = max(parse_rate(rate)[1] for name, rate in rates.items() if name.startswith("admin_login"))
    generation_key, generation = _generation_key(staff.username), secrets.token_hex(8)
    audit_log_record(
        actor=acting_user,
        operator=staff.operator,
        action=AuditLogEntry.Action.STAFF_UPDATE,
        target_label=staff.username,
        new_value="sign-in unlocked",
    )
    # The counters live in the cache, not in the transaction: the new generation is set on commit.
    transaction.on_commit(lambda: cache.set(generation_key, generation, timeout=timeout * 2))
