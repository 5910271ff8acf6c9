"""How personal values are shown where they must not be read in full: logs, audit rows,
the console, the data download. One copy of each mask."""

from __future__ import annotations

# A PIN is never shown or disclosed, not even to its owner (SPEC "Smart home").
PIN_MASK = "••••"


def mask_phone(e164: str) -> str:
    """`+819012345678` → `+81*******678`: enough for a person, useless to a thief."""
    if len(e164) <= 6:
        return "*" * len(e164)
    return e164[:3] + "*" * (len(e164) - 6) + e164[-3:]


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
    local, _sep, domain = address.partition("@")
    return f"{local[:1]}***@{domain}" if domain else "***"
