"""One way for every room to read its tunables: `<PREFIX>_<NAME>` from Django settings, else
the documented default. A table (a dict default) overrides only the keys it names."""

from __future__ import annotations

from collections.abc import Mapping

from django.conf import settings


class AppSettings:
    """The tunables of one room, e.g. `AppSettings("ACCOUNTS", {...})` reads `ACCOUNTS_CODE_LIFETIME`.

    Read on every access (never cached), so tests and `override_settings` see their value.
    """

    def __init__(self, prefix: str, defaults: Mapping[str, object]) -> None:
        self._prefix = prefix
        self._defaults = dict(defaults)

    def __getattr__(self, name: str):
        if name.startswith("_") or name not in self._defaults:
            raise AttributeError(name)
        default = self._defaults[name]
        value = getattr(settings, f"{self._prefix}_{name}", default)
        if isinstance(default, dict) and isinstance(value, dict):
            # A table overrides only the keys it names: {"ip": "3/15m"} keeps the rest.
            return {**default, **value}
        return value

    def names(self) -> list[str]:
        """Every tunable of the room (the start-up checks walk them)."""
        return list(self._defaults)
