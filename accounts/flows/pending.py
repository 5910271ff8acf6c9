"""The pending verification every code flow is built on: initiate, resume, verify, abort, finish.

A flow sends a code for a value (a phone number, an e-mail address) and keeps the value and
the code's id until the resident types the code, on the next request. The purpose is the
flow's own, so it is not stored: the engine binds each code to its purpose, target and
account, and a code of another purpose simply does not verify. Where the state lives is the
flow's store (a dict under one session key, or a wizard's state), so one object serves all.

Rate limits run before the engine: their refusals (RateLimited, RateLimitUnavailable) and a
broker that refuses a code's task (DeliveryUnavailable) propagate, with nothing changed, to
`RefusalPagesMiddleware`. A wait, a lock or a code that did not verify comes back as a
`ValidationError` (code "wait", "locked", "wrong", "expired" or "used") for the form or page.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from dataclasses import dataclass
from typing import NamedTuple, Protocol

from django.contrib.sessions.backends.base import SessionBase
from django.http import HttpRequest
from django.utils.translation import get_language

from accounts.flows.messages import code_failed_error, locked_error, wait_error
from accounts.models import User, VerificationCode
from accounts.ratelimits import check_code_send, check_code_verify, code_not_sent_from, code_used_from
from accounts.services.verification import (
    DeliveryUnavailable,
    VerificationFailed,
    VerificationLocked,
    VerificationWait,
    target_wait,
    verification_code_issue,
    verification_code_verify,
)
from myspacecore.core.cache_clients import redis_calls_batched

Channel = VerificationCode.Channel
Purpose = VerificationCode.Purpose


@dataclass(frozen=True)
class CodeKind:
    """What a flow's codes prove and how they travel: the engine's purpose and channel."""

    purpose: str
    channel: str

    def target(self, value: str) -> str:
        """The engine's name for `value`: an address case-insensitively, a number as given (E.164)."""
        return value.lower() if self.channel == Channel.EMAIL else value

    def wait(self, value: str | None) -> VerificationWait | None:
        """Why and until when no new code may be sent to `value`; None when one may (or without a value)."""
        if not value or (self.channel == Channel.EMAIL and "@" not in value):
            return None
        return target_wait(target=self.target(value))

    def wait_seconds(self, value: str | None) -> int:
        """Seconds until a new code may be sent to `value`; 0 without a value (or an address yet)."""
        wait = self.wait(value)
        return wait.retry_after if wait else 0


SIGN_IN = CodeKind(purpose=Purpose.SIGN_IN, channel=Channel.SMS)
PHONE_CHANGE = CodeKind(purpose=Purpose.PHONE_CHANGE, channel=Channel.SMS)
EMAIL = CodeKind(purpose=Purpose.EMAIL, channel=Channel.EMAIL)


class PendingState(NamedTuple):
    """The value typed last and the id of the code sent for it (None once the code is given up)."""

    value: str
    code_id: int | None


class PendingStore(Protocol):
    """Where a flow keeps its pending state between requests."""

    def load(self) -> PendingState | None:
        """The state kept, or None when there is none or it is not one we wrote."""

    def save(self, state: PendingState) -> None:
        """Keep `state`, replacing what was kept."""

    def clear(self) -> None:
        """Forget the state."""


def stored_code_id(raw: object) -> int | None:
    """A code id read back from the session, or None for anything we did not store as one."""
    # JSON sessions give ints back as ints.
    return raw if isinstance(raw, int) and not isinstance(raw, bool) and raw > 0 else None


def stored_value(raw: object) -> str | None:
    """A value read back from the session, or None unless it is a non-empty string."""
    return raw if isinstance(raw, str) and raw else None


class SessionPendingStore:
    """The state as `{value_name: value, "code_id": id}` under one session key (no "code_id" once given up)."""

    def __init__(self, session: SessionBase, key: str, *, value_name: str) -> None:
        self.session = session
        self.key = key
        self.value_name = value_name

    def load(self) -> PendingState | None:
        """The state under the key; None when missing or not of our shape."""
        data = self.session.get(self.key)
        if not isinstance(data, dict) or (value := stored_value(data.get(self.value_name))) is None:
            return None
        return PendingState(value, stored_code_id(data.get("code_id")))

    def save(self, state: PendingState) -> None:
        """Write the state under the key."""
        data: dict[str, str | int] = {self.value_name: state.value}
        if state.code_id is not None:
            data["code_id"] = state.code_id
        self.session[self.key] = data

    def clear(self) -> None:
        """Remove the key."""
        self.session.pop(self.key, None)


class PendingVerification:
    """A value waiting for its code.

    `initiate` sends a code and keeps the state; `resume` finds it again on a later request
    (None when no code is pending); `verify` proves it; `abort` gives the code up but keeps
    the value, so the send page can show it again; `finish` forgets it.
    """

    def __init__(
        self, request: HttpRequest, *, kind: CodeKind, store: PendingStore, state: PendingState, user: User | None
    ) -> None:
        self.request = request
        self.kind = kind
        self.store = store
        self.state = state
        # The account the code is bound to: the resident signed in, or None at sign-in.
        self.user = user

    @property
    def value(self) -> str:
        """The value waiting for its code, as the resident typed it."""
        return self.state.value

    @property
    def code_id(self) -> int | None:
        """The id of the code sent for the value; None once aborted."""
        return self.state.code_id

    @property
    def target(self) -> str:
        """The value as the code engine names it."""
        return self.kind.target(self.value)

    @classmethod
    def initiate(
        cls, request: HttpRequest, *, kind: CodeKind, store: PendingStore, value: str, user: User | None = None
    ) -> PendingVerification:
        """Send a code for `value` (rate limits, then the engine) and keep the state in `store`.

        Raises ValidationError "wait" (params: seconds) or "locked", with the store untouched;
        rate-limit and delivery refusals propagate.
        """
        target = kind.target(value)
        check_code_send(request, target=target, user=user, sms=kind.channel == Channel.SMS)
        before = copy.deepcopy(dict(request.session))

        def keep_pending(code: VerificationCode) -> None:
            # Inside the code's transaction: the session that keeps it pending commits with
            # it (one commit); the response's save then finds it written.
            store.save(PendingState(value, code.pk))
            request.session.save()

        try:
            code = verification_code_issue(
                purpose=kind.purpose,
                target=target,
                channel=kind.channel,
                user=user,
                language=get_language() or "ja",
                then=keep_pending,
            )
        except VerificationWait as exc:
            code_not_sent_from(request)
            raise wait_error(exc) from exc
        except VerificationLocked as exc:
            code_not_sent_from(request)
            raise locked_error(kind.channel, failures=exc.failures) from exc
        except DeliveryUnavailable:
            # The code was cancelled after its commit: the session forgets it again, as if
            # it had never been issued (the store untouched, as the other refusals leave it).
            code_not_sent_from(request)
            request.session.clear()
            request.session.update(before)
            request.session.save()
            raise
        return cls(request, kind=kind, store=store, state=PendingState(value, code.pk), user=user)

    @classmethod
    def resume(
        cls, request: HttpRequest, *, kind: CodeKind, store: PendingStore, user: User | None = None
    ) -> PendingVerification | None:
        """The verification waiting in `store`; None when there is none, it is stale or its code was given up.

        No query: whether the code is still usable is the engine's answer at `verify`.
        """
        state = store.load()
        if state is None or state.code_id is None:
            return None
        return cls(request, kind=kind, store=store, state=state, user=user)

    def verify(self, raw_code: str, *, then: Callable[[], object] | None = None) -> None:
        """Check the code typed (rate limits, then the engine); returns when it verified.

        `then` runs inside the engine's transaction once the code verified (the flow's own
        write: one transaction, one commit). A wrong, expired or used code, or a locked
        target, aborts and raises ValidationError (code "wrong", "expired", "used" or
        "locked"); rate-limit refusals propagate unchanged.
        """
        # The writes nobody waits for (the session's cached copies once they commit, the rate
        # limit's give-back) leave in one round trip as the block ends.
        with redis_calls_batched():
            check_code_verify(self.request, user=self.user, target=self.target)
            try:
                verification_code_verify(
                    code_id=self.code_id,
                    purpose=self.kind.purpose,
                    target=self.target,
                    raw_code=raw_code,
                    user=self.user,
                    then=then,
                )
            except (VerificationFailed, VerificationLocked) as exc:
                self.abort()
                raise code_failed_error(exc, channel=self.kind.channel) from exc
            code_used_from(self.request)

    def abort(self) -> None:
        """Give the code up, keep the value: the send page shows it again (with the wait)."""
        self.state = PendingState(self.value, None)
        self.store.save(self.state)

    def finish(self) -> None:
        """Forget the pending state: the value was proved (or the flow is over)."""
        self.store.clear()
