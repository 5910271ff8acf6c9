"""How personal values are shown where they must not be read in full: logs, audit rows,
the console, the data download. One copy of each mask.

A mask keeps what a person needs to tell two values apart (the last 4 digits of a number,
as Japanese bills and call centres quote them: 「末尾5678」) and nothing a thief could use.
"""

from __future__ import annotations

import re

# A PIN is never shown or disclosed, not even to its owner (SPEC "Smart home").
PIN_MASK = "••••"

PHONE_KEPT_DIGITS = 4
# The country code stays visible only on a number long enough to hide more than it shows.
_PHONE_PREFIX = 3

# What `mask_text` looks for in free text: an E.164 number, a Japanese mobile number as
# people write it (090-1234-5678, 09012345678), an e-mail address.
_E164_RE = re.compile(r"\+\d{8,15}\b")
_JP_MOBILE_RE = re.compile(r"\b0[789]0-?\d{4}-?\d{4}\b")
# Not after `*`: an address masked already (`h***o@example.jp`) stays as it is.
_EMAIL_RE = re.compile(r"(?<![\w.+*-])[\w.+-]+@[\w-]+(?:\.[\w-]+)+")


def mask_phone(e164: str) -> str:
    """`+819012345678` → `+81******5678`: the last 4 digits tell two numbers apart, the rest stays hidden."""
    if len(e164) <= _PHONE_PREFIX + PHONE_KEPT_DIGITS:
        return "*" * len(e164)
    hidden = len(e164) - _PHONE_PREFIX - PHONE_KEPT_DIGITS
    return e164[:_PHONE_PREFIX] + "*" * hidden + e164[-PHONE_KEPT_DIGITS:]


def mask_phone_national(e164: str) -> str:
    """`+819011110001` → `090-****-0001`: the number as a resident writes it, its middle hidden.

    For the resident's own pages (the code page), where the number must be recognisable at a
    glance; logs and the console keep `mask_phone`.
    """
    import phonenumbers

    try:
        national = phonenumbers.format_number(phonenumbers.parse(e164), phonenumbers.PhoneNumberFormat.NATIONAL)
    except phonenumbers.NumberParseException:
        return mask_phone(e164)
    groups = national.split("-")
    if len(groups) < 3:
        return mask_phone(e164)
    return "-".join([groups[0], *("*" * len(group) for group in groups[1:-1]), groups[-1]])


def mask_email(address: str) -> str:
    """`taro.yamada@example.jp` → `t***a@example.jp`: first and last letter of the name, the domain in full.

    A name of one or two letters keeps only its first, so a mask never gives the whole name away.
    """
    local, _sep, domain = address.partition("@")
    if not domain or not local:
        return "***"
    last = local[-1] if len(local) > 2 else ""
    return f"{local[0]}***{last}@{domain}"


def mask_text(text: str) -> str:
    """`text` with every phone number and e-mail address in it masked: for free text (a model's
    name, a search target) that may quote one."""
    text = _EMAIL_RE.sub(lambda match: mask_email(match.group()), text)
    text = _E164_RE.sub(lambda match: mask_phone(match.group()), text)
    return _JP_MOBILE_RE.sub(lambda match: mask_phone(match.group().replace("-", "")), text)
