"""The backend that loads the signed-in user of a session (residents sign in by SMS code, not here).

Every page of the site asks for the user's profile (ProfileRequiredMiddleware) and most for
its attribute (what the account may change): loading them with the user makes one query of
three on each request (see bench/README.md, "pages.py").
"""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.contrib.auth.backends import BaseBackend


class SessionUserBackend(BaseBackend):
    """`get_user` only: no password check and no permissions of its own, so the admin's
    password sign-in and permission checks stay with ModelBackend, listed after it."""

    def get_user(self, user_id):
        user_model = get_user_model()
        try:
            user = user_model._default_manager.select_related("attribute", "profile").get(pk=user_id)
        except user_model.DoesNotExist:
            return None
        # As ModelBackend: a deactivated account's session is no longer signed in.
        return user if user.is_active else None
