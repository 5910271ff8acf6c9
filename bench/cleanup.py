"""The cleanup commands against the simplest SQL doing the same work, in the same run, on PostgreSQL.

    .venv/bin/python bench/cleanup.py [--codes 10000000] [--units 200000]

The defaults are the issue's sizes (about 10 minutes here). Redis db 9 (BENCH_JOBS_REDIS_URL),
not pages.py's db 7: harness flushes it.

Its own database (BENCH_CLEANUP_DATABASE_URL, default myspacecore_bench_cleanup, re-created
and dropped at the end), filled with set-based SQL (INSERT … SELECT generate_series):
  * `--codes` expired verification codes: `manage.py cleanup_verification_codes` versus
    `DELETE FROM accounts_verificationcode WHERE expires_at < now()`;
  * `--units` units whose only lease ended yesterday, each with a hub with 5 remote-control
    settings and a smart lock behind it with 3 PINs: `manage.py cleanup_move_out` versus one
    transaction doing what a move-out records (devices' versions bumped, settings "being removed",
    a reset per device, units stamped) and reading the channels to publish to. The command also
    enqueues the publishes (one task per 200 hubs) on the bench Redis, which no worker consumes.
Both sides are timed the same way, from a fresh process to its exit: each command in a
`manage.py` child, each raw baseline in a `psql` child. "startup_s" is the codes command on an
empty table (what every run pays; median of 3), shown beside `--help` (Django's start-up with
no database) and `manage.py check`; the `_without_startup` keys subtract it. The children
keep their compiled bytecode in artifacts/bench/pycache (as an installed release has its .pyc
files), so a source compile is not counted. The peak RSS comes from wait4(); "rss_growth_mb" =
the codes command's peak RSS at `--codes` rows minus its peak at 10,000. Prints a table, then
one JSON line: "codes_rows", "units_rows", "startup_s" (target <= 0.3), "codes_vs_raw_sql",
"move_out_vs_raw_sql" (targets <= 1.3) and "rss_growth_mb" (target <= 50).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
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
    """INSERT INTO accounts_lease (phone_number, start_date, end_date, created_at, unit_id, attribute_id, acceptance)
       SELECT '+8180' || lpad(u.id::text, 8, '0'), current_date - 400, current_date - 1, now(), u.id,
              (SELECT id FROM accounts_userattribute WHERE code = 'rental_resident'), 'accepted'
       FROM accounts_unit u""",
    """INSERT INTO smarthome_device
           (kind, name, serial_number, created_at, unit_id, channel_id, desired_version, reported_version, sync_failure)
       SELECT k, k, k || '-' || u.id, now(), u.id, k || '-ch-' || u.id, 1, 1, ''
       FROM accounts_unit u, (VALUES ('hub'), ('smart_lock')) AS kinds(k)""",
    # Each unit's lock talks through its hub (one channel per unit, as in service).
    """UPDATE smarthome_device l SET hub_id = h.id FROM smarthome_device h
       WHERE l.kind = 'smart_lock' AND h.kind = 'hub' AND h.unit_id = l.unit_id""",
    """INSERT INTO smarthome_remotecontrolsetting
           (name, appliance_type, maker, signal_data, created_at, updated_at, device_id,
            changed_version, sync_changed_at, sync_failure, sync_state)
       SELECT 'リモコン' || r, 'tv', '', '', now(), now(), d.id, 1, now(), '', 'set'
       FROM smarthome_device d, generate_series(1, 5) r WHERE d.kind = 'hub'""",
    """INSERT INTO smarthome_pincode
           (label, pin_encrypted, pin_lookup, created_at, device_id, changed_version, sync_changed_at, sync_failure,
            sync_state)
       SELECT '鍵' || p, 'x', md5(d.id::text || p), now(), d.id, 1, now(), '', 'set'
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
    "ANALYZE due",  # a temporary table has no statistics: without them the plan below nests loops
    # What the move-out records (smarthome.services._units_settings_reset): each device's version
    # bumped, its settings "being removed" at that version, a reset per device awaiting the
    # device's confirmation, the units stamped; then the channels to publish to.
    """WITH devices AS MATERIALIZED (
           UPDATE smarthome_device SET desired_version = desired_version + 1,
                                       pending_since = COALESCE(pending_since, now())
           WHERE unit_id IN (SELECT id FROM due) RETURNING id, desired_version
       ),
       remotes AS (
           UPDATE smarthome_remotecontrolsetting r SET sync_state = 'removing', sync_failure = '',
                  sync_changed_at = now(), changed_version = d.desired_version
           FROM devices d WHERE r.device_id = d.id AND r.sync_state <> 'removing' RETURNING 1
       ),
       pins AS (
           UPDATE smarthome_pincode c SET sync_state = 'removing', sync_failure = '',
                  sync_changed_at = now(), changed_version = d.desired_version
           FROM devices d WHERE c.device_id = d.id AND c.sync_state <> 'removing' RETURNING 1
       ),
       resets AS (
           INSERT INTO smarthome_devicesettingsreset (device_id, reason, purge_request_id, version, requested_at,
                                                      confirmed_at)
           SELECT id, 'move_out', NULL, desired_version, now(), NULL FROM devices
       )
       UPDATE accounts_unit u SET last_reset_at = now() FROM due WHERE u.id = due.id""",
    """SELECT DISTINCT COALESCE(h.channel_id, d.channel_id) FROM smarthome_device d
       LEFT JOIN smarthome_device h ON h.id = d.hub_id WHERE d.unit_id IN (SELECT id FROM due)""",
]

MOVED_OUT = """SELECT count(*) FROM accounts_unit WHERE last_reset_at IS NULL
                 UNION ALL SELECT count(*) FROM smarthome_pincode WHERE sync_state <> 'removing'
                 UNION ALL SELECT count(*) FROM smarthome_remotecontrolsetting WHERE sync_state <> 'removing'"""


def moved_out() -> bool:
    """Every unit stamped, every PIN and remote being removed (until the devices confirm)."""
    with psycopg.connect(URL) as conn:
        return all(row[0] == 0 for row in conn.execute(MOVED_OUT).fetchall())


def sql(statements, **params) -> None:
    with psycopg.connect(URL, autocommit=True) as conn:
        for statement in [statements] if isinstance(statements, str) else statements:
            conn.execute(statement, params if "%(" in statement else None)


def timed_sql(statements) -> float:
    """Run the statements in a `psql` child, in one transaction (`-1`); its wall time, start to exit."""
    script = "".join(f"{statement.strip()};\n" for statement in statements)
    started = time.monotonic()
    subprocess.run(
        ["psql", URL, "--quiet", "--no-psqlrc", "-v", "ON_ERROR_STOP=1", "-1", "-c", script],
        check=True,
        stdout=subprocess.DEVNULL,
    )
    return time.monotonic() - started


def child_env() -> dict[str, str]:
    """The bench environment, bytecode cached between the children (not under the source tree)."""
    env = harness.bench_env(PYTHONPYCACHEPREFIX=str(harness.ARTIFACTS / "pycache"))
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    return env


def command(*args: str) -> tuple[float, float, str]:
    """Run manage.py in a child; (seconds, peak RSS MiB, output)."""
    started = time.monotonic()
    child = subprocess.Popen(
        [harness.PYTHON, "manage.py", *args],
        cwd=harness.ROOT,
        env=child_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    out = child.stdout.read().decode()
    _pid, status, usage = os.wait4(child.pid, 0)
    if os.waitstatus_to_exitcode(status) != 0:
        raise RuntimeError(f"{args} failed:\n{out}")
    return time.monotonic() - started, usage.ru_maxrss / 1024, out.strip().splitlines()[-1] if out.strip() else ""


def count(table: str) -> int:
    with psycopg.connect(URL) as conn:
        return conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0]  # noqa: S608 - fixed table names


def startup_runs() -> tuple[float, float, float, float]:
    """(codes command on an empty table, its peak RSS, `--help`, `check`): medians of 3 runs."""
    empty, rss, helps, checks = [], [], [], []
    for _ in range(3):
        seconds, peak, out = command("cleanup_verification_codes")
        assert out == "cleanup_verification_codes: 0 codes processed in 0 batches, 0 failed", out
        empty.append(seconds)
        rss.append(peak)
        helps.append(command("cleanup_verification_codes", "--help")[0])
        checks.append(command("check")[0])
    return statistics.median(empty), max(rss), statistics.median(helps), statistics.median(checks)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--codes", type=int, default=10_000_000)
    parser.add_argument("--units", type=int, default=200_000)
    args = parser.parse_args()

    harness.database_recreate()
    command("cleanup_verification_codes", "--help")  # writes the children's bytecode cache
    rows = []
    try:
        startup, startup_rss, helps, check = startup_runs()

        sql(FILL_CODES, n=10_000)
        seconds_10k, rss_10k, _ = command("cleanup_verification_codes")
        rows.append({"what": "cleanup_verification_codes, 10,000 codes", "seconds": seconds_10k, "rss": rss_10k})

        sql([FILL_CODES, "VACUUM ANALYZE accounts_verificationcode"], n=args.codes)
        codes_seconds, rss_big, out = command("cleanup_verification_codes")
        assert count("accounts_verificationcode") == 0, out
        rows.append(
            {"what": f"cleanup_verification_codes, {args.codes:,} codes", "seconds": codes_seconds, "rss": rss_big}
        )
        sql(
            ["TRUNCATE accounts_verificationcode", FILL_CODES, "VACUUM ANALYZE accounts_verificationcode"], n=args.codes
        )
        raw_codes = timed_sql([RAW_CODES])
        assert count("accounts_verificationcode") == 0
        rows.append({"what": f"raw DELETE (psql), {args.codes:,} codes", "seconds": raw_codes})

        sql(FILL_UNITS, n=args.units)
        move_seconds, move_rss, out = command("cleanup_move_out")
        assert moved_out(), out
        rows.append({"what": f"cleanup_move_out, {args.units:,} units", "seconds": move_seconds, "rss": move_rss})
        sql(
            [
                "TRUNCATE accounts_lease, smarthome_pincode, smarthome_remotecontrolsetting,"
                " smarthome_devicesettingsreset, smarthome_device, accounts_unit, accounts_property CASCADE",
                *FILL_UNITS,
            ],
            n=args.units,
        )
        raw_move = timed_sql(RAW_MOVE_OUT)
        assert moved_out()
        rows.append({"what": f"raw SQL move-out (psql), {args.units:,} units", "seconds": raw_move})
        rows.append({"what": "cleanup command, nothing to delete (startup_s)", "seconds": startup, "rss": startup_rss})
        rows.append({"what": "cleanup command --help (no database)", "seconds": helps})
        rows.append({"what": "manage.py check (system checks)", "seconds": check})
    finally:
        admin = urlparse(URL)._replace(path="/postgres").geturl()
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{urlparse(URL).path.lstrip("/")}" WITH (FORCE)')

    summary = {
        "codes_rows": args.codes,
        "units_rows": args.units,
        "startup_s": round(startup, 3),
        "codes_vs_raw_sql": round(codes_seconds / raw_codes, 2),
        "move_out_vs_raw_sql": round(move_seconds / raw_move, 2),
        "rss_growth_mb": round(rss_big - rss_10k, 1),
        "codes_vs_raw_sql_without_startup": round((codes_seconds - startup) / raw_codes, 2),
        "move_out_vs_raw_sql_without_startup": round((move_seconds - startup) / raw_move, 2),
        "load_average": [round(load, 2) for load in os.getloadavg()],
    }
    print(harness.table(rows, [("what", "run", ""), ("seconds", "seconds", ".2f"), ("rss", "peak RSS MiB", ".1f")]))
    print("targets: startup_s <= 0.3, codes_vs_raw_sql <= 1.3, move_out_vs_raw_sql <= 1.3, rss_growth_mb <= 50")
    print(json.dumps(summary))
    return 0


if __name__ == "__main__":
    sys.exit(main())
