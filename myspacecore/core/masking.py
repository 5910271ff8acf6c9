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


def mask_email(address: str) -> str:
    local, _sep, domain = address.partition("@")
    return f"{local[:1]}***@{domain}" if domain else "***"
