"""Ending the sessions of an account, on every device at once."""

from __future__ import annotations

from django.contrib.auth import update_session_auth_hash
from django.db import transaction
from django.http import HttpRequest

from accounts.models import User, new_session_token


@transaction.atomic
def user_sessions_end(*, user: User, keep: HttpRequest | None = None) -> None:
    """End every session of `user` (forced logout everywhere), except `keep`'s if given.

    The session hash includes `session_token`; a new token makes every stored session of
    the account fail its hash check on its next request, whatever the session backend.
    """
    user.session_token = new_session_token()
    user.save(update_fields=["session_token"])
    if keep is not None and keep.user.pk == user.pk:
        update_session_auth_hash(keep, user)
