"""What every page that sends or checks a verification code shares (profile changes, registration).

`code_send` and `code_verify` run the rate limits and then the code engine. Their refusals
(RateLimited, RateLimitUnavailable, DeliveryUnavailable) propagate to
`myspacecore.core.refusals.RefusalPagesMiddleware`, which answers the 429 or 503 page; a wait or
a lock on the target comes back as an error on the form; a wrong, used or expired code
(VerificationFailed / VerificationLocked) propagates to the view, as each flow has its own
way back.
"""

from __future__ import annotations

from django.http import HttpRequest
from django.utils.translation import get_language
from django.utils.translation import gettext as _

from accounts.models import VerificationCode
from accounts.ratelimits import check_code_send, check_code_verify
from accounts.selectors import verification_code_seconds_left
from accounts.services.verification import (
    VerificationFailed,
    VerificationLocked,
    VerificationWait,
    target_wait_seconds,
    verification_code_issue,
    verification_code_verify,
)


def countdown_text(seconds: int) -> str:
    """The text site.js would show (m:ss), rendered by the server so the page works without JS."""
    return f"{seconds // 60}:{seconds % 60:02d}"


def code_send(
    request: HttpRequest, *, form, field: str, purpose: str, channel: str, target: str
) -> VerificationCode | None:
    """Issue a code for a validated form; None after adding the reason (wait, lock) to
    `form.field`, so the caller shows the form again."""
    check_code_send(request, target=target, user=request.user, sms=channel == VerificationCode.Channel.SMS)
    try:
        return verification_code_issue(
            purpose=purpose, target=target, channel=channel, user=request.user, language=get_language() or "ja"
        )
    except VerificationWait as exc:
        form.add_error(
            field, _("認証コードを再送信できるまで%(seconds)d秒お待ちください。") % {"seconds": exc.retry_after}
        )
    except VerificationLocked:
        form.add_error(field, _("認証に続けて失敗したため、この送信先は利用できません。サポートまでご連絡ください。"))
    return None


def code_verify(request: HttpRequest, *, code_id: int, purpose: str, target: str, raw_code: str) -> None:
    """The rate limits, then the code engine, for a signed-in resident; returns when the code verified."""
    check_code_verify(request, user=request.user)
    verification_code_verify(code_id=code_id, purpose=purpose, target=target, raw_code=raw_code, user=request.user)


def code_failure_message(exc: VerificationFailed | VerificationLocked) -> str:
    if isinstance(exc, VerificationLocked):
        return _("認証に続けて失敗したため、この送信先は利用できません。サポートまでご連絡ください。")
    if exc.reason == "used":
        return _("この認証コードは使用できません。もう一度、認証コードを送信してください。")
    if exc.reason == "expired":
        return _("認証コードの有効期限が切れています。%(seconds)d秒お待ちいただき、入力からやり直してください。") % {
            "seconds": exc.retry_after
        }
    return _("認証コードが正しくありません。%(seconds)d秒お待ちいただき、入力からやり直してください。") % {
        "seconds": exc.retry_after
    }


def wait_context(*, target: str | None, button_id: str) -> dict:
    """The countdown shown on a send page while the target must wait (after a failure or a send)."""
    wait = target_wait_seconds(target=target) if target else 0
    return {"wait_seconds": wait, "wait_text": countdown_text(wait), "wait_button_id": button_id}


def code_context(*, code_id: int | None) -> dict:
    """The time left on the code being entered, for `includes/code_form.html`."""
    left = verification_code_seconds_left(code_id=code_id)
    return {"code_seconds_left": left, "code_left_text": countdown_text(left)}
