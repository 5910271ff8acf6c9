"""Personal data kept outside accounts: each room that keeps some about an account says how
to disclose it and how to erase it; accounts' "download my data" and deletion call them all.

A hook, not an import: accounts and smarthome are independent rooms (ARCHITECTURE.md), so
the room that keeps the data registers itself here from its AppConfig.ready(), and the
deletion stays one transaction in accounts. A new room with personal data registers one
more holder; neither flow changes.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class PersonalDataHolder:
    """How one room discloses and erases what it keeps about an account.

    `export(user)` returns that room's part of the download (JSON-ready), under `key`.
    `erase(user)` runs inside the deletion's transaction, before the account row is deleted,
    and returns what it did (a record the caller may log or show).
    """

    key: str
    export: Callable[[Any], dict]
    erase: Callable[[Any], object]


_holders: dict[str, PersonalDataHolder] = {}


def personal_data_holder_register(holder: PersonalDataHolder) -> None:
    """Register (or replace, when the app registry runs ready() again) one room's holder."""
    _holders[holder.key] = holder


def personal_data_holders() -> list[PersonalDataHolder]:
    """Every registered holder, in registration (INSTALLED_APPS) order."""
    return list(_holders.values())
