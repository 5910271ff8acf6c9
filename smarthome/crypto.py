"""Smart-lock PINs at rest: Fernet encryption (MultiFernet, newest key first) and a keyed lookup hash.

The lookup hash lets the service refuse a PIN already used on the same lock without
decrypting anything. It is keyed per PIN key and per lock, so the same PIN on two locks
gives two unrelated hashes, and a dump of the table without the keys reveals nothing.
"""

from __future__ import annotations

from functools import lru_cache
from typing import TYPE_CHECKING

from django.utils.crypto import salted_hmac

from .app_settings import app_settings

if TYPE_CHECKING:
    from cryptography.fernet import MultiFernet

LOOKUP_SALT = "smarthome.PinCode.pin_lookup"


@lru_cache(maxsize=4)
def _multi_fernet(keys: tuple[str, ...]) -> MultiFernet:
    # Here, not at the top: smarthome.services imports this module, and with it the move-out
    # and purge commands, which open no PIN (their publishes are a worker's).
    from cryptography.fernet import Fernet, MultiFernet

    return MultiFernet([Fernet(key) for key in keys])


def _keys() -> tuple[str, ...]:
    # Read on every call (not at import) so a rotation or override_settings takes effect.
    return tuple(app_settings.PIN_KEYS)


def pin_encrypt(pin: str) -> str:
    """Encrypt with the newest key."""
    return _multi_fernet(_keys()).encrypt(pin.encode("ascii")).decode("ascii")


def pin_decrypt(token: str) -> str:
    """Decrypt with whichever configured key sealed it (raises InvalidToken otherwise)."""
    return _multi_fernet(_keys()).decrypt(token.encode("ascii")).decode("ascii")


def pin_token_rotate(token: str) -> str:
    """Re-encrypt a token with the newest key (MultiFernet.rotate)."""
    return _multi_fernet(_keys()).rotate(token.encode("ascii")).decode("ascii")


def _lookup(*, key: str, device_id: int, pin: str) -> str:
    return salted_hmac(LOOKUP_SALT, f"{device_id}:{pin}", secret=key, algorithm="sha256").hexdigest()


def pin_lookup(*, device_id: int, pin: str) -> str:
    """The lookup hash under the newest key: the one stored with a new PIN."""
    return _lookup(key=_keys()[0], device_id=device_id, pin=pin)


def pin_lookups(*, device_id: int, pin: str) -> list[str]:
    """The lookup hash under every configured key, so uniqueness holds mid-rotation."""
    return [_lookup(key=key, device_id=device_id, pin=pin) for key in _keys()]
