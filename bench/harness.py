"""What every benchmark needs: its own database, a Redis db, gunicorn, a celery worker, wrk.

Defaults (override with environment variables):
  BENCH_DATABASE_URL  postgres://postgres@127.0.0.1:5432/myspacecore_bench   (dropped and re-created)
  BENCH_REDIS_URL     redis://127.0.0.1:6379/7                                 (flushed at start)
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from urllib.parse import urlparse

ROOT = Path(__file__).resolve().parents[1]
PYTHON = sys.executable
DATABASE_URL = os.environ.get("BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/myspacecore_bench")
REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/7")
ARTIFACTS = ROOT / "artifacts" / "bench"


def bench_env(**extra: str) -> dict[str, str]:
    """The environment of every process of a benchmark: bench settings on the bench services."""
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "bench.settings",
        "PYTHONPATH": str(ROOT),
        "DATABASE_URL": DATABASE_URL,
        "REDIS_URL": REDIS_URL,
        "DJANGO_SECRET_KEY": "bench-only-" + "x" * 50,
        "DJANGO_ALLOWED_HOSTS": "127.0.0.1,localhost,testserver",
        "ACCOUNTS_CODE_HMAC_KEY": "bench-only-code-hmac-key",
        "ACCOUNTS_DELIVERY_KEYS": "YmVuY2gtb25seS1kZWxpdmVyeS1rZXktMDAwMDAwMDA=",
        "SMARTHOME_PIN_KEYS": "YmVuY2gtb25seS1waW4ta2V5LTAwMDAwMDAwMDAwMDA=",
        "SMARTHOME_DEVICE_KEY_SECRET": "bench-only-device-key-secret",
        "SMARTHOME_MQTT_URL": os.environ.get("BENCH_MQTT_URL", "mqtt://127.0.0.1:1883"),
        # The benchmarks of pages and codes measure no device: the in-process hub answers.
        "SMARTHOME_DEVICE_TRANSPORT_BACKEND": "smarthome.sync.backends.simulated.Transport",
        "DJANGO_LOG_LEVEL": "WARNING",
        # The site-wide SMS cap (1,000/h against SMS pumping) would stop a benchmark that
        # sends thousands of codes; the per-number and per-address limits stay as they are.
        "ACCOUNTS_SMS_GLOBAL_HOURLY_CAP": "10000000",
    }
    env.update(extra)
    return env


def django_setup(**extra: str) -> None:
    """Configure Django in this process exactly like the servers it starts."""
    os.environ.update(bench_env(**extra))
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()


def database_recreate() -> None:
    """Drop and create the bench database, migrate it, flush the bench Redis db."""
    import psycopg
    import redis

    url = urlparse(DATABASE_URL)
    name = url.path.lstrip("/")
    admin = url._replace(path="/postgres").geturl()
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')
    subprocess.run([PYTHON, "manage.py", "migrate", "--noinput", "-v", "0"], cwd=ROOT, env=bench_env(), check=True)
    redis.Redis.from_url(REDIS_URL).flushdb()


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _log(name: str):
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    return (ARTIFACTS / f"{name}.log").open("ab")


def _stop(process: subprocess.Popen, *, sig=signal.SIGTERM, timeout: float = 15) -> None:
    if process.poll() is None:
        process.send_signal(sig)
        try:
            process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@contextlib.contextmanager
def gunicorn(*, workers: int = 2, port: int | None = None, cpu_log: Path | None = None, **extra: str):
    """gunicorn (sync workers) on 127.0.0.1; yields its base URL once /healthz answers.

    With `cpu_log` (a directory) each worker records every request's CPU time there (bench/gunicorn_cpu.py).
    """
    port = port or free_port()
    log = _log("gunicorn")
    if cpu_log is not None:
        extra["BENCH_CPU_LOG"] = str(cpu_log)
    process = subprocess.Popen(
        [
            PYTHON,
            "-m",
            "gunicorn",
            "myspacecore.wsgi:application",
            "--workers",
            str(workers),
            "--bind",
            f"127.0.0.1:{port}",
            "--backlog",
            "2048",
            "--timeout",
            "60",
            "--graceful-timeout",
            "5",
            *(["-c", "python:bench.gunicorn_cpu"] if cpu_log is not None else []),
        ],
        cwd=ROOT,
        env=bench_env(**extra),
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                with urllib.request.urlopen(f"{base}/healthz", timeout=2):  # noqa: S310 - http://127.0.0.1 only
                    break
            except OSError:
                if process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"gunicorn did not start (see {ARTIFACTS}/gunicorn.log)") from None
                time.sleep(0.2)
        yield base
    finally:
        _stop(process)
        log.close()


@contextlib.contextmanager
def celery_worker(*, name: str = "bench", queues: str = "celery,codes", concurrency: int = 1, **extra: str):
    """One `celery worker` process (prefork, `concurrency` children) on the bench broker.

    By default it serves both queues of the Procfile's `worker` and `codes` lines."""
    log = _log(f"worker-{name}")
    process = subprocess.Popen(
        [
            PYTHON,
            "-m",
            "celery",
            "-A",
            "myspacecore",
            "worker",
            "--loglevel=WARNING",
            "-Q",
            queues,
            "--concurrency",
            str(concurrency),
            "--include",
            "bench.tasks",
            "--without-gossip",
            "--without-mingle",
            "--without-heartbeat",
            "-n",
            f"{name}-{os.getpid()}@%h",
        ],
        cwd=ROOT,
        env=bench_env(**extra),
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        yield process
    finally:
        _stop(process, timeout=30)
        log.close()


WRK_SCRIPT = r"""
-- Written by bench/harness.py. Cycles through the requests in REQUESTS_FILE (one JSON-free
-- line each: method TAB path TAB cookie TAB body TAB x-forwarded-for), each thread its own slice;
-- a thread stops when its slice is used up (a POST that consumes a code is never replayed).
local lines = {}
for line in io.lines(os.getenv("WRK_REQUESTS")) do lines[#lines + 1] = line end
local threads = {}
local counter = 0
function setup(thread)
  counter = counter + 1
  thread:set("id", counter)
  table.insert(threads, thread)
end
function init(args)
  local n = tonumber(os.getenv("WRK_THREADS"))
  local replay = os.getenv("WRK_REPLAY") == "1"
  local per = math.floor(#lines / n)
  first = (id - 1) * per + 1
  last = first + per - 1
  index = first
  local mine = {}
  for i = first, last do
    local method, path, cookie, body, xff = lines[i]:match("([^\t]*)\t([^\t]*)\t([^\t]*)\t([^\t]*)\t([^\t]*)")
    local headers = {["Cookie"] = cookie, ["X-Forwarded-For"] = xff}
    if method == "POST" then headers["Content-Type"] = "application/x-www-form-urlencoded" end
    mine[#mine + 1] = wrk.format(method, path, headers, body ~= "" and body or nil)
  end
  reqs = mine
  stop_at_end = not replay
  sent = 0
end
function request()
  sent = sent + 1
  local i = ((sent - 1) % #reqs) + 1
  return reqs[i]
end
function response(status, headers, body)
  if stop_at_end and sent >= #reqs then wrk.thread:stop() end
end
function done(summary, latency, requests)
  local statuses = summary.errors.status + summary.errors.connect + summary.errors.read
    + summary.errors.write + summary.errors.timeout
  io.write(string.format(
    'WRK {"requests": %d, "seconds": %.3f, "errors": %d, "non2xx3xx": %d, "p50_ms": %.2f, "p99_ms": %.2f}\n',
    summary.requests, summary.duration / 1e6, statuses, summary.errors.status,
    latency:percentile(50) / 1000, latency:percentile(99) / 1000))
end
"""


def wrk(
    base: str, lines: list[str], *, seconds: int = 8, connections: int = 8, threads: int = 2, replay: bool = True
) -> dict:
    """Run wrk against `base` with the request lines (see WRK_SCRIPT); return its figures.

    With replay=False each line is sent at most once (the run ends when they are used up).
    """
    with tempfile.TemporaryDirectory() as tmp:
        script = Path(tmp) / "bench.lua"
        script.write_text(WRK_SCRIPT)
        requests_file = Path(tmp) / "requests.tsv"
        requests_file.write_text("\n".join(lines) + "\n")
        env = {
            **os.environ,
            "WRK_REQUESTS": str(requests_file),
            "WRK_THREADS": str(threads),
            "WRK_REPLAY": "1" if replay else "0",
        }
        result = subprocess.run(
            [
                "wrk",
                "-t",
                str(threads),
                "-c",
                str(connections),
                "-d",
                f"{seconds}s",
                "--timeout",
                "10s",
                "-s",
                str(script),
                base,
            ],
            env=env,
            capture_output=True,
            text=True,
            check=True,
        )
    for line in result.stdout.splitlines():
        if line.startswith("WRK "):
            figures = json.loads(line[4:])
            figures["rps"] = figures["requests"] / figures["seconds"] if figures["seconds"] else 0.0
            return figures
    raise RuntimeError(f"wrk printed no summary:\n{result.stdout}\n{result.stderr}")


def request_line(method: str, path: str, *, cookie: str = "", body: str = "", xff: str = "10.0.0.1") -> str:
    return "\t".join([method, path, cookie, body, xff])


def table(rows: list[dict], columns: list[tuple[str, str, str]]) -> str:
    """A plain-text table: columns are (key, heading, format)."""
    cells = [[heading for _, heading, _ in columns]]
    for row in rows:
        cells.append([format(row[key], fmt) if row.get(key) is not None else "-" for key, _, fmt in columns])
    widths = [max(len(str(r[i])) for r in cells) for i in range(len(columns))]
    out = []
    for n, r in enumerate(cells):
        pairs = enumerate(zip(r, widths, strict=True))
        padded = [str(c).ljust(w) if i == 0 else str(c).rjust(w) for i, (c, w) in pairs]
        out.append("  ".join(padded))
        if n == 0:
            out.append("  ".join("-" * w for w in widths))
    return "\n".join(out)


@contextlib.contextmanager
def redis_server(port: int | None = None):
    """A throwaway redis-server (no persistence) on its own port; yields (url, process)."""
    port = port or free_port()
    log = _log(f"redis-{port}")
    process = subprocess.Popen(
        ["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + 10
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
                break
            except OSError:
                if process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"redis-server did not start on {port}") from None
                time.sleep(0.05)
        yield f"redis://127.0.0.1:{port}/0", process
    finally:
        _stop(process)
        log.close()


def stack_env(*, database_url: str, redis_url: str, **extra: str) -> dict[str, str]:
    """Environment overrides for servers and workers of an integration test.

    They share the test process's database and its secrets (so codes, PINs and sealed
    deliveries made by either side are readable by the other).
    """
    from django.conf import settings

    return {
        "DATABASE_URL": database_url,
        "REDIS_URL": redis_url,
        "CONN_MAX_AGE": "60",
        "ACCOUNTS_CODE_HMAC_KEY": settings.ACCOUNTS_CODE_HMAC_KEY,
        "ACCOUNTS_DELIVERY_KEYS": ",".join(settings.ACCOUNTS_DELIVERY_KEYS),
        "SMARTHOME_PIN_KEYS": ",".join(settings.SMARTHOME_PIN_KEYS),
        "SMARTHOME_DEVICE_KEY_SECRET": settings.SMARTHOME_DEVICE_KEY_SECRET,
        "SMARTHOME_MQTT_URL": "mqtt://127.0.0.1:1883",
        "SMARTHOME_DEVICE_TRANSPORT_BACKEND": settings.SMARTHOME_DEVICE_TRANSPORT_BACKEND,
        **extra,
    }
