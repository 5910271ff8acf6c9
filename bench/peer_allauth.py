"""Our SMS-code sign-in against django-allauth's login by code, request by request, in one run.

    .venv/bin/python bench/peer_allauth.py [--iterations 100] [--population 20000]

The peer is the minimal allauth project in bench/peer/ (login by a 6-digit code, its
defaults, rate limits off, DEBUG off, PostgreSQL, Redis cache and cached_db sessions, e-mail
written to a file inside the request). It runs from its own virtual environment,
artifacts/peer-venv/ (made on the first run from bench/peer/requirements.txt, pip from
PyPI; re-made only when that file changes), with gunicorn (2 sync workers) against its own
database (ALLAUTH_PEER_DATABASE_URL, default allauth_peer, re-created) and Redis db 13
(ALLAUTH_PEER_REDIS_URL). Ours is started as bench/harness.py starts it (bench.settings:
production on plain HTTP, 2 sync workers) on myspacecore_bench_peer (BENCH_PEER_DATABASE_URL)
and Redis db 12 (BENCH_PEER_REDIS_URL), with a Celery worker delivering codes to the bench
SMS inbox (bench.sms.InboxSmsBackend); both on the same PostgreSQL.

Each iteration runs four sign-ins, each in a fresh cookie jar with its own address, ours and
the peer's alternating (which side goes first swaps every iteration):
  ours, returning resident: GET /signin/, POST the number, POST the code (read from the inbox);
  peer, known user:         GET /accounts/login/code/, POST the e-mail, POST the code (read from its mail file);
  ours, first sign-in:      the same three requests for a number without an account (created by the code POST);
  peer, another known user: the same three requests (allauth's login by code creates no account).
Flows: page (every GET), code_request (every number / e-mail POST), code_verify (returning
resident vs known user), first_signin (our first sign-in vs the second known user's code POST).
Ratio = peer median / our median (>= 1.0: we are faster). Afterwards each side's requests
are also made in-process (Django's test client, same settings and database; the peer's by
bench/peer/inprocess.py in its venv): queries of a warm request and the median CPU ms, which
tell CPU from waiting on PostgreSQL and Redis. Prints a table, then one JSON line.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from urllib.parse import urlparse

import requests

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
# Databases and Redis dbs of this benchmark alone (re-created / flushed at the start).
os.environ["BENCH_DATABASE_URL"] = os.environ.get(
    "BENCH_PEER_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/myspacecore_bench_peer"
)
os.environ["BENCH_REDIS_URL"] = os.environ.get("BENCH_PEER_REDIS_URL", "redis://127.0.0.1:6379/12")

from bench import fixtures, harness
from bench.peer.measure import flows_measure

PEER_DIR = harness.ROOT / "bench" / "peer"
PEER_VENV = harness.ROOT / "artifacts" / "peer-venv"
PEER_DATABASE_URL = os.environ.get("ALLAUTH_PEER_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/allauth_peer")
PEER_REDIS_URL = os.environ.get("ALLAUTH_PEER_REDIS_URL", "redis://127.0.0.1:6379/13")
CODE_RE = re.compile(r"(?<!\d)(\d{6})(?!\d)")
FLOWS = ["page", "code_request", "code_verify", "first_signin"]
WARM_UP = 4  # sign-ins per side before measuring: each gunicorn worker loads its templates once


def peer_python() -> Path:
    """The peer venv's python, made (or re-made) when bench/peer/requirements.txt changed."""
    requirements = (PEER_DIR / "requirements.txt").read_text()
    python = PEER_VENV / "bin" / "python"
    installed = PEER_VENV / "installed-requirements.txt"
    if python.exists() and installed.exists() and installed.read_text() == requirements:
        return python
    subprocess.run([sys.executable, "-m", "venv", "--clear", str(PEER_VENV)], check=True)
    subprocess.run(
        [str(python), "-m", "pip", "install", "--quiet", "-r", str(PEER_DIR / "requirements.txt")], check=True
    )
    installed.write_text(requirements)
    return python


def peer_env(mail_dir: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in {"DJANGO_SETTINGS_MODULE", "PYTHONPATH", "VIRTUAL_ENV"}}
    return {
        **env,
        "DJANGO_SETTINGS_MODULE": "bench.peer.settings",
        "PYTHONPATH": str(harness.ROOT),
        "PEER_DATABASE_URL": PEER_DATABASE_URL,
        "PEER_REDIS_URL": PEER_REDIS_URL,
        "PEER_MAIL_DIR": str(mail_dir),
    }


def peer_database_recreate(python: Path, env: dict[str, str], *, users: int) -> None:
    """Drop and create the peer's database, migrate it, add `users` known users, flush its Redis db."""
    import psycopg
    import redis

    url = urlparse(PEER_DATABASE_URL)
    name = url.path.lstrip("/")
    with psycopg.connect(url._replace(path="/postgres").geturl(), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')
    subprocess.run(
        [str(python), "-m", "django", "migrate", "--noinput", "-v", "0"], cwd=harness.ROOT, env=env, check=True
    )
    subprocess.run([str(python), "-m", "bench.peer.seed", "0", str(users)], cwd=harness.ROOT, env=env, check=True)
    with psycopg.connect(PEER_DATABASE_URL, autocommit=True) as conn:
        conn.execute("VACUUM ANALYZE")
    redis.Redis.from_url(PEER_REDIS_URL).flushdb()


@contextlib.contextmanager
def peer_gunicorn(python: Path, env: dict[str, str]):
    """The peer under gunicorn (2 sync workers, the same options as ours); yields its base URL."""
    port = harness.free_port()
    log = harness._log("gunicorn-allauth")
    process = subprocess.Popen(
        [
            str(python),
            "-m",
            "gunicorn",
            "bench.peer.wsgi:application",
            "--workers",
            "2",
            "--bind",
            f"127.0.0.1:{port}",
            "--backlog",
            "2048",
            "--timeout",
            "60",
            "--graceful-timeout",
            "5",
        ],
        cwd=harness.ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                requests.get(f"{base}/accounts/login/code/", timeout=10)
                break
            except requests.RequestException:  # not listening yet, or a worker still booting
                if process.poll() is not None or time.monotonic() > deadline:
                    log_path = harness.ARTIFACTS / "gunicorn-allauth.log"
                    raise RuntimeError(f"the peer did not start (see {log_path})") from None
                time.sleep(0.2)
        yield base
    finally:
        harness._stop(process)
        log.close()


class Browser:
    """One cookie jar (session and CSRF cookies) and one client address; redirects are not followed."""

    def __init__(self, base: str, *, ip: str) -> None:
        self.base = base
        self.http = requests.Session()
        self.http.headers["X-Forwarded-For"] = ip

    def get(self, path: str) -> tuple[requests.Response, float]:
        started = time.perf_counter()
        response = self.http.get(self.base + path, allow_redirects=False, timeout=30)
        return response, (time.perf_counter() - started) * 1000

    def post(self, path: str, data: dict) -> tuple[requests.Response, float]:
        body = {"csrfmiddlewaretoken": self.http.cookies.get("csrftoken", ""), **data}
        started = time.perf_counter()
        response = self.http.post(self.base + path, data=body, allow_redirects=False, timeout=30)
        return response, (time.perf_counter() - started) * 1000


def code_from_file(path: Path, *, timeout: float = 30) -> str:
    """The code in the first message written to `path` (a fresh recipient: one message)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if path.exists():
            line = path.read_text(encoding="utf-8").partition("\n")[0]
            found = CODE_RE.search(line)
            if found:
                return found.group(1)
        time.sleep(0.002)
    raise TimeoutError(f"no code in {path} within {timeout} s")


class SignIn:
    """The three requests of one side's sign-in, and what each must answer."""

    def __init__(
        self, *, page: str, request: str, verify: str, field: str, sent_to: str, done: str, inbox: Callable[[str], Path]
    ) -> None:
        self.page, self.request, self.verify = page, request, verify
        self.field, self.sent_to, self.done, self.inbox = field, sent_to, done, inbox

    def run(self, base: str, identity: str, *, ip: str, pause: float) -> dict[str, float]:
        """GET the page, POST the identity, POST the code; returns the three times (ms)."""
        browser = Browser(base, ip=ip)
        page, page_ms = browser.get(self.page)
        expect(page, 200, None)
        time.sleep(pause)
        sent, request_ms = browser.post(self.request, {self.field: identity})
        expect(sent, 302, self.sent_to)
        code = code_from_file(self.inbox(identity))
        time.sleep(pause)
        done, verify_ms = browser.post(self.verify, {"code": code})
        expect(done, 302, self.done)
        return {"page": page_ms, "code_request": request_ms, "code_verify": verify_ms}


def expect(response: requests.Response, status: int, location: str | None) -> None:
    if response.status_code != status or (location is not None and response.headers.get("Location") != location):
        raise RuntimeError(
            f"{response.request.method} {response.url}: {response.status_code} {response.headers.get('Location')}"
        )


def summarize(samples: list[float]) -> dict[str, float]:
    ordered = sorted(samples)
    return {
        "median": statistics.median(ordered),
        "p90": ordered[min(len(ordered) - 1, round(0.9 * (len(ordered) - 1)))],
        "n": len(ordered),
    }


def population_fill(n: int) -> None:
    import psycopg

    from bench.pages import POPULATION_SQL

    with psycopg.connect(harness.DATABASE_URL, autocommit=True) as conn:
        # bench/pages.py's operators, properties, units, users, profiles and accepted leases; no devices.
        for statement in POPULATION_SQL[:6]:
            conn.execute(statement, {"n": n})
        conn.execute("VACUUM ANALYZE")


def our_residents(first: int, count: int) -> list[str]:
    """`count` returning residents (profile, current lease they accepted on a unit): their national numbers."""
    from django.utils import timezone

    from accounts.models import Profile, User, UserAttribute
    from myspacecore.tenancy.models import Lease, Operator, Property, Unit

    operator, _ = Operator.objects.get_or_create(name="ベンチ管理", defaults={"contact_phone": "0120-000-000"})
    prop, _ = Property.objects.get_or_create(operator=operator, name="ベンチハイツ")
    rental = UserAttribute.objects.get(code="rental_resident")
    numbers = []
    for n in range(first, first + count):
        number = fixtures.phone(n)
        user = User.objects.create_user(phone_number=number, attribute=rental)
        Profile.objects.create(user=user, nickname=f"住人{n}", birth_year=1985, gender=Profile.Gender.UNANSWERED)
        Lease.objects.create(
            unit=Unit.objects.create(property=prop, number=str(n)),
            phone_number=number,
            attribute=rental,
            start_date=timezone.localdate() - datetime.timedelta(days=30),
            acceptance=Lease.Acceptance.ACCEPTED,
            answered_at=timezone.now(),
            resident=user,
        )
        numbers.append(fixtures.national(number))
    return numbers


def our_inprocess(count: int) -> dict[str, dict[str, float]]:
    """Our requests in-process, as bench/peer/inprocess.py measures the peer's: Django's test client,
    bench settings and database, a fresh client each; queries of one warm request, median CPU ms of the rest.
    """
    from django.test import Client

    our_residents(900_000, count)
    returning = fixtures.pending_sign_ins(900_000, count)  # pending codes of returning residents
    first_time = fixtures.pending_sign_ins(910_000, count)  # ...and of numbers without an account

    def client(i: int, cookie: str = "") -> Client:
        browser = Client(HTTP_X_FORWARDED_FOR=f"10.80.{i // 250 % 250}.{i % 250 + 1}")
        if cookie:
            browser.cookies["sessionid"] = cookie.split("=", 1)[1]
        return browser

    def page(i: int) -> tuple[Callable, int]:
        browser = client(i)
        return lambda: browser.get("/signin/"), 200

    def code_request(i: int) -> tuple[Callable, int]:
        browser = client(i)
        return lambda: browser.post("/signin/", {"phone_number": fixtures.national(fixtures.phone(920_000 + i))}), 302

    def code_verify(i: int) -> tuple[Callable, int]:
        browser = client(i, returning[i][0])
        return lambda: browser.post("/signin/code/", {"code": fixtures.CODE}), 302

    def first_signin(i: int) -> tuple[Callable, int]:
        browser = client(i, first_time[i][0])
        return lambda: browser.post("/signin/code/", {"code": fixtures.CODE}), 302

    flows = {"page": page, "code_request": code_request, "code_verify": code_verify, "first_signin": first_signin}
    return flows_measure(flows, count)


def load_avg() -> list[float]:
    return [round(x, 2) for x in os.getloadavg()]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--iterations", type=int, default=100)
    parser.add_argument(
        "--population",
        type=int,
        default=20_000,
        help="other residents in our database, and as many other known users in the peer's",
    )
    parser.add_argument(
        "--pause",
        type=float,
        default=0.02,
        help="seconds between the requests of a sign-in (both sides), so background work settles",
    )
    parser.add_argument(
        "--inprocess", type=int, default=50, help="requests per flow and side measured in-process afterwards"
    )
    args = parser.parse_args()
    load_before = load_avg()

    python = peer_python()
    peer_mail = Path(tempfile.mkdtemp(prefix="bench-peer-mail-"))
    our_inbox = Path(tempfile.mkdtemp(prefix="bench-peer-sms-"))
    env = peer_env(peer_mail)
    total = WARM_UP + args.iterations
    peer_database_recreate(python, env, users=args.population + 2 * total + args.inprocess)

    harness.database_recreate()
    if args.population:
        population_fill(args.population)
    harness.django_setup()
    returning = our_residents(1, total)
    first_time = [fixtures.national(fixtures.phone(500_000 + i)) for i in range(total)]
    peer_users = [f"user{args.population + i}@peer.example" for i in range(2 * total)]

    ours = SignIn(
        page="/signin/",
        request="/signin/",
        verify="/signin/code/",
        field="phone_number",
        sent_to="/signin/code/",
        done="/mypage/",
        inbox=lambda national: our_inbox / f"81{national[1:]}.txt",
    )
    peer = SignIn(
        page="/accounts/login/code/",
        request="/accounts/login/code/",
        verify="/accounts/login/code/confirm/",
        field="email",
        sent_to="/accounts/login/code/confirm/",
        done="/accounts/profile/",
        inbox=lambda email: peer_mail / f"{email}.txt",
    )

    samples: dict[str, dict[str, list[float]]] = {side: {f: [] for f in FLOWS} for side in ("ours", "peer")}
    sms = {"SMS_BACKEND": "bench.sms.InboxSmsBackend", "SMS_FILE_PATH": str(our_inbox)}
    started = time.monotonic()
    with (
        harness.gunicorn(workers=2, **sms) as our_base,
        harness.celery_worker(name="peer-allauth", concurrency=1, **sms),
        peer_gunicorn(python, env) as peer_base,
    ):
        for i in range(total):
            measured = i >= WARM_UP
            ip, first_ip = f"10.60.{i // 250 % 250}.{i % 250 + 1}", f"10.61.{i // 250 % 250}.{i % 250 + 1}"
            runs = [
                ("ours", "code_verify", ours, our_base, returning[i], ip),
                ("peer", "code_verify", peer, peer_base, peer_users[2 * i], ip),
                ("ours", "first_signin", ours, our_base, first_time[i], first_ip),
                ("peer", "first_signin", peer, peer_base, peer_users[2 * i + 1], first_ip),
            ]
            if i % 2:
                runs = [runs[1], runs[0], runs[3], runs[2]]
            for side, verify_flow, sign_in, base, identity, address in runs:
                times = sign_in.run(base, identity, ip=address, pause=args.pause)
                if measured:
                    samples[side]["page"].append(times["page"])
                    samples[side]["code_request"].append(times["code_request"])
                    samples[side][verify_flow].append(times["code_verify"])
    seconds = time.monotonic() - started

    from accounts.models import User

    ours_inprocess = our_inprocess(args.inprocess)
    peer_inprocess = json.loads(
        subprocess.run(
            [str(python), "-m", "bench.peer.inprocess", str(args.population + 2 * total), str(args.inprocess)],
            cwd=harness.ROOT,
            env=env,
            capture_output=True,
            text=True,
            check=True,
        )
        .stdout.strip()
        .splitlines()[-1]
    )
    queries, peer_queries = ours_inprocess["queries"], peer_inprocess["queries"]

    rows, summary = [], {}
    for flow in FLOWS:
        o, p = summarize(samples["ours"][flow]), summarize(samples["peer"][flow])
        peer_flow = "code_verify" if flow == "first_signin" else flow  # allauth's same request
        ratio = p["median"] / o["median"]
        summary[f"{flow}_vs_allauth"] = round(ratio, 3)
        rows.append(
            {
                "flow": flow,
                "n": o["n"],
                "ours_p50": o["median"],
                "ours_p90": o["p90"],
                "peer_p50": p["median"],
                "peer_p90": p["p90"],
                "ratio": ratio,
                "ours_q": queries.get(flow),
                "peer_q": peer_queries[peer_flow],
                "ours_cpu": ours_inprocess["cpu_ms"][flow],
                "peer_cpu": peer_inprocess["cpu_ms"][peer_flow],
            }
        )
        summary[f"{flow}_ours_p50_ms"] = round(o["median"], 1)
        summary[f"{flow}_ours_p90_ms"] = round(o["p90"], 1)
        summary[f"{flow}_peer_p50_ms"] = round(p["median"], 1)
        summary[f"{flow}_peer_p90_ms"] = round(p["p90"], 1)
        summary[f"{flow}_requests_per_side"] = o["n"]
        summary[f"{flow}_ours_queries"] = queries[flow]
        summary[f"{flow}_peer_queries"] = peer_queries[peer_flow]
        summary[f"{flow}_ours_cpu_ms"] = ours_inprocess["cpu_ms"][flow]
        summary[f"{flow}_peer_cpu_ms"] = peer_inprocess["cpu_ms"][peer_flow]
    summary["load_avg"] = {"before": load_before, "after": load_avg()}
    summary["seconds"] = round(seconds, 1)
    summary["our_accounts"] = User.objects.count()
    summary["peer_users"] = args.population + 2 * total + args.inprocess
    summary["iterations"] = args.iterations
    print(
        harness.table(
            rows,
            [
                ("flow", "flow", ""),
                ("n", "requests/side", "d"),
                ("ours_p50", "ours p50 ms", ".1f"),
                ("ours_p90", "ours p90 ms", ".1f"),
                ("peer_p50", "allauth p50 ms", ".1f"),
                ("peer_p90", "allauth p90 ms", ".1f"),
                ("ratio", "allauth/ours", ".2f"),
                ("ours_q", "our queries", "d"),
                ("peer_q", "allauth queries", "d"),
                ("ours_cpu", "ours CPU ms", ".1f"),
                ("peer_cpu", "allauth CPU ms", ".1f"),
            ],
        )
    )
    print(
        f"load average before {load_before}, after {summary['load_avg']['after']}; "
        f"targets: each ratio >= 1.0, code_verify >= 1.5"
    )
    print(json.dumps(summary))
    return 0


if __name__ == "__main__":
    sys.exit(main())
