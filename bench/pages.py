"""Throughput, latency and queries of the resident pages, as ratios to a bare view in the same run.

    .venv/bin/python bench/pages.py [--seconds 8] [--rounds 4] [--connections 8]

Starts gunicorn (2 sync workers, bench.settings = production on plain HTTP: PostgreSQL,
Redis cache and sessions, DEBUG off) on a free port against its own database
(BENCH_DATABASE_URL, re-created) and Redis db 7, and drives it with wrk (2 threads).
The database first gets `--population` other residents (100,000 by default: profile,
unit, current lease, hub with 5 remotes, smart lock with 3 PINs each), so that queries
run on tables of a realistic size. The baseline is `bench/bare/`: a view that returns
"ok" behind the same middleware and the same signed-in session. Bare and the resident
pages are measured in `--rounds` interleaved rounds (`--seconds` per page in all, split
between the rounds; each round starts at the next page, so none always follows the same
one): a drift of the shared machine's load falls on all of them alike, not on whichever page
ran while it lasted. A page's figure is the mean of its rounds, its ratio that mean over
bare's; "spread" is the lowest and highest ratio of a single round to bare in that round.
The sign-in POSTs follow, `--seconds` each.
Queries per request are counted in-process (Django test client, same settings and
database). Prints a table, then one JSON line: "<page>_vs_bare" and "<page>_queries".
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench import fixtures, harness

RESIDENT_PAGES = ["mypage", "profile_edit", "device_list"]

# Other residents, so that every query runs on tables of a realistic size: per resident a
# profile, a unit with a current lease, a hub with 5 remotes and a smart lock with 3 PINs.
POPULATION_SQL = [
    """INSERT INTO accounts_operator (name, contact_phone, contact_email, contact_hours, created_at)
       VALUES ('母集団管理', '', '', '', now())""",
    """INSERT INTO accounts_property (name, address, operator_id)
       SELECT '母集団' || p, '', (SELECT id FROM accounts_operator WHERE name = '母集団管理')
       FROM generate_series(0, %(n)s / 100) p""",
    """INSERT INTO accounts_unit (number, property_id)
       SELECT mod(n, 100)::text, (SELECT min(id) FROM accounts_property WHERE name LIKE '母集団%%') + n / 100
       FROM generate_series(0, %(n)s - 1) n""",
    """INSERT INTO accounts_user (password, is_superuser, phone_number, language, email, is_staff, is_active,
                                 date_joined, session_token, attribute_id)
       SELECT '!', false, '+8170' || lpad(n::text, 8, '0'), 'ja', '', false, true, now(), md5(n::text),
              (SELECT id FROM accounts_userattribute WHERE code = 'rental_resident')
       FROM generate_series(1, %(n)s) n""",
    """INSERT INTO accounts_profile (nickname, birth_year, gender, created_at, updated_at, user_id)
       SELECT '住人', 1980, 'unanswered', now(), now(), id FROM accounts_user WHERE phone_number LIKE '+8170%%'""",
    # Accepted, as after each resident's answer: only an accepted lease names its resident.
    """INSERT INTO accounts_lease (phone_number, start_date, created_at, unit_id, attribute_id, resident_id,
                                  acceptance, answered_at)
       SELECT u.phone_number, current_date - 30, now(),
              (SELECT min(id) FROM accounts_unit) + row_number() OVER (ORDER BY u.id) - 1, u.attribute_id, u.id,
              'accepted', now()
       FROM accounts_user u WHERE u.phone_number LIKE '+8170%%'""",
    # In sync with their hubs (versions 0, settings "set"), as the device list shows most homes.
    """INSERT INTO smarthome_device (kind, name, serial_number, created_at, unit_id, channel_id, desired_version,
                                     reported_version, sync_failure)
       SELECT k, k, 'POP-' || k || '-' || u.id, now(), u.id, md5(k || u.id::text), 0, 0, ''
       FROM accounts_unit u, (VALUES ('hub'), ('smart_lock')) AS t(k)""",
    """INSERT INTO smarthome_remotecontrolsetting
           (name, appliance_type, maker, signal_data, created_at, updated_at, device_id, changed_version,
            sync_state, sync_failure, sync_changed_at)
       SELECT 'リモコン' || r, 'tv', '', '', now(), now(), d.id, 0, 'set', '', now()
       FROM smarthome_device d, generate_series(1, 5) r WHERE d.kind = 'hub'""",
    """INSERT INTO smarthome_pincode (label, pin_encrypted, pin_lookup, created_at, device_id, changed_version,
                                      sync_state, sync_failure, sync_changed_at)
       SELECT '鍵' || p, 'x', md5(d.id::text || p), now(), d.id, 0, 'set', '', now()
       FROM smarthome_device d, generate_series(1, 3) p WHERE d.kind = 'smart_lock'""",
]


def population_fill(n: int) -> None:
    import psycopg

    with psycopg.connect(harness.DATABASE_URL, autocommit=True) as conn:
        for statement in POPULATION_SQL:
            conn.execute(statement, {"n": n})
        conn.execute("VACUUM ANALYZE")


def count_queries(method: str, path: str, *, user=None, data=None, prepare=None) -> int:
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    client = Client(HTTP_X_FORWARDED_FOR="10.9.9.9")
    if user is not None:
        client.force_login(user)
    if prepare is not None:
        prepare(client)
    if method == "GET":
        client.get(path)  # warm: the first request of a process loads templates and translations
    with CaptureQueriesContext(connection) as queries:
        response = client.get(path) if method == "GET" else client.post(path, data)
    assert response.status_code < 400, (path, response.status_code)
    return len(queries)


def _mean_of_rounds(runs: list[dict]) -> dict:
    return {
        "rps": statistics.mean(r["rps"] for r in runs),
        "p50_ms": statistics.mean(r["p50_ms"] for r in runs),
        "p99_ms": statistics.mean(r["p99_ms"] for r in runs),
        "non2xx3xx": sum(r["non2xx3xx"] for r in runs),
        "errors": sum(r["errors"] for r in runs),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=int, default=8)
    parser.add_argument("--rounds", type=int, default=4, help="interleaved rounds of bare and the resident pages")
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument("--population", type=int, default=100_000, help="other residents in the database")
    args = parser.parse_args()

    harness.database_recreate()
    if args.population:
        population_fill(args.population)
    harness.django_setup()
    from django.urls import reverse

    user = fixtures.resident_with_home(n=1, remotes=10, pins=10)
    session = fixtures.session_cookie(user)
    csrf = fixtures.csrf_cookie()
    token = fixtures.CSRF_SECRET
    paths = {
        "bare": reverse("bench_bare"),
        "mypage": reverse("accounts:mypage"),
        "profile_edit": reverse("accounts:profile"),
        "device_list": reverse("smarthome:device_list"),
        "signin_phone": reverse("accounts:signin"),
        "signin_code": reverse("accounts:signin_code"),
    }

    # Sign-in POSTs are never replayed: each number and each pending code is used once.
    budget = 600 * args.seconds
    phone_lines = [
        harness.request_line(
            "POST",
            paths["signin_phone"],
            cookie=csrf,
            body=f"csrfmiddlewaretoken={token}&phone_number={fixtures.national(fixtures.phone(100_000 + i))}",
            xff=f"10.1.{i // 250 % 250}.{i % 250 + 1}",
        )
        for i in range(budget)
    ]
    pending = fixtures.pending_sign_ins(200_000, budget)
    code_lines = [
        harness.request_line(
            "POST",
            paths["signin_code"],
            cookie=f"{cookie}; {csrf}",
            body=f"csrfmiddlewaretoken={token}&code={fixtures.CODE}",
            xff=f"10.2.{i // 250 % 250}.{i % 250 + 1}",
        )
        for i, (cookie, _) in enumerate(pending)
    ]

    def get_lines(page: str) -> list[str]:
        return [harness.request_line("GET", paths[page], cookie=session)] * 2

    results: dict[str, dict] = {}
    load_before = [round(load, 2) for load in os.getloadavg()]
    interleaved = ["bare", *RESIDENT_PAGES]
    round_seconds = max(1, round(args.seconds / args.rounds))
    with harness.gunicorn(workers=2) as base:
        runs: dict[str, list[dict]] = {page: [] for page in interleaved}
        for page in interleaved:  # warm-up: each worker has compiled each page's templates
            harness.wrk(base, get_lines(page), seconds=1, connections=args.connections)
        for number in range(args.rounds):
            for page in interleaved[number % len(interleaved) :] + interleaved[: number % len(interleaved)]:
                runs[page].append(
                    harness.wrk(base, get_lines(page), seconds=round_seconds, connections=args.connections)
                )
        results["signin_phone"] = harness.wrk(
            base, phone_lines, seconds=args.seconds, connections=args.connections, replay=False
        )
        results["signin_code"] = harness.wrk(
            base, code_lines, seconds=args.seconds, connections=args.connections, replay=False
        )
    rounds = {page: _mean_of_rounds(page_runs) for page, page_runs in runs.items()}
    for page in RESIDENT_PAGES:
        each = [run["rps"] / bare_run["rps"] for run, bare_run in zip(runs[page], runs["bare"], strict=True)]
        rounds[page]["spread"] = f"{min(each):.2f}-{max(each):.2f}"
    bare = rounds["bare"]
    results = {**rounds, **results}

    from accounts.models import VerificationCode

    def fresh_pending(client):
        ((cookie, _number),) = fixtures.pending_sign_ins(900_000, 1)
        client.cookies["sessionid"] = cookie.split("=", 1)[1]

    queries = {
        "bare": count_queries("GET", paths["bare"], user=user),
        "mypage": count_queries("GET", paths["mypage"], user=user),
        "profile_edit": count_queries("GET", paths["profile_edit"], user=user),
        "device_list": count_queries("GET", paths["device_list"], user=user),
        "signin_phone": count_queries(
            "POST", paths["signin_phone"], data={"phone_number": fixtures.national(fixtures.phone(800_000))}
        ),
        "signin_code": count_queries("POST", paths["signin_code"], data={"code": fixtures.CODE}, prepare=fresh_pending),
    }
    rows = []
    summary = {}
    for page, figures in results.items():
        ratio = figures["rps"] / bare["rps"]
        rows.append({"page": page, **figures, "ratio": ratio, "queries": queries[page]})
        if page != "bare":
            summary[f"{page}_vs_bare"] = round(ratio, 3)
            summary[f"{page}_queries"] = queries[page]
    summary["bare_rps"] = round(bare["rps"], 1)
    summary["rounds"] = args.rounds
    summary["load_average_before"] = load_before
    summary["load_average_after"] = [round(load, 2) for load in os.getloadavg()]
    summary["errors"] = sum(r["errors"] for r in results.values())
    summary["codes_used"] = VerificationCode.objects.filter(state=VerificationCode.State.USED).count()
    print(
        harness.table(
            rows,
            [
                ("page", "page", ""),
                ("rps", "req/s", ".1f"),
                ("ratio", "vs bare", ".2f"),
                ("spread", "rounds", ""),
                ("p50_ms", "p50 ms", ".1f"),
                ("p99_ms", "p99 ms", ".1f"),
                ("queries", "queries", "d"),
                ("errors", "errors", "d"),
            ],
        )
    )
    print("targets: resident pages >= 0.50 of bare, <= 6 queries per request; errors = non-2xx/3xx + socket")
    print(json.dumps(summary))
    return 0


if __name__ == "__main__":
    sys.exit(main())
