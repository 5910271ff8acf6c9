"""The site's session store: Django's database store on `AccountSession`, which names the account.

`SESSION_ENGINE = "accounts.sessions"` (production: `myspacecore.sessions`, the same table
behind a cache). Each save writes the signed-in account's id beside the session, so
`SessionStore.account_sessions_delete` finds an account's sessions by an index instead of
decoding the whole table. The class keeps Django's name, `SessionStore`: a session's
signature is salted with it, so the rows copied from Django's table still decode.
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth import SESSION_KEY
from django.contrib.sessions.backends.db import SessionStore as DBStore

from accounts.models import AccountSession


def _account_id(data: dict[str, Any]) -> int | None:
    try:
        return int(data[SESSION_KEY])
    except (KeyError, TypeError, ValueError):
        return None


class AccountSessionIndex:
    """What a database-backed store needs to keep `AccountSession.account_id` (mixed in first)."""

    @classmethod
    def get_model_class(cls) -> type[AccountSession]:
        return AccountSession

    def create_model_instance(self, data: dict[str, Any]) -> AccountSession:
        row = super().create_model_instance(data)  # type: ignore[misc]
        row.account_id = _account_id(data)
        return row

    @classmethod
    def account_sessions_delete(cls, *, account_id: int, keep_key: str | None = None) -> list[str]:
        """Delete every session row of the account (except `keep_key`'s); returns their keys."""
        rows = AccountSession.objects.filter(account_id=account_id)
        if keep_key:
            rows = rows.exclude(session_key=keep_key)
        keys = list(rows.values_list("session_key", flat=True))
        AccountSession.objects.filter(session_key__in=keys).delete()
        return keys


class SessionStore(AccountSessionIndex, DBStore):
    pass
