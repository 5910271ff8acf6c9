"""The backend that loads the signed-in user of a session (residents sign in by SMS code, not here).

Every page of the site asks for the user's profile (ProfileRequiredMiddleware) and most for
its attribute (what the account may change): loading them with the user makes one query of
three on each request (see bench/README.md, "pages.py"). That query is plain SQL built once
per process: through the ORM (`select_related("attribute", "profile")`), building it cost
more than running it, on every request of a signed-in browser (bench/README.md, "loadtest.py").
"""

from __future__ import annotations

from functools import cache

from django.contrib.auth.backends import BaseBackend
from django.db import connection

from accounts.models import Profile, User, UserAttribute
from myspacecore.tenancy.sql import column, models_from_row, select_list, table


@cache
def _session_user_sql(vendor: str) -> str:
    return (
        f"SELECT {select_list('u', User)}, {select_list('a', UserAttribute)}, {select_list('p', Profile)} "  # noqa: S608 - names from _meta
        f"FROM {table(User)} u "
        f"LEFT JOIN {table(UserAttribute)} a ON {column('a', UserAttribute, 'id')} = {column('u', User, 'attribute')} "
        f"LEFT JOIN {table(Profile)} p ON {column('p', Profile, 'user')} = {column('u', User, 'id')} "
        f"WHERE {column('u', User, 'id')} = %s"
    )


def user_with_attribute_and_profile(user_id: int) -> User | None:
    """`User.objects.select_related("attribute", "profile").get(pk=user_id)`, or None: the
    same instances, with the attribute and the profile (or the lack of one) cached on the user."""
    with connection.cursor() as cursor:
        cursor.execute(_session_user_sql(connection.vendor), [user_id])
        row = cursor.fetchone()
    if row is None:
        return None
    user, attribute, profile = models_from_row(row, User, UserAttribute, Profile)
    User._meta.get_field("attribute").set_cached_value(user, attribute)
    # As select_related does for a reverse one-to-one: the profile knows its user, and a user
    # without one has None cached, so `hasattr(user, "profile")` is False without a query.
    User._meta.get_field("profile").set_cached_value(user, profile)
    if profile is not None:
        Profile._meta.get_field("user").set_cached_value(profile, user)
    return user


class SessionUserBackend(BaseBackend):
    """`get_user` only: no password check and no permissions of its own, so the admin's
    password sign-in and permission checks stay with ModelBackend, listed after it."""

    def get_user(self, user_id):
        try:
            user = user_with_attribute_and_profile(int(user_id))
        except (TypeError, ValueError):  # a session that holds no account id
            return None
        # As ModelBackend: a deactivated account's session is no longer signed in.
        return user if user is not None and user.is_active else None
