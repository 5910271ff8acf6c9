"""Which phone numbers may receive our SMS: one rule for sign-in, phone changes and the console."""

from __future__ import annotations

import phonenumbers
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _


def jp_mobile_validate(number):
    """The number itself, or ValidationError unless it is a Japanese mobile number.

    SMS pumping: only Japanese mobile numbers (070/080/090) receive our SMS, at sign-in and
    at a phone change alike (a number the sign-in refuses would also lock the account out).
    """
    if (
        phonenumbers.region_code_for_number(number) != "JP"
        or phonenumbers.number_type(number) != phonenumbers.PhoneNumberType.MOBILE
    ):
        raise ValidationError(
            _(
                "日本の携帯電話番号（070・080・090 で始まる番号）を入力してください。"
                "SMS を受け取れる番号が必要です。"
            ),
            code="not_jp_mobile",
        )
    return number
