"""The words sent with a code: the SMS text and the e-mail (subject, plain text, HTML).

Rendered in the code's language; Japanese is the source language.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from django.template.loader import render_to_string
from django.utils import translation
from django.utils.translation import gettext

from .app_settings import app_settings


@dataclass(frozen=True)
class EmailContent:
    subject: str
    text: str
    html: str


def code_lifetime_minutes() -> int:
    return max(1, math.ceil(app_settings.CODE_LIFETIME.total_seconds() / 60))


def verification_sms_render(*, code: str, language: str) -> str:
    """A short SMS: the code, its validity, and a warning not to pass it on."""
    with translation.override(language):
        return gettext(
            "【SpaceCore】認証コード：{code}\n{minutes}分以内に入力してください。このコードを他人に教えないでください。"
        ).format(code=code, minutes=code_lifetime_minutes())


def verification_email_render(*, code: str, language: str) -> EmailContent:
    """The e-mail of SPEC: subject `SpaceCore 認証コードのご案内`, text and HTML bodies."""
    context = {"code": code, "minutes": code_lifetime_minutes()}
    with translation.override(language):
        subject = render_to_string("emails/verification_code_subject.txt", context)
        return EmailContent(
            # A header is one line, whatever the template's trailing newline.
            subject=" ".join(subject.split()),
            text=render_to_string("emails/verification_code.txt", context),
            html=render_to_string("emails/verification_code.html", context),
        )
