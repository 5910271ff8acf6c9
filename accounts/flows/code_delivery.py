"""What a code page tells the resident about the code's SMS: being sent, sent, late or failed,
and when a new code may be asked for (SPEC "Verification codes"; issue: a failing provider
must not be invisible).

The page renders it (so a reload without JavaScript tells the same), and site.js asks the
sign-in page's status endpoint while the SMS is still on its way. The endpoint reads only the
session's own code, answers no personal data, and is rate-limited per session.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from django.http import HttpRequest

from accounts.app_settings import app_settings
from accounts.selectors import DELIVERY_DELAYED, DELIVERY_FAILED, DELIVERY_SENT, verification_code_progress
from accounts.sms import circuit
from myspacecore.core.ratelimits import consume


@dataclass(frozen=True)
class CodeDelivery:
    delivery: str  # accounts.selectors.DELIVERY_*
    seconds_left: int  # the code's validity
    retry_after: int  # seconds until a new code may be asked for (late or failed), else 0

    def as_json(self) -> dict[str, object]:
        return {"delivery": self.delivery, "seconds_left": self.seconds_left, "retry_after": self.retry_after}


def code_delivery(*, code_id: int | None, wait_seconds: Callable[[], int]) -> CodeDelivery:
    """Where the code's delivery stands; `wait_seconds()` reads the target's own wait before a new
    code (a query, made only when the SMS is late or failed).

    A late or failed SMS also waits for the provider's circuit to let a send through again:
    asking sooner would only fail again.
    """
    progress = verification_code_progress(code_id=code_id)
    delivery = progress.delivery or DELIVERY_SENT  # settled: the code page says it has expired
    retry_after = 0
    if delivery in (DELIVERY_DELAYED, DELIVERY_FAILED):
        retry_after = max(wait_seconds(), circuit.retry_after())
    return CodeDelivery(delivery=delivery, seconds_left=progress.seconds_left, retry_after=retry_after)


def code_delivery_status(request: HttpRequest, *, code_id: int | None, wait_seconds: Callable[[], int]) -> CodeDelivery:
    """`code_delivery` for the status endpoint, counted against the per-session poll limit (RateLimited)."""
    session_key = request.session.session_key or ""
    consume(request, [("code_status", app_settings.RATE_LIMITS["code_status"], session_key)])
    return code_delivery(code_id=code_id, wait_seconds=wait_seconds)
