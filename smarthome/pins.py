"""What a smart-lock PIN may be: normalisation of what a resident types, and the rules.

Kept apart from the service so the form can tell the resident at once, and the service
(the one way in) applies the very same rules again.
"""

from __future__ import annotations

import re
import unicodedata
from itertools import pairwise

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

from myspacecore.core.typed_text import typed_compact

from .app_settings import app_settings

_ASCII_DIGITS = re.compile(r"[0-9]+")


def pin_normalize(raw: str) -> str:
    """NFKC (full-width digits become ASCII), separators removed (myspacecore.core.typed_text). Does not validate."""
    text = typed_compact(raw or "")
    # A removed separator can join a letter and a combining mark (e-\u0301): compose again,
    # so that normalising twice gives what normalising once gave.
    return unicodedata.normalize("NFKC", text)


def pin_is_trivial(pin: str) -> bool:
    """One repeated digit, or a run up or down the keypad (1234, 9876, 0123, 7890)."""
    digits = [int(char) for char in pin]
    steps = {(later - earlier) % 10 for earlier, later in pairwise(digits)}
    return len(steps) == 1 and steps <= {0, 1, 9}


def pin_validate(pin: str) -> None:
    """Raise ValidationError unless `pin` (already normalised) is an acceptable PIN."""
    minimum, maximum = app_settings.PIN_MIN_LENGTH, app_settings.PIN_MAX_LENGTH
    if not _ASCII_DIGITS.fullmatch(pin):
        raise ValidationError(_("暗証番号は数字のみで入力してください。"), code="not_digits")
    if not minimum <= len(pin) <= maximum:
        raise ValidationError(
            _("暗証番号は%(minimum)d〜%(maximum)d桁で入力してください。") % {"minimum": minimum, "maximum": maximum},
            code="length",
        )
    if pin_is_trivial(pin):
        raise ValidationError(
            _("同じ数字の繰り返しや連続した数字（1234、9876など）は推測されやすいため使えません。"),
            code="trivial",
        )
