"""What the code flows tell a resident about a code: one wording per meaning, defined only here.

Sent, wait, locked, wrong, expired, used. Refusals are `ValidationError`s (with a `code` a
view may branch on, and `params` it may read), so a view puts them on its form or shows them
after a redirect; the words are Japanese (the source language), translated in locale/.
"""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from accounts.models import VerificationCode
from accounts.services.verification import VerificationFailed, VerificationLocked

CODE_SENT_TO_NEW_PHONE = _("新しい電話番号に認証コードを送信しました。")
CODE_SENT_TO_EMAIL = _("入力したメールアドレスに認証コードを送信しました。")


def wait_error(seconds: int) -> ValidationError:
    """No new code yet: how many seconds to wait (`params["seconds"]`)."""
    return ValidationError(
        _("新しい認証コードを送信できるまで、あと%(seconds)s秒お待ちください。"),
        code="wait",
        params={"seconds": seconds},
    )


def locked_error(channel: str) -> ValidationError:
    """The target is locked after too many failures in a row: only support can unlock it."""
    if channel == VerificationCode.Channel.EMAIL:
        message = _(
            "このメールアドレスは、認証の失敗が続いたため利用を停止しています。サポート窓口にお問い合わせください。"
        )
    else:
        message = _("この電話番号は、認証の失敗が続いたため利用を停止しています。サポート窓口にお問い合わせください。")
    return ValidationError(message, code="locked")


def code_failed_error(exc: VerificationFailed | VerificationLocked, *, channel: str) -> ValidationError:
    """The code typed did not verify: why, and how long to wait before asking for a new one."""
    if isinstance(exc, VerificationLocked):
        return locked_error(channel)
    if exc.reason == "used":
        return ValidationError(
            _("この認証コードは使用できません。新しい認証コードを送信してください。"), code="used"
        )
    if exc.reason == "expired":
        message = _("認証コードの有効期限が切れています。%(seconds)d秒お待ちいただき、入力からやり直してください。")
    else:
        message = _("認証コードが正しくありません。%(seconds)d秒お待ちいただき、入力からやり直してください。")
    return ValidationError(message, code=exc.reason, params={"seconds": exc.retry_after})
