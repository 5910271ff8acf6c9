"""E-mail address set / change: address -> e-mail code to it -> the address is set (the old one is told).

The address waiting for its code lives in the session, never on the profile. Whether another
account uses the address is said only after the code proved it (no oracle).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.contrib import messages
from django.http import HttpRequest
from django.utils.translation import gettext as _

from accounts.flows.messages import CODE_SENT_TO_EMAIL
from accounts.flows.pending import EMAIL, PendingVerification, SessionPendingStore
from accounts.services.profile import profile_email_change

if TYPE_CHECKING:
    # The request of a page under resident_required: a type only, no arrow to the views.
    from accounts.views.access import ResidentRequest

SESSION_KEY = "accounts.profile.email_change"


def _store(request: HttpRequest) -> SessionPendingStore:
    return SessionPendingStore(request.session, SESSION_KEY, value_name="email")


def email_change_draft(request: HttpRequest) -> str | None:
    """The address typed last (as typed), to show again on the send page."""
    state = _store(request).load()
    return state.value if state else None


def email_change_wait_seconds(email: str | None) -> int:
    """Seconds until a new code may be sent to `email` (0 without one), for the send page."""
    return EMAIL.wait_seconds(email)


def email_change_start(request: ResidentRequest, *, email: str) -> PendingVerification:
    """Send a code to `email`; raises ValidationError "wait" or "locked"."""
    pending = PendingVerification.initiate(request, kind=EMAIL, store=_store(request), value=email, user=request.user)
    messages.success(request, CODE_SENT_TO_EMAIL)
    return pending


def email_change_resume(request: ResidentRequest) -> PendingVerification | None:
    """The change waiting for its code; None when no code is pending."""
    return PendingVerification.resume(request, kind=EMAIL, store=_store(request), user=request.user)


def email_change_confirm(request: ResidentRequest, pending: PendingVerification, *, raw_code: str) -> None:
    """Verify the code, then set the address.

    Raises ValidationError when the code does not verify (the address is kept for the send
    page) or the service refuses the address (the pending change is then over).
    """
    pending.verify(raw_code)
    pending.finish()
    had_email = bool(request.user.profile.email)
    profile_email_change(user=request.user, email=pending.value)
    messages.success(request, _("メールアドレスを変更しました。") if had_email else _("メールアドレスを設定しました。"))
