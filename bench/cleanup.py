"""The cleanup commands against a raw SQL DELETE of the same rows, in the same run, on PostgreSQL.

    .venv/bin/python bench/cleanup.py [--codes 1000000] [--units 20000]

`--units 100000` is the issue's size; the default keeps a run to a couple of minutes (the
ratio is per row). Redis db 9 (BENCH_JOBS_REDIS_URL), not pages.py's db 7: harness flushes it.

Its own database (BENCH_CLEANUP_DATABASE_URL, default myspacecore_bench_cleanup, re-created
and dropped at the end), filled with set-based SQL (INSERT … SELECT generate_series):
  * `--codes` expired verification codes: `manage.py cleanup_verification_codes` versus
    `DELETE FROM accounts_verificationcode WHERE expires_at < now()`;
  * `--units` units whose only lease ended yesterday, each with a hub with 5 remote-control
    settings and a smart lock with 3 PINs: `manage.py cleanup_move_out` versus three
    statements (delete the remotes, delete the PINs, stamp the units) over the same units.
Each command runs in a child process (its wall time includes Django's start-up, measured
separately and shown: `manage.py check`, and the codes command with nothing to delete,
which the `_without_startup` keys subtract); the peak RSS comes from wait4(). The codes
command also runs at 10,000 rows, for "rss_growth_mb" = peak RSS at `--codes` rows minus
peak RSS at 10,000. Prints a table, then one JSON line: "codes_vs_raw_sql",
"move_out_vs_raw_sql" (targets <= 1.5) and "rss_growth_mb" (target <= 50).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlparse

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ["BENCH_DATABASE_URL"] = os.environ.get(
    "BENCH_CLEANUP_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/myspacecore_bench_cleanup"
)
# harness.database_recreate flushes the bench Redis db: not pages.py's (db 7), which may be running.
os.environ["BENCH_REDIS_URL"] = os.environ.get("BENCH_JOBS_REDIS_URL", "redis://127.0.0.1:6379/9")

import psycopg

from bench import harness

URL = harness.DATABASE_URL

FILL_CODES = """
INSERT INTO accounts_verificationcode
    (purpose, channel, target, code_hash, language, state, delivery, delivery_attempts, created_at, expires_at)
SELECT 'sign_in', 'sms', '+8190' || lpad(n::text, 8, '0'), repeat('0', 64), 'ja', 'pending', 'sent', 1,
       now() - interval '1 hour', now() - interval '55 minutes'
FROM generate_series(1, %(n)s) AS n
"""

RAW_CODES = "DELETE FROM accounts_verificationcode WHERE expires_at < now()"

FILL_UNITS = [
    """INSERT INTO accounts_operator (name, contact_phone, contact_email, contact_hours, created_at)
       VALUES ('ベンチ管理', '', '', '', now()) ON CONFLICT DO NOTHING""",
    """INSERT INTO accounts_property (name, address, operator_id)
       SELECT 'ベンチ' || p, '', (SELECT min(id) FROM accounts_operator) FROM generate_series(1, %(n)s / 100 + 1) p""",
    """INSERT INTO accounts_unit (number, property_id)
       SELECT mod(n, 100)::text, (SELECT min(id) FROM accounts_property) + n / 100
       FROM generate_series(0, %(n)s - 1) n""",
    """INSERT INTO accounts_lease (phone_number, start_date, end_date, created_at, unit_id, attribute_id)
       SELECT '+8180' || lpad(u.id::text, 8, '0'), current_date - 400, current_date - 1, now(), u.id,
              (SELECT id FROM accounts_userattribute WHERE code = 'rental_resident')
       FROM accounts_unit u""",
    """INSERT INTO smarthome_device (kind, name, serial_number, created_at, unit_id)
       SELECT k, k, k || '-' || u.id, now(), u.id FROM accounts_unit u, (VALUES ('hub'), ('smart_lock')) AS kinds(k)""",
    """INSERT INTO smarthome_remotecontrolsetting
           (name, appliance_type, maker, signal_data, created_at, updated_at, device_id)
       SELECT 'リモコン' || r, 'tv', '', '', now(), now(), d.id
       FROM smarthome_device d, generate_series(1, 5) r WHERE d.kind = 'hub'""",
    """INSERT INTO smarthome_pincode (label, pin_encrypted, pin_lookup, created_at, device_id)
       SELECT '鍵' || p, 'x', md5(d.id::text || p), now(), d.id
       FROM smarthome_device d, generate_series(1, 3) p WHERE d.kind = 'smart_lock'""",
    "VACUUM ANALYZE",
]

# The same units as units_awaiting_reset (last lease ended, none current, not reset since).
RAW_MOVE_OUT = [
    """CREATE TEMP TABLE due AS
       SELECT u.id FROM accounts_unit u
       WHERE EXISTS (SELECT 1 FROM accounts_lease l WHERE l.unit_id = u.id AND l.end_date < current_date)
         AND NOT EXISTS (SELECT 1 FROM accounts_lease l WHERE l.unit_id = u.id AND l.start_date <= current_date
                         AND (l.end_date IS NULL OR l.end_date >= current_date))
         AND u.last_reset_at IS NULL""",
    """DELETE FROM smarthome_remotecontrolsetting r USING smarthome_device d, due
       WHERE r.device_id = d.id AND d.unit_id = due.id""",
    "DELETE FROM smarthome_pincode p USING smarthome_device d, due WHERE p.device_id = d.id AND d.unit_id = due.id",
    "UPDATE accounts_unit u SET last_reset_at = now() FROM due WHERE u.id = due.id",
]


def sql(statements, **params) -> None:
    with psycopg.connect(URL, autocommit=True) as conn:
        for statement in [statements] if isinstance(statements, str) else statements:
            conn.execute(statement, params if "%(" in statement else None)


def timed_sql(statements) -> float:
    started = time.monotonic()
    with psycopg.connect(URL) as conn:  # one transaction, like a maintenance script would
        for statement in statements:
            conn.execute(statement)
    return time.monotonic() - started


def command(*args: str) -> tuple[float, float, str]:
    """Run manage.py in a child; (seconds, peak RSS MiB, output)."""
    started = time.monotonic()
    child = subprocess.Popen(
        [harness.PYTHON, "manage.py", *args], cwd=harness.ROOT, env=harness.bench_env(),
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
    )
    out = child.stdout.read().decode()
    _pid, status, usage = os.wait4(child.pid, 0)
    if os.waitstatus_to_exitcode(status) != 0:
        raise RuntimeError(f"{args} failed:\n{out}")
    return time.monotonic() - started, usage.ru_maxrss / 1024, out.strip().splitlines()[-1] if out.strip() else ""


def count(table: str) -> int:
    with psycopg.connect(URL) as conn:
        return conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0]  # noqa: S608 - fixed table names


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--codes", type=int, default=1_000_000)
    parser.add_argument("--units", type=int, default=20_000)
    args = parser.parse_args()

    harness.database_recreate()
    rows = []
    try:
        check, check_rss, _ = command("check")
        # The same start-up as the runs below (the cleanup commands skip the system checks).
        startup, startup_rss, out = command("cleanup_verification_codes")
        assert out == "cleanup_verification_codes: 0 codes processed in 0 batches, 0 failed", out

        sql(FILL_CODES, n=10_000)
        seconds_10k, rss_10k, _ = command("cleanup_verification_codes")
        rows.append({"what": "cleanup_verification_codes, 10,000 codes", "seconds": seconds_10k, "rss": rss_10k})

        sql([FILL_CODES, "VACUUM ANALYZE accounts_verificationcode"], n=args.codes)
        codes_seconds, rss_big, out = command("cleanup_verification_codes")
        assert count("accounts_verificationcode") == 0, out
        rows.append({"what": f"cleanup_verification_codes, {args.codes:,} codes", "seconds": codes_seconds,
                     "rss": rss_big})
        sql([FILL_CODES, "VACUUM ANALYZE accounts_verificationcode"], n=args.codes)
        raw_codes = timed_sql([RAW_CODES])
        rows.append({"what": f"raw DELETE, {args.codes:,} codes", "seconds": raw_codes})

        sql(FILL_UNITS, n=args.units)
        move_seconds, move_rss, out = command("cleanup_move_out")
        assert count("smarthome_pincode") == 0 and count("smarthome_remotecontrolsetting") == 0, out
        rows.append({"what": f"cleanup_move_out, {args.units:,} units", "seconds": move_seconds, "rss": move_rss})
        sql(["TRUNCATE accounts_lease, smarthome_pincode, smarthome_remotecontrolsetting, smarthome_device,"
             " accounts_unit, accounts_property CASCADE", *FILL_UNITS], n=args.units)
        raw_move = timed_sql(RAW_MOVE_OUT)
        assert count("smarthome_pincode") == 0
        rows.append({"what": f"raw SQL move-out, {args.units:,} units", "seconds": raw_move})
        rows.append({"what": "Django start-up + system checks (manage.py check)", "seconds": check, "rss": check_rss})
        rows.append({"what": "cleanup command, nothing to delete (start-up)", "seconds": startup, "rss": startup_rss})
    finally:
        admin = urlparse(URL)._replace(path="/postgres").geturl()
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{urlparse(URL).path.lstrip("/")}" WITH (FORCE)')

    summary = {
        "codes_vs_raw_sql": round(codes_seconds / raw_codes, 2),
        "move_out_vs_raw_sql": round(move_seconds / raw_move, 2),
        "rss_growth_mb": round(rss_big - rss_10k, 1),
        "codes_vs_raw_sql_without_startup": round((codes_seconds - startup) / raw_codes, 2),
        "move_out_vs_raw_sql_without_startup": round((move_seconds - startup) / raw_move, 2),
    }
    print(harness.table(rows, [("what", "run", ""), ("seconds", "seconds", ".2f"), ("rss", "peak RSS MiB", ".1f")]))
    print("targets: codes_vs_raw_sql <= 1.5, move_out_vs_raw_sql <= 1.5, rss_growth_mb <= 50")
    print(json.dumps(summary))
    return 0


if __name__ == "__main__":
    sys.exit(main())
