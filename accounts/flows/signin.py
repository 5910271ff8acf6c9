"""Sign-in by SMS code: phone number -> code -> signed in (SPEC "Sign-in").

Known and unknown numbers go through exactly the same steps, so no answer tells them apart.
The session keeps the pending code under SESSION_PENDING and, apart, the number to show
again on the phone page (after a failure too) under SESSION_PHONE.
"""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth import SESSION_KEY, login
from django.contrib.sessions.backends.base import SessionBase
from django.core.exceptions import ValidationError
from django.http import HttpRequest
from django.utils.translation import get_language
from django.utils.translation import gettext as _

from accounts.flows.messages import wait_error
from accounts.flows.pending import SIGN_IN, PendingState, PendingVerification, SessionPendingStore, stored_value
from accounts.models import User
from accounts.services.signin import SignInRefused, resident_sign_in

# {"code_id": int, "phone": E.164}: the code being entered, between the two pages.
SESSION_PENDING = "accounts_signin"
# The number to show again in the phone field.
SESSION_PHONE = "accounts_signin_phone"
AUTH_BACKEND = "accounts.backends.SessionUserBackend"


# Set at sign-in when an operator's entry waits for this number's answer.
INVITATIONS_PENDING = "accounts.invitations_pending"


class SignInPendingStore(SessionPendingStore):
    """The pending code under SESSION_PENDING; the number, with or without a code, under SESSION_PHONE."""

    def __init__(self, session: SessionBase) -> None:
        super().__init__(session, SESSION_PENDING, value_name="phone")

    def load(self) -> PendingState | None:
        """The pending code if any, else the number remembered without one."""
        state = super().load()
        if state is not None and state.code_id is not None:
            return state
        phone = stored_value(self.session.get(SESSION_PHONE))
        return PendingState(phone, None) if phone else None

    def save(self, state: PendingState) -> None:
        """Remember the number; keep the code pending only while there is one."""
        if state.code_id is None:
            self.session.pop(SESSION_PENDING, None)
        else:
            self.session[SESSION_PENDING] = {"code_id": state.code_id, "phone": state.value}
        self.session[SESSION_PHONE] = state.value

    def clear(self) -> None:
        """Forget the code and the number."""
        self.session.pop(SESSION_PENDING, None)
        self.session.pop(SESSION_PHONE, None)


def signin_phone(request: HttpRequest) -> str | None:
    """The number (E.164) to show again on the phone page, if one was typed in this session."""
    state = SignInPendingStore(request.session).load()
    return state.value if state else None


def signin_wait_seconds(phone: str | None) -> int:
    """Seconds until a new code may be sent to `phone` (0 without one), for the phone page."""
    return SIGN_IN.wait_seconds(phone)


def signin_start(request: HttpRequest, *, phone: str) -> PendingVerification:
    """Send a sign-in code to `phone` (E.164) and keep it pending.

    Raises ValidationError "wait" (params: seconds) or "locked". The wait is checked before
    the rate limits, so a refusal by the wait costs no allowance.
    """
    wait = SIGN_IN.wait(phone)
    if wait:
        raise wait_error(wait)
    store = SignInPendingStore(request.session)
    # No "sent" message here: the code page itself says whether the SMS went out (accounts.flows.code_delivery).
    return PendingVerification.initiate(request, kind=SIGN_IN, store=store, value=phone)


def signin_resume(request: HttpRequest) -> PendingVerification | None:
    """The sign-in code being entered; None when no code is pending in this session."""
    return PendingVerification.resume(request, kind=SIGN_IN, store=SignInPendingStore(request.session))


def signin_complete(request: HttpRequest, pending: PendingVerification, *, raw_code: str) -> User:
    """Verify the code, then sign the resident in (a new session key, a new CSRF token).

    Raises ValidationError when the code does not verify or the account may not sign in;
    the number is kept for the phone page either way.
    """
    signed_in: list[User] = []
    refused: list[SignInRefused] = []

    def sign_in() -> None:
        # Inside the code's transaction: the code used, the account read, created or synced,
        # and the sign-in's own writes (the old session row deleted, the last sign-in time,
        # the new session row) commit together, one commit instead of four. A refusal is kept, not raised, so
        # the code stays used.
        try:
            user = resident_sign_in(phone_number=pending.value, language=get_language())
        except SignInRefused as exc:
            refused.append(exc)
            return
        pending.finish()
        if SESSION_KEY in request.session:
            # login() keeps the key of a session already signed in to this account; SPEC wants
            # a new key at every sign-in. (A session of another account is flushed.)
            request.session.cycle_key()
        login(request, user, backend=AUTH_BACKEND)
        if getattr(user, "invitations_pending", False):
            # An operator registered this number: its entry is shown first (LeaseInvitationsMiddleware).
            request.session[INVITATIONS_PENDING] = True
        # The new session's row too, so the whole sign-in is one commit; the response's save
        # then finds it written (accounts.sessions: a save of what is committed writes nothing).
        request.session.save()
        signed_in.append(user)

    pending.verify(raw_code, then=sign_in)
    if refused:
        pending.abort()
        raise ValidationError(
            _("このアカウントは現在ご利用いただけません。サポート窓口にお問い合わせください。"), code="refused"
        ) from refused[0]
    (user,) = signed_in
    messages.success(request, _("サインインしました。"))
    return user
