"""Phone number change: new number -> SMS code to it -> the number changes, other sessions end.

The number waiting for its code lives in the session, never on the account. Whether another
account uses the number is said only after the code proved it (no oracle).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.contrib import messages
from django.http import HttpRequest
from django.utils.translation import gettext as _

from accounts.flows.messages import CODE_SENT_TO_NEW_PHONE
from accounts.flows.pending import PHONE_CHANGE, PendingVerification, SessionPendingStore
from accounts.services.profile import user_phone_change

if TYPE_CHECKING:
    # The request of a page under resident_required: a type only, no arrow to the views.
    from accounts.views.access import ResidentRequest

SESSION_KEY = "accounts.profile.phone_change"


def _store(request: HttpRequest) -> SessionPendingStore:
    return SessionPendingStore(request.session, SESSION_KEY, value_name="phone")


def phone_change_draft(request: HttpRequest) -> str | None:
    """The new number (E.164) typed last, to show again on the send page."""
    state = _store(request).load()
    return state.value if state else None


def phone_change_wait_seconds(phone: str | None) -> int:
    """Seconds until a new code may be sent to `phone` (0 without one), for the send page."""
    return PHONE_CHANGE.wait_seconds(phone)


def phone_change_start(request: ResidentRequest, *, phone: str) -> PendingVerification:
    """Send a code to the new number `phone` (E.164); raises ValidationError "wait" or "locked"."""
    pending = PendingVerification.initiate(
        request, kind=PHONE_CHANGE, store=_store(request), value=phone, user=request.user
    )
    messages.success(request, CODE_SENT_TO_NEW_PHONE)
    return pending


def phone_change_resume(request: ResidentRequest) -> PendingVerification | None:
    """The change waiting for its code; None when no code is pending."""
    return PendingVerification.resume(request, kind=PHONE_CHANGE, store=_store(request), user=request.user)


def phone_change_confirm(request: ResidentRequest, pending: PendingVerification, *, raw_code: str) -> None:
    """Verify the code, then change the number (other sessions end, the old number is told).

    Raises ValidationError when the code does not verify (the number is kept for the send
    page) or the service refuses the number (the pending change is then over).
    """
    pending.verify(raw_code)
    pending.finish()
    user_phone_change(user=request.user, new_phone=pending.value, acting_user=request.user, keep=request)
    messages.success(request, _("電話番号を変更しました。ほかの端末ではサインアウトされました。"))
