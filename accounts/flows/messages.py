"""What the code flows tell a resident about a code: one wording per meaning, defined only here.

Sent, wait, locked, wrong, expired, used. Every wait says why (a code sent moments ago, or
how many codes in a row were wrong) and from when a new code can be sent (a clock time and
the length left). Refusals are `ValidationError`s (with a `code` a view may branch on, and
`params` it may read: `seconds` for a wait), so a view puts them on its form or shows them
after a redirect; the words are Japanese (the source language), translated in locale/.
"""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from accounts.models import VerificationCode
from accounts.services.verification import VerificationFailed, VerificationLocked, VerificationWait
from myspacecore.core.timestamps import clock_text, duration_text

CODE_SENT_TO_NEW_PHONE = gettext_lazy("新しい電話番号に認証コードを送信しました。")
CODE_SENT_TO_EMAIL = gettext_lazy("入力したメールアドレスに認証コードを送信しました。")


def _when(wait: VerificationWait) -> dict[str, object]:
    return {"time": clock_text(wait.until), "left": duration_text(wait.retry_after), "seconds": wait.retry_after}


def wait_text(wait: VerificationWait) -> str:
    """Why no new code may be sent yet, and from when it may (for the send pages and their errors)."""
    if not wait.failures:
        message = _("認証コードを送信したばかりのため、%(time)s 以降に次の認証コードを送信できます（あと%(left)s）。")
    elif wait.failures == 1:
        message = _("認証コードをまちがえたため、%(time)s 以降に新しい認証コードを送信できます（あと%(left)s）。")
    else:
        message = _(
            "認証コードを%(failures)d回続けてまちがえたため、"
            "%(time)s 以降に新しい認証コードを送信できます（あと%(left)s）。"
        )
    return message % {**_when(wait), "failures": wait.failures}


def wait_error(wait: VerificationWait) -> ValidationError:
    """No new code yet: why and until when (`params["seconds"]`: the seconds left)."""
    return ValidationError(wait_text(wait), code="wait", params={"seconds": wait.retry_after})


def locked_error(channel: str, *, failures: int) -> ValidationError:
    """The target is locked after too many failures in a row: only support can unlock it."""
    if channel == VerificationCode.Channel.EMAIL:
        message = _(
            "認証コードを%(failures)d回続けてまちがえたため、このメールアドレスは利用を停止しています。"
            "サポート窓口にお問い合わせください。"
        )
    else:
        message = _(
            "認証コードを%(failures)d回続けてまちがえたため、この電話番号は利用を停止しています。"
            "サポート窓口にお問い合わせください。"
        )
    return ValidationError(message % {"failures": failures}, code="locked")


def code_failed_error(exc: VerificationFailed | VerificationLocked, *, channel: str) -> ValidationError:
    """The code typed did not verify: why, and from when a new one may be sent."""
    if isinstance(exc, VerificationLocked):
        return locked_error(channel, failures=exc.failures)
    if exc.reason == "used" or exc.wait is None:
        return ValidationError(_("この認証コードは使用できません。新しい認証コードを送信してください。"), code="used")
    wait = exc.wait
    if exc.reason == "expired":
        first = _("認証コードの有効期限が切れています。")
    else:
        first = _("認証コードが正しくありません。")
    if wait.failures > 1:
        then = _(
            "%(failures)d回続けてまちがえたため、%(time)s 以降に新しい認証コードを送信して、"
            "やり直してください（あと%(left)s）。"
        )
    else:
        then = _("%(time)s 以降に新しい認証コードを送信して、やり直してください（あと%(left)s）。")
    message = first + then % {**_when(wait), "failures": wait.failures}
    return ValidationError(message, code=exc.reason, params={"seconds": wait.retry_after})
