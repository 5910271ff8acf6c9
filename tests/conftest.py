"""Shared fixtures. Tests use the real database (SQLite here, PostgreSQL in the integration tier)."""

from __future__ import annotations

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
