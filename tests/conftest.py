"""Shared fixtures. Tests use the real database (SQLite here, PostgreSQL in the integration tier)."""

from __future__ import annotations

import importlib
import os
import socket

import pytest
from django.core.cache import cache

IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")


def require_service(name: str, host: str, port: int) -> None:
    """Skip when a service is missing on a developer's machine; fail in CI (CI=true)."""
    try:
        with socket.create_connection((host, port), timeout=1):
            return
    except OSError:
        message = f"{name} is not reachable on {host}:{port}"
        if IN_CI:
            pytest.fail(f"{message} (CI=true: a missing service is a failure, never a skip)")
        pytest.skip(message)


@pytest.fixture(autouse=True)
def _clear_cache():
    """Rate-limit counters live in the cache: every test starts from zero."""
    cache.clear()
    yield
    cache.clear()


@pytest.fixture(autouse=True)
def _empty_sms_outbox():
    try:
        from accounts.sms import outbox
    except ImportError:
        yield
        return
    outbox.clear()
    yield
    outbox.clear()


@pytest.fixture(autouse=True)
def _seeded_user_attributes(request):
    """Transactional tests (live server, worker, races) start from a flushed database, which
    has lost the rows of data migrations: put the seeded user attributes back."""
    marker = request.node.get_closest_marker("django_db")
    transactional = (marker is not None and marker.kwargs.get("transaction")) or any(
        name in request.fixturenames for name in ("transactional_db", "live_server")
    )
    if not transactional:
        return
    request.getfixturevalue("transactional_db")
    from django.apps import apps

    importlib.import_module("accounts.migrations.0002_seed_user_attributes").seed(apps, None)
    importlib.import_module("accounts.migrations.0008_userattribute_name_en").name_seeded(apps, None)


@pytest.fixture(autouse=True)
def _default_language():
    """A request in English leaves English active in this thread (LocaleMiddleware does not
    undo it): every test starts in the default language, Japanese."""
    from django.conf import settings
    from django.utils import translation

    translation.activate(settings.LANGUAGE_CODE)
    yield
    translation.activate(settings.LANGUAGE_CODE)
