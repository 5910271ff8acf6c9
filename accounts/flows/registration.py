"""The registration wizard (登録): basics -> e-mail and its code (if the attribute allows) -> profile.

The wizard's state is a small dict in the session, bound to the account that started it;
every change bumps a revision number that the summary form carries, so a summary another tab
made stale is shown again instead of being submitted. The address waiting for its code is
part of that state (`email_draft`, `code_id`). Nothing touches the Profile before the
summary is confirmed, and that goes through the idempotent `profile_register` service.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django.contrib import messages
from django.http import HttpRequest
from django.utils.translation import gettext as _

from accounts.flows.messages import CODE_SENT_TO_EMAIL
from accounts.flows.pending import EMAIL, PendingState, PendingVerification, stored_code_id, stored_value
from accounts.models import Profile, User
from accounts.services.profile import email_validate_available, profile_register

if TYPE_CHECKING:
    # The request of a page under resident_required: a type only, no arrow to the views.
    from accounts.views.access import ResidentRequest

SESSION_KEY = "accounts.register"
BASICS = ("nickname", "birth_year", "gender")


class WizardState:
    """The wizard's state in the session, bound to the account that started it.

    Keys: nickname, birth_year, gender (step 1); email_draft, code_id (steps 2–3);
    email (verified address or None) and email_done (verified or skipped); rev.
    """

    def __init__(self, request: HttpRequest) -> None:
        self.session = request.session
        data = self.session.get(SESSION_KEY)
        if not isinstance(data, dict) or data.get("user_id") != request.user.pk:
            data = {"user_id": request.user.pk, "rev": 0}
        self.data = data

    def get(self, key: str, default: Any = None) -> Any:
        """One value of the state."""
        return self.data.get(key, default)

    def update(self, **values: Any) -> None:
        """Change values and bump the revision."""
        self.data.update(values)
        self.data["rev"] = self.data.get("rev", 0) + 1
        self.session[SESSION_KEY] = self.data

    def clear(self) -> None:
        """Forget the wizard (the profile exists)."""
        self.session.pop(SESSION_KEY, None)

    @property
    def rev(self) -> int:
        """The revision the summary form carries."""
        return self.data.get("rev", 0)

    @property
    def has_basics(self) -> bool:
        """Whether step 1 is done."""
        return all(self.data.get(key) not in (None, "") for key in BASICS)

    def basics(self) -> dict[str, Any]:
        """Nickname, birth year and gender as typed in step 1."""
        return {key: self.data.get(key) for key in BASICS}


class WizardPendingStore:
    """The pending e-mail verification as the wizard's `email_draft` and `code_id`."""

    def __init__(self, state: WizardState) -> None:
        self.state = state

    def load(self) -> PendingState | None:
        """The address typed last and its code, if any."""
        value = stored_value(self.state.get("email_draft"))
        return PendingState(value, stored_code_id(self.state.get("code_id"))) if value else None

    def save(self, state: PendingState) -> None:
        """Keep the address and its code (None: no code is pending)."""
        self.state.update(email_draft=state.value, code_id=state.code_id)

    def clear(self) -> None:
        """No code pending any more (the address typed stays, to show again)."""
        self.state.update(code_id=None)


def registration_email_draft(state: WizardState) -> str:
    """The address typed last in step 2 ("" before any)."""
    return state.get("email_draft") or ""


def registration_email_wait_seconds(draft: str) -> int:
    """Seconds until a new code may be sent to `draft` (0 while it is not an address yet)."""
    return EMAIL.wait_seconds(draft)


def registration_email_skip(state: WizardState) -> None:
    """Step 2 skipped: no address, nothing pending."""
    state.update(email=None, email_done=True, code_id=None)


def registration_email_typed(state: WizardState, *, email: str) -> None:
    """Keep what was typed (even when not an address yet) for the page shown again.

    A code still pending for the previous address must not be offered for this one.
    """
    if email.lower() != registration_email_draft(state).lower():
        state.update(email_draft=email, code_id=None)


def registration_email_start(request: ResidentRequest, state: WizardState, *, email: str) -> PendingVerification:
    """Send a code to `email`; raises ValidationError "wait" or "locked"."""
    pending = PendingVerification.initiate(
        request, kind=EMAIL, store=WizardPendingStore(state), value=email, user=request.user
    )
    messages.success(request, CODE_SENT_TO_EMAIL)
    return pending


def registration_email_resume(request: ResidentRequest, state: WizardState) -> PendingVerification | None:
    """The address waiting for its code; None when no code is pending."""
    return PendingVerification.resume(request, kind=EMAIL, store=WizardPendingStore(state), user=request.user)


def registration_email_confirm(
    request: ResidentRequest, state: WizardState, pending: PendingVerification, *, raw_code: str
) -> None:
    """Verify the code; the address becomes the wizard's, unless another account uses it.

    Raises ValidationError when the code does not verify (back to step 2, address kept) or
    the address is taken, said only now, to whoever proved they receive mail at it.
    """
    pending.verify(raw_code)
    email_validate_available(email=pending.value, user=request.user)
    pending.finish()
    state.update(email=pending.value, email_done=True)
    messages.success(request, _("メールアドレスを認証しました。"))


def registration_complete(state: WizardState, *, user: User, email: str | None) -> Profile:
    """Step 4: create the profile from the wizard's state (atomically, once), then forget the wizard.

    Raises ValidationError when the service refuses (e.g. the address was taken meanwhile).
    """
    profile = profile_register(user=user, email=email, **state.basics())
    state.clear()
    return profile
