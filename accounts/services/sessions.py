"""Ending the sessions of an account, on every device at once."""

from __future__ import annotations

from importlib import import_module

from django.conf import settings
from django.contrib.auth import update_session_auth_hash
from django.db import transaction
from django.http import HttpRequest

from accounts.models import User, new_session_token


@transaction.atomic
def user_sessions_end(*, user: User, keep: HttpRequest | None = None) -> int:
    """End every session of `user` (forced logout everywhere), except `keep`'s if given.

    Two locks, each enough alone: a new `session_token` makes every session of the account
    fail its hash check on its next request, whatever the session backend; and the session
    store deletes the account's rows (found by `AccountSession.account_id`, one indexed
    statement), so none waits in the table until its expiry. Returns how many rows went.
    """
    keeping = keep is not None and keep.user.pk == user.pk
    # No key yet (a session whose key was cycled in this request is saved under a new one at
    # its end): no row of it to keep, but it still gets the new hash.
    keep_key = keep.session.session_key if keeping and keep is not None else None
    user.session_token = new_session_token()
    user.save(update_fields=["session_token"])
    deleted = _session_rows_delete(account_id=user.pk, keep_key=keep_key)
    if keeping and keep is not None:
        update_session_auth_hash(keep, user)
    return deleted


def _session_rows_delete(*, account_id: int, keep_key: str | None) -> int:
    store = import_module(settings.SESSION_ENGINE).SessionStore
    delete = getattr(store, "account_sessions_delete", None)
    # Another engine (signed cookies) keeps no rows: the new token alone ends its sessions.
    return len(delete(account_id=account_id, keep_key=keep_key)) if delete else 0
