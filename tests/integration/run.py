"""The integration tier: the suite (without the browser tier) on PostgreSQL + Redis + a worker.

Run by `make test` after the SQLite tiers. Without PostgreSQL or Redis on this machine it
says so and skips; with CI=true a missing service fails the run instead.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PG = ("127.0.0.1", int(os.environ.get("IT_PG_PORT", "5432")))
REDIS = ("127.0.0.1", int(os.environ.get("IT_REDIS_PORT", "6379")))
IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")


def reachable(address: tuple[str, int]) -> bool:
    try:
        with socket.create_connection(address, timeout=1):
            return True
    except OSError:
        return False


def main() -> int:
    missing = [name for name, address in (("PostgreSQL", PG), ("Redis", REDIS)) if not reachable(address)]
    if missing:
        message = f"integration tier: {', '.join(missing)} not reachable on 127.0.0.1"
        if IN_CI:
            print(f"FAIL {message} (CI=true)", file=sys.stderr)
            return 1
        print(f"SKIP {message}; start them to run this tier (see README).")
        return 0
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "myspacecore.settings.test",
        # pytest-django creates and drops test_myspacecore_it; the worker is pointed at it.
        "DATABASE_URL": os.environ.get("IT_DATABASE_URL", f"postgres://postgres@{PG[0]}:{PG[1]}/myspacecore_it"),
        "REDIS_URL": os.environ.get("IT_REDIS_URL", f"redis://{REDIS[0]}:{REDIS[1]}/14"),
        # Unit tests keep running tasks eagerly; integration tests switch to the real worker.
        "CELERY_TASK_ALWAYS_EAGER": "true",
        "MYSPACECORE_INTEGRATION": "1",
    }
    command = [sys.executable, "-m", "pytest", "-m", "not browser", "-p", "no:cacheprovider", *sys.argv[1:]]
    return subprocess.call(command, cwd=ROOT, env=env)


if __name__ == "__main__":
    sys.exit(main())
