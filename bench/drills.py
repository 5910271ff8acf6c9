"""Fault drills: a small load while PostgreSQL stops, Redis stops, a worker is killed, the SMS provider fails.

    .venv/bin/python bench/drills.py [--residents 8] [--down 10]

Everything breakable is this script's own, so nothing else on the machine notices: a
PostgreSQL cluster (initdb into a temporary folder, its own port; run as the `postgres` user
when started as root), a redis-server, gunicorn (2 workers, bench settings = production on
plain HTTP), the Procfile's `codes` and `celery` workers, and the SMS provider double
`bench.sms.DrillSmsBackend`, which answers like a 5xx while a marker file exists.

The load runs through every drill: `--residents` signed-in residents loop over My page and a
nickname change; a visitor asks for a sign-in code (a new number) every half second. Each
drill breaks one thing for `--down` seconds, repairs it, and measures how long until the
site does again what that thing serves (probe). Then the load pauses and the drill is judged:

- 5xx: answers of 500 and above other than 503 (503 is the answer to an outage: the outage
  page, or "the code cannot be sent now"); 503s are counted apart, and so are connections
  that failed outright;
- lost writes: acknowledged nickname changes (302) that the database does not hold;
- codes: every code the visitor was promised (302) is, once settled, either delivered (in the
  inbox, recorded SENT) or failed and said so on its code page; one still on its way after
  the settle time must be shown as late there. A code refused with 503 was never issued;
- recover s: from the moment the service is back until the probe succeeds.

Prints a table, then one JSON object as its last line.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench import client as browser
from bench import fixtures, harness

PG_BIN = next(iter(sorted(Path("/usr/lib/postgresql").glob("*/bin"))), Path("/usr/lib/postgresql/15/bin"))
CIRCUIT_OPEN_SECONDS = 10  # production: 60; shorter so the provider drill fits in a minute
SETTLE_SECONDS = 45  # a code's retries (2+4+8+16+32 s) end within about a minute


# The services this script owns
# ------------------------------------------------------------------------------


class PostgresCluster:
    """A throwaway PostgreSQL cluster: initdb, start and stop on its own port."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.data = root / "data"
        self.sockets = root / "sockets"
        self.log = harness.ARTIFACTS / "drills-postgres.log"
        self.port = harness.free_port()
        self.url = f"postgres://postgres@127.0.0.1:{self.port}/drills"

    def _run(self, *command: str) -> None:
        prefix = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
        subprocess.run([*prefix, *command], check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    def create(self) -> None:
        self.sockets.mkdir(parents=True)
        harness.ARTIFACTS.mkdir(parents=True, exist_ok=True)
        self.log.touch()
        if os.geteuid() == 0:
            shutil.chown(self.root, "postgres")
            shutil.chown(self.sockets, "postgres")
            shutil.chown(self.log, "postgres")
        self._run(str(PG_BIN / "initdb"), "-D", str(self.data), "-U", "postgres", "--auth=trust", "-E", "UTF8")
        self.start()
        import psycopg

        with psycopg.connect(self.url.rsplit("/", 1)[0] + "/postgres", autocommit=True) as conn:
            conn.execute("CREATE DATABASE drills")

    def start(self) -> None:
        options = f"-p {self.port} -k {self.sockets} -c listen_addresses=127.0.0.1 -c fsync=off"
        self._run(str(PG_BIN / "pg_ctl"), "-D", str(self.data), "-l", str(self.log), "-o", options, "-w", "start")

    def stop(self) -> None:
        self._run(str(PG_BIN / "pg_ctl"), "-D", str(self.data), "-m", "fast", "-w", "stop")


class RedisServer:
    """A redis-server without persistence, stopped and started again on the same port."""

    def __init__(self) -> None:
        self.port = harness.free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.process: subprocess.Popen | None = None

    def start(self) -> None:
        self.process = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 10
        while True:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.5).close()
                return
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=10)


# The load
# ------------------------------------------------------------------------------


@dataclass
class Code:
    e164: str
    visitor: browser.Resident
    status: int


@dataclass
class Load:
    base: str
    inbox: Path
    residents: list[tuple[browser.Resident, int]]  # (browser, user id)
    samples: list[tuple[float, str, int]] = field(default_factory=list)
    codes: list[Code] = field(default_factory=list)
    acked: dict[int, str] = field(default_factory=dict)
    running: threading.Event = field(default_factory=threading.Event)
    stopped: threading.Event = field(default_factory=threading.Event)
    busy: Counter = field(default_factory=Counter)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def _record(self, kind: str, call: Callable):
        with self.lock:
            self.busy["in flight"] += 1
        try:
            response = call()
            status = response.status_code
        except Exception:  # noqa: BLE001 - a reset or a timeout is a result to count, not a crash
            response, status = None, 0
        finally:
            with self.lock:
                self.busy["in flight"] -= 1
        self.samples.append((time.monotonic(), kind, status))
        return response

    def _resident(self, resident: browser.Resident, user_id: int) -> None:
        k = 0
        while not self.stopped.is_set():
            self.running.wait()
            k += 1
            self._record("mypage", lambda: resident.get("/mypage/"))
            nickname = f"訓練{k}"
            response = self._record(
                "nickname", lambda n=nickname: resident.post("/mypage/myspacecore/", {"nickname": n})
            )
            if response is not None and response.status_code == 302:
                self.acked[user_id] = nickname
            time.sleep(0.1)

    def _visitor(self) -> None:
        n = 0
        while not self.stopped.is_set():
            self.running.wait()
            n += 1
            e164 = f"+81807{n:07d}"
            visitor = browser.Resident(self.base, ip=f"10.60.{n // 250}.{n % 250 + 1}", timeout=15)
            response = self._record(
                "code_request", lambda v=visitor, e=e164: v.post("/signin/", {"phone_number": "0" + e[3:]})
            )
            self.codes.append(Code(e164=e164, visitor=visitor, status=0 if response is None else response.status_code))
            time.sleep(0.5)

    def start(self) -> None:
        self.running.set()
        for resident, user_id in self.residents:
            threading.Thread(target=self._resident, args=(resident, user_id), daemon=True).start()
        threading.Thread(target=self._visitor, daemon=True).start()

    def pause(self) -> None:
        self.running.clear()
        deadline = time.monotonic() + 30
        while self.busy["in flight"] and time.monotonic() < deadline:
            time.sleep(0.05)
        time.sleep(0.3)  # a thread between its wait and its request

    def lost_writes(self) -> int:
        from django.db import close_old_connections, connection

        from accounts.models import Profile

        close_old_connections()
        connection.close()  # the drill's own connection may have met the outage
        stored = dict(Profile.objects.filter(user_id__in=self.acked).values_list("user_id", "nickname"))
        return sum(1 for user_id, nickname in self.acked.items() if stored.get(user_id) != nickname)


def code_outcomes(load: Load, codes: list[Code]) -> Counter:
    """Wait for the promised codes to settle, then sort them (see the module's docstring)."""
    from accounts.models import VerificationCode

    outcome: Counter = Counter(refused_503=sum(1 for c in codes if c.status == 503))
    promised = [c for c in codes if c.status == 302]
    targets = [c.e164 for c in promised]
    deadline = time.monotonic() + SETTLE_SECONDS
    queued = VerificationCode.Delivery.QUEUED
    while time.monotonic() < deadline:
        if not VerificationCode.objects.filter(target__in=targets, delivery=queued).exists():
            break
        time.sleep(0.5)
    deliveries = dict(VerificationCode.objects.filter(target__in=targets).values_list("target", "delivery"))
    for code in promised:
        delivery = deliveries.get(code.e164)
        if delivery == VerificationCode.Delivery.SENT and browser.sms_count(load.inbox, code.e164):
            outcome["delivered"] += 1
            continue
        text = code.visitor.get("/signin/code/").text
        if delivery != queued and "SMS を送信できませんでした" in text:
            outcome["failed_said"] += 1
        elif delivery == queued and "送信に時間がかかっています" in text:
            outcome["late_said"] += 1
        else:
            outcome["unexplained"] += 1
    outcome["other_status"] = sum(1 for c in codes if c.status not in (302, 503))
    return outcome


# The drills
# ------------------------------------------------------------------------------


def wait_until(probe: Callable[[], bool], *, timeout: float = 120) -> float | None:
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        with contextlib.suppress(Exception):
            if probe():
                return time.monotonic() - started
        time.sleep(0.1)
    return None


def code_is_delivered(base: str, inbox: Path, counter: list[int]) -> bool:
    """Ask a new code and wait (a few seconds) for it in the inbox: the whole delivery path works."""
    counter[0] += 1
    e164 = f"+81708{counter[0]:07d}"
    visitor = browser.Resident(base, ip=f"10.61.{counter[0] // 250}.{counter[0] % 250 + 1}", timeout=5)
    if visitor.post("/signin/", {"phone_number": "0" + e164[3:]}).status_code != 302:
        return False
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        if browser.sms_count(inbox, e164):
            return True
        time.sleep(0.1)
    return False


def run_drill(load: Load, name: str, *, down: float, breaks, repairs, probe) -> dict:
    first_sample, first_code = len(load.samples), len(load.codes)
    breaks()
    time.sleep(down)
    repairs()
    recover = wait_until(probe)
    time.sleep(2)  # the load goes on a little after the recovery
    load.pause()
    samples = load.samples[first_sample:]
    statuses = Counter(status for _, _, status in samples)
    row = {
        "drill": name,
        "requests": len(samples),
        "status_5xx": sum(n for status, n in statuses.items() if status >= 500 and status != 503),
        "status_503": statuses.get(503, 0),
        "connection_failures": statuses.get(0, 0),
        "lost_writes": load.lost_writes(),
        "recover_s": None if recover is None else round(recover, 1),
    }
    row.update(code_outcomes(load, load.codes[first_code:]))
    load.running.set()
    return row


class CodesWorker:
    """The Procfile's `codes` worker (2 children), which a drill kills (SIGKILL, as a lost machine)
    and starts again, as a supervisor would."""

    def __init__(self, env: dict[str, str]) -> None:
        self.env, self.started = env, 0
        self.stack = contextlib.ExitStack()
        self.start()

    def start(self) -> None:
        self.started += 1
        self.stack = contextlib.ExitStack()
        worker = harness.celery_worker(name=f"drill-codes-{self.started}", queues="codes", concurrency=2, **self.env)
        self.process = self.stack.enter_context(worker)

    def kill(self) -> None:
        for pid in [*pool_children(self.process.pid), self.process.pid]:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)

    def restart(self) -> None:
        self.stack.close()
        self.start()

    def close(self) -> None:
        self.stack.close()


def pool_children(pid: int) -> list[int]:
    children = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        children += [int(c) for c in (task / "children").read_text().split()]
    return children


COLUMNS = [
    ("drill", "drill", ""),
    ("requests", "requests", "d"),
    ("status_5xx", "5xx", "d"),
    ("status_503", "503", "d"),
    ("connection_failures", "conn fail", "d"),
    ("lost_writes", "lost writes", "d"),
    ("delivered", "codes sent", "d"),
    ("failed_said", "failed, said", "d"),
    ("late_said", "late, said", "d"),
    ("refused_503", "refused 503", "d"),
    ("unexplained", "unexplained", "d"),
    ("recover_s", "recover s", ".1f"),
]


def resident(n: int):
    """A signed-up resident (an owner with a profile): the load only needs My page and the nickname."""
    from accounts.models import Profile, User, UserAttribute

    user = User.objects.create_user(phone_number=fixtures.phone(n), attribute=UserAttribute.objects.get(code="owner"))
    Profile.objects.create(user=user, nickname=f"住人{n}", birth_year=1985, gender=Profile.Gender.UNANSWERED)
    return user


def prepare(cluster: PostgresCluster, redis_server: RedisServer) -> dict[str, str]:
    env = {"DATABASE_URL": cluster.url, "REDIS_URL": redis_server.url}
    subprocess.run(
        [harness.PYTHON, "manage.py", "migrate", "--noinput", "-v", "0"],
        cwd=harness.ROOT,
        env=harness.bench_env(**env),
        check=True,
    )
    harness.django_setup(**env)
    return env


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--residents", type=int, default=8)
    parser.add_argument("--down", type=float, default=10, help="seconds each service stays down")
    args = parser.parse_args()

    root = Path(tempfile.mkdtemp(prefix="drills-"))
    root.chmod(0o755)  # the cluster's own user must reach its folder inside
    cluster, redis_server = PostgresCluster(root / "pg"), RedisServer()
    (root / "pg").mkdir()
    cluster.create()
    redis_server.start()
    try:
        return drills(args, root, cluster, redis_server)
    finally:
        redis_server.stop()
        with contextlib.suppress(subprocess.CalledProcessError):
            cluster.stop()
        shutil.rmtree(root, ignore_errors=True)


def drills(args, root: Path, cluster: PostgresCluster, redis_server: RedisServer) -> int:
    env = prepare(cluster, redis_server)
    from django.contrib.auth import get_user_model

    inbox, outage = root / "inbox", root / "outage"
    inbox.mkdir()
    stack_env = {
        **env,
        "SMS_BACKEND": "bench.sms.DrillSmsBackend",
        "SMS_FILE_PATH": str(inbox),
        "BENCH_SMS_OUTAGE": str(outage),
        "SMS_CIRCUIT_OPEN_SECONDS": str(CIRCUIT_OPEN_SECONDS),
    }
    users = [resident(20_000 + i) for i in range(args.residents)]
    probe_user = get_user_model().objects.get(pk=users[0].pk)
    counter = [0]
    with (
        harness.gunicorn(workers=2, **stack_env) as base,
        harness.celery_worker(name="drill-celery", queues="celery", **stack_env),
        contextlib.closing(CodesWorker(stack_env)) as codes_worker,
    ):

        def signed_in(user) -> browser.Resident:
            resident = browser.Resident(base, ip=f"10.62.0.{user.pk % 250 + 1}", timeout=15)
            name, value = fixtures.session_cookie(user).split("=", 1)
            resident.http.cookies.set(name, value)
            return resident

        probe = signed_in(probe_user)
        load = Load(base=base, inbox=inbox, residents=[(signed_in(user), user.pk) for user in users])
        assert wait_until(lambda: code_is_delivered(base, inbox, counter), timeout=60) is not None, "stack not ready"
        load.start()
        time.sleep(3)

        def delivered() -> bool:
            return code_is_delivered(base, inbox, counter)

        rows = [
            run_drill(
                load,
                "postgres stopped",
                down=args.down,
                breaks=cluster.stop,
                repairs=cluster.start,
                probe=lambda: probe.get("/mypage/").status_code == 200,
            ),
            run_drill(
                load,
                "redis stopped",
                down=args.down,
                breaks=redis_server.stop,
                repairs=redis_server.start,
                probe=delivered,
            ),
            run_drill(
                load,
                "codes worker killed",
                down=2,
                breaks=codes_worker.kill,
                repairs=codes_worker.restart,
                probe=delivered,
            ),
            run_drill(
                load, "provider failing", down=args.down, breaks=outage.touch, repairs=outage.unlink, probe=delivered
            ),
        ]
        load.stopped.set()
        load.pause()
    print(harness.table(rows, COLUMNS))
    print(
        f"residents {args.residents}, each service down {args.down:g} s (the worker: killed, restarted after 2 s);"
        f" circuit open {CIRCUIT_OPEN_SECONDS} s"
    )
    print("targets: 5xx 0, lost writes 0, every code sent or said (failed / late) on its page, unexplained 0")
    print(json.dumps({"drills": rows}, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
