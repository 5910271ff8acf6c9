"""The account's last sign-in time, written when Django's `user_logged_in` fires (every sign-in).

Django's own receiver (`update_last_login`) does `user.save(update_fields=["last_login"])`:
one UPDATE, built through the ORM at each sign-in, where building it costs several times
running it (bench/README.md). This one writes the same column of the same row in one plain
UPDATE built once per process. `AccountsConfig.ready` puts it in place of Django's.

A service that has already written the time with a statement of its own (the resident
sign-in reads the account with an UPDATE that sets it) marks the instance with
`last_login_recorded`; the next login() of that instance then writes nothing more.
"""

from __future__ import annotations

from functools import cache
from typing import cast

from django.contrib.auth.base_user import AbstractBaseUser
from django.db import connections, router
from django.db.models import Field, Model
from django.utils import timezone


@cache
def _last_login_sql(model: type[Model], using: str) -> str:
    quote = connections[using].ops.quote_name
    meta = model._meta
    last_login = cast(Field, meta.get_field("last_login"))
    return (
        f"UPDATE {quote(meta.db_table)} SET {quote(str(last_login.column))} = %s "  # noqa: S608
        f"WHERE {quote(str(meta.pk.column))} = %s"
    )


_RECORDED = "_last_login_recorded"


def last_login_recorded(user: AbstractBaseUser) -> None:
    """Mark that `user.last_login`, as it is now, is what its row holds (written by the caller,
    inside the transaction of the login() to come): that login() keeps it."""
    setattr(user, _RECORDED, user.last_login)


def last_login_record(sender, user, **kwargs) -> None:
    """Set `user.last_login` to now, on the instance and its row (as Django's update_last_login),
    unless the instance was just marked `last_login_recorded` (the mark serves one login)."""
    recorded = user.__dict__.pop(_RECORDED, None)
    if recorded is not None and recorded == user.last_login:
        return
    user.last_login = timezone.now()
    using = router.db_for_write(type(user), instance=user)
    with connections[using].cursor() as cursor:
        cursor.execute(
            _last_login_sql(cast(type[Model], type(user)), using),
            [connections[using].ops.adapt_datetimefield_value(user.last_login), user.pk],
        )
