"""Peak memory (RSS) of `manage.py cleanup_verification_codes` at 0, 10,000 and 1,000,000 expired codes.

Run: `.venv/bin/python bench/cleanup_rss.py` (PostgreSQL on 127.0.0.1). It creates its own
database (BENCH_DATABASE_URL, default myspacecore_bench_c), migrates it, fills the codes
table with one `INSERT … SELECT generate_series` per size, runs the command in a child
process and reads the child's peak RSS from wait4(); then drops the database.
Flat memory means the peaks are (nearly) the same: only one batch of ids is ever held.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlparse

import psycopg

ROOT = Path(__file__).resolve().parents[1]
URL = os.environ.get("BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/myspacecore_bench_c")
SIZES = [0, 10_000, 1_000_000]
# Unset: the command's own default (CODES_BATCH_SIZE), what cron and beat run with.
BATCH_SIZE = os.environ.get("BENCH_BATCH_SIZE", "")


def admin_url() -> str:
    return urlparse(URL)._replace(path="/postgres").geturl()


def database_name() -> str:
    return urlparse(URL).path.lstrip("/")


def env() -> dict[str, str]:
    return {**os.environ, "DJANGO_SETTINGS_MODULE": "myspacecore.settings.test", "DATABASE_URL": URL}


def run_measured(args: list[str]) -> tuple[float, int, str]:
    """Run a child; return (seconds, peak RSS in KiB, stdout)."""
    started = time.monotonic()
    child = subprocess.Popen(args, cwd=ROOT, env=env(), stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    out = child.stdout.read().decode()
    _pid, status, usage = os.wait4(child.pid, 0)
    if os.waitstatus_to_exitcode(status) != 0:
        sys.exit(f"{args} failed: {out}")
    return time.monotonic() - started, usage.ru_maxrss, out.strip()


def fill(count: int) -> None:
    with psycopg.connect(URL, autocommit=True) as conn:
        conn.execute("TRUNCATE accounts_verificationcode")
        conn.execute(
            """
            INSERT INTO accounts_verificationcode
                (purpose, channel, target, code_hash, language, state, delivery, delivery_attempts,
                 created_at, expires_at)
            SELECT 'sign_in', 'sms', '+8190' || lpad(n::text, 8, '0'), repeat('0', 64), 'ja', 'used', 'sent', 1,
                   now() - interval '1 hour', now() - interval '55 minutes'
            FROM generate_series(1, %s) AS n
            """,
            [count],
        )
        conn.execute("VACUUM ANALYZE accounts_verificationcode")


def main() -> None:
    with psycopg.connect(admin_url(), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{database_name()}"')
        conn.execute(f'CREATE DATABASE "{database_name()}"')
    try:
        subprocess.run([sys.executable, "manage.py", "migrate", "--noinput", "-v0"], cwd=ROOT, env=env(), check=True)
        print(f"batch size {BATCH_SIZE or 'default'}; peak RSS of the command process (wait4 ru_maxrss)")
        print(f"{'rows':>10} {'seconds':>8} {'peak RSS MiB':>13}  summary")
        baseline = None
        for size in SIZES:
            fill(size)
            batch = ["--batch-size", BATCH_SIZE] if BATCH_SIZE else []
            seconds, rss_kib, out = run_measured([sys.executable, "manage.py", "cleanup_verification_codes", *batch])
            baseline = baseline or rss_kib
            print(f"{size:>10,} {seconds:>8.1f} {rss_kib / 1024:>13.1f}  {out}  (x{rss_kib / baseline:.2f} of 0 rows)")
    finally:
        with psycopg.connect(admin_url(), autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{database_name()}" WITH (FORCE)')


if __name__ == "__main__":
    main()
