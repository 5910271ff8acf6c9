"""A page's CSRF token, masked as Django masks it, with the mask drawn from one read of the OS's randomness.

Every page of the site shows forms (sign-out, text size, language), so each renders a token:
Django's `get_token` masks the secret with 32 characters drawn one by one by `secrets.choice`,
a `getrandom` call each, ~0.04 ms of CPU on every page (bench/README.md, pages.py). Here the
32 mask characters come from one `os.urandom` read; rejection sampling keeps each of the 62
characters equally likely, as `secrets.choice` does. The rest is Django's: the secret and the
cookie's renewal as `get_token` does them (a request without a secret yet goes through
`get_token` itself), the token checked and unmasked by `CsrfViewMiddleware`. BREACH masking
is unchanged: a new mask for each response.

`csrf` is a context processor listed after Django's built-in one, whose `csrf_token` it replaces.
"""

from __future__ import annotations

import os

from django.http import HttpRequest
from django.middleware.csrf import CSRF_ALLOWED_CHARS, CSRF_SECRET_LENGTH, get_token

_CHARS = CSRF_ALLOWED_CHARS
_INDEX = {char: i for i, char in enumerate(_CHARS)}
# The bytes below this limit map evenly onto the characters (256 is not a multiple of 62).
_LIMIT = 256 - 256 % len(_CHARS)


def _mask_indexes() -> list[int]:
    indexes: list[int] = []
    while len(indexes) < CSRF_SECRET_LENGTH:
        # One read mostly suffices: 40 bytes, each kept with probability 248/256.
        indexes.extend(byte % len(_CHARS) for byte in os.urandom(40) if byte < _LIMIT)
    return indexes[:CSRF_SECRET_LENGTH]


def masked(secret: str) -> str:
    """A token for `secret`: a fresh mask, then the secret shifted by it (Django's `_mask_cipher_secret`)."""
    mask = _mask_indexes()
    cipher = "".join(_CHARS[(_INDEX[char] + shift) % len(_CHARS)] for char, shift in zip(secret, mask, strict=True))
    return "".join(_CHARS[shift] for shift in mask) + cipher


def csrf_token(request: HttpRequest) -> str:
    """`django.middleware.csrf.get_token(request)`, the same token with the mask drawn at once."""
    if "CSRF_COOKIE" not in request.META:
        return get_token(request)  # no secret yet: Django makes one and sets the cookie
    # As get_token: the cookie is sent again with the response, renewing its expiry.
    request.META["CSRF_COOKIE_NEEDS_UPDATE"] = True
    return masked(request.META["CSRF_COOKIE"])


class LazyToken:
    """The page's token, drawn when a template first uses it, then the same text for every form.

    Django's processor gives a `SimpleLazyObject`: each `{% csrf_token %}` then goes through its
    proxy for the truth test, the comparison with "NOTPROVIDED" and the escaping, about a third
    of the page chrome's rendering with three forms. This is a plain object with those
    operations: until a template uses it no token is drawn (a page without a form renews no
    cookie), as with Django's.
    """

    __slots__ = ("_request", "_token")

    def __init__(self, request: HttpRequest) -> None:
        self._request = request
        self._token: str | None = None

    def __str__(self) -> str:
        if self._token is None:
            self._token = csrf_token(self._request)
        return self._token

    # conditional_escape() uses this as it is: the token's characters are letters and digits.
    __html__ = __str__

    def __bool__(self) -> bool:
        return True

    def __eq__(self, other: object) -> bool:
        return str(self) == other

    def __hash__(self) -> int:
        return hash(str(self))

    def __len__(self) -> int:
        return len(str(self))


def csrf(request: HttpRequest) -> dict[str, LazyToken]:
    return {"csrf_token": LazyToken(request)}
