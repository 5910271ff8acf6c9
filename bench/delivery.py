"""The code-send POST never waits on the SMS provider; a worker drains deliveries nearly as fast as no-ops.

    .venv/bin/python bench/delivery.py [--requests 60] [--tasks 10000]

1. Two gunicorn servers (2 workers each) and two celery workers on the same database:
   one pair whose SMS provider answers at once (bench.sms.InstantSmsBackend, broker on
   Redis db 9), one whose provider takes 2 s (bench.sms.SlowSmsBackend, broker on db 10).
   Database myspacecore_bench_jobs (BENCH_JOBS_DATABASE_URL; Redis: BENCH_JOBS_REDIS_URL,
   BENCH_JOBS_SLOW_REDIS_URL), apart from pages.py's, so both can run at once.
   `--requests` sign-in phone POSTs (each a new number) alternate between the two; the
   ratio of the median latencies is "slow_provider_latency_ratio" (target <= 1.1).
2. One worker (prefork, 1 child), instant provider: `--tasks` no-op tasks (bench.tasks.noop),
   queued before the worker starts, then `--tasks` real `verification_code_send` tasks for
   pending codes, queued once the no-ops are done (a sealed code is only good for the
   code's 5 minutes). Drain rate = (N - 1) / (last - first completion), from the
   tasks' own timestamps (delivered_at for codes), so start-up is not counted.
   "delivery_vs_noop_tasks" = delivery rate / no-op rate (target >= 0.5).
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import statistics
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
# Its own database and Redis dbs (re-created / flushed at the start): pages.py may run at the
# same time on myspacecore_bench and Redis db 7.
os.environ["BENCH_DATABASE_URL"] = os.environ.get(
    "BENCH_JOBS_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/myspacecore_bench_jobs"
)
os.environ["BENCH_REDIS_URL"] = os.environ.get("BENCH_JOBS_REDIS_URL", "redis://127.0.0.1:6379/9")

from bench import fixtures, harness

SLOW_BROKER = os.environ.get("BENCH_JOBS_SLOW_REDIS_URL", harness.REDIS_URL.rsplit("/", 1)[0] + "/10")


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


def post_phone(base: str, number: str, ip: str) -> tuple[int, float]:
    body = f"csrfmiddlewaretoken={fixtures.CSRF_SECRET}&phone_number={fixtures.national(number)}".encode()
    # Only ever http://127.0.0.1:<port> (harness.gunicorn).
    request = urllib.request.Request(  # noqa: S310
        f"{base}/signin/", data=body, method="POST",
        headers={"Cookie": fixtures.csrf_cookie(), "X-Forwarded-For": ip,
                 "Content-Type": "application/x-www-form-urlencoded"},
    )
    opener = urllib.request.build_opener(_NoRedirect)
    started = time.perf_counter()
    try:
        with opener.open(request, timeout=30) as response:
            status = response.status
    except urllib.error.HTTPError as error:
        status = error.code
    return status, (time.perf_counter() - started) * 1000


def provider_latency(requests: int) -> dict:
    import redis

    redis.Redis.from_url(SLOW_BROKER).flushdb()
    latencies: dict[str, list[float]] = {"instant": [], "slow": []}
    statuses: list[int] = []
    slow = {"SMS_BACKEND": "bench.sms.SlowSmsBackend", "CELERY_BROKER_URL": SLOW_BROKER}
    with (
        harness.gunicorn(workers=2) as fast_base,
        harness.gunicorn(workers=2, **slow) as slow_base,
        harness.celery_worker(name="instant"),
        harness.celery_worker(name="slow", **slow),
    ):
        for warm in range(4):  # each gunicorn worker loads its templates once
            post_phone(fast_base, fixtures.phone(300_000 + warm), f"10.3.0.{warm + 1}")
            post_phone(slow_base, fixtures.phone(310_000 + warm), f"10.3.1.{warm + 1}")
        pair = [("instant", fast_base, 320_000), ("slow", slow_base, 340_000)]
        for i in range(requests):
            # Alternate which goes first, and let the instant worker finish the delivery
            # just queued, so neither side runs beside the other's background work.
            for kind, base, offset in pair if i % 2 == 0 else pair[::-1]:
                status, ms = post_phone(base, fixtures.phone(offset + i), f"10.4.{i // 250}.{i % 250 + 1}")
                statuses.append(status)
                latencies[kind].append(ms)
                time.sleep(0.05)
        # The slow worker really is slow: proof that its queue holds what the requests did not wait for.
        backlog = redis.Redis.from_url(SLOW_BROKER).llen("celery")
    redis.Redis.from_url(SLOW_BROKER).flushdb()
    return {
        "instant_p50_ms": statistics.median(latencies["instant"]),
        "slow_p50_ms": statistics.median(latencies["slow"]),
        "instant_p99_ms": sorted(latencies["instant"])[int(0.99 * (requests - 1))],
        "slow_p99_ms": sorted(latencies["slow"])[int(0.99 * (requests - 1))],
        "non_redirects": sum(1 for s in statuses if s != 302),
        "slow_backlog": backlog,
    }


def drain(tasks: int) -> dict:
    from django.core.cache import cache
    from django.db.models import Max, Min
    from django.utils import timezone

    from accounts.models import VerificationCode
    from accounts.services.verification import code_seal
    from accounts.tasks import verification_code_send
    from bench.tasks import noop
    from myspacecore.celery import app

    now = timezone.now()
    codes = VerificationCode.objects.bulk_create(
        VerificationCode(
            purpose=VerificationCode.Purpose.SIGN_IN, channel=VerificationCode.Channel.SMS,
            target=fixtures.phone(500_000 + i), code_hash="x" * 64, created_at=now,
            expires_at=now + datetime.timedelta(minutes=30),
        )
        for i in range(tasks)
    )
    cache.delete_many(["bench:noop:first", "bench:noop:last"])
    cache.set("bench:noop:count", 0, None)
    with app.producer_or_acquire() as producer:
        for _ in range(tasks):
            noop.apply_async(producer=producer)

    ours = VerificationCode.objects.filter(pk__in=[c.pk for c in codes])
    sent = ours.filter(delivery=VerificationCode.Delivery.SENT)
    deadline = time.monotonic() + 600

    def all_sent() -> bool:
        # A delivery recorded otherwise (skipped: the seal outlived its 5 minutes) would never be sent.
        if ours.exclude(delivery__in=[VerificationCode.Delivery.QUEUED, VerificationCode.Delivery.SENT]).exists():
            raise RuntimeError("a delivery was not sent (see artifacts/bench/worker-drain.log)")
        return sent.count() >= tasks

    def wait(done) -> None:
        while not done():
            if time.monotonic() > deadline:
                raise RuntimeError("the worker did not drain the tasks within 10 minutes")
            time.sleep(0.5)

    with harness.celery_worker(name="drain", concurrency=1):
        wait(lambda: cache.get("bench:noop:count") >= tasks)
        # Sealed and queued only now: a sealed code expires with its code (5 minutes), and
        # behind the no-ops it would wait that long. The worker drains while they are published.
        sealed = code_seal(fixtures.CODE)
        with app.producer_or_acquire() as producer:
            for code in codes:
                verification_code_send.apply_async(args=(code.pk, sealed), producer=producer)
        wait(all_sent)
    noop_span = cache.get("bench:noop:last") - cache.get("bench:noop:first")
    span = sent.aggregate(first=Min("delivered_at"), last=Max("delivered_at"))
    delivery_span = (span["last"] - span["first"]).total_seconds()
    return {
        "noop_rate": (tasks - 1) / noop_span,
        "delivery_rate": (tasks - 1) / delivery_span,
        "noop_seconds": noop_span,
        "delivery_seconds": delivery_span,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=60)
    parser.add_argument("--tasks", type=int, default=10_000)
    args = parser.parse_args()

    harness.database_recreate()
    harness.django_setup()
    latency = provider_latency(args.requests)
    rates = drain(args.tasks)

    ratio = latency["slow_p50_ms"] / latency["instant_p50_ms"]
    tasks_ratio = rates["delivery_rate"] / rates["noop_rate"]
    print(harness.table(
        [
            {"what": "code-send POST, provider answers at once", "p50": latency["instant_p50_ms"],
             "p99": latency["instant_p99_ms"]},
            {"what": "code-send POST, provider takes 2 s", "p50": latency["slow_p50_ms"],
             "p99": latency["slow_p99_ms"]},
        ],
        [("what", "request", ""), ("p50", "p50 ms", ".1f"), ("p99", "p99 ms", ".1f")],
    ))
    print(f"slow provider's queue still held {latency['slow_backlog']} deliveries when the requests were done")
    print()
    print(harness.table(
        [
            {"what": f"{args.tasks} no-op tasks", "rate": rates["noop_rate"], "seconds": rates["noop_seconds"]},
            {"what": f"{args.tasks} deliveries", "rate": rates["delivery_rate"], "seconds": rates["delivery_seconds"]},
        ],
        [("what", "one worker drains", ""), ("rate", "tasks/s", ".1f"), ("seconds", "seconds", ".1f")],
    ))
    print("targets: slow_provider_latency_ratio <= 1.1, delivery_vs_noop_tasks >= 0.5")
    print(json.dumps({
        "slow_provider_latency_ratio": round(ratio, 3),
        "delivery_vs_noop_tasks": round(tasks_ratio, 3),
        "instant_p50_ms": round(latency["instant_p50_ms"], 1),
        "slow_p50_ms": round(latency["slow_p50_ms"], 1),
        "noop_tasks_per_s": round(rates["noop_rate"], 1),
        "delivery_tasks_per_s": round(rates["delivery_rate"], 1),
        "non_redirects": latency["non_redirects"],
    }))
    return 0


if __name__ == "__main__":
    sys.exit(main())
