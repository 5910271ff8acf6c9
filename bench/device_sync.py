"""The device channel at scale with our models: simulated hubs, a real Mosquitto, the real gateway.

    .venv/bin/python bench/device_sync.py [--hubs 10000] [--changes 1000] [--rate 50] [--move-out 1000]

Its own PostgreSQL database (`myspacecore_bench_devices`, BENCH_DEVICES_DATABASE_URL) and Redis db
13 (BENCH_DEVICES_REDIS_URL), bench settings (production's). `--hubs` units, each with a hub and a
smart lock behind it, are provisioned as an installation would be: `device_provisioning_export`
writes the provisioning file from the database, `device_broker_credentials` the password file and
ACL of a Mosquitto of the run's own. Processes: Mosquitto; the simulated hubs (a child process,
smarthome.sync.simulator: 2 network threads multiplexing every hub's client); `manage.py
device_gateway` (our `reports_record`, `desired_resend`); a Celery worker (2 processes) publishing
with the MQTT backend; this process, making the changes through our services.

1. Start-up: every hub connects and sends `get`; "initial_sync_s" is until every device's report
   is recorded in the database.
2. Confirmation: `--changes` PINs added with `smarthome.services.pin_code_create` on distinct
   locks, `--rate` per second; latency = the service's commit -> the PIN's row `set` (its
   `sync_changed_at`, written by `reports_record` in the gateway) ("confirm_p50_ms",
   "confirm_p99_ms"; target p99 <= 1,000).
3. Move-out: `--move-out` units (those holding the PINs of 2.) whose lease ended are reset by
   `leases_ended_reset`; "move_out_confirmed_s" = until the last device's reset is confirmed.
4. "lost" = PINs never confirmed + resets never confirmed; "wrong_state" = devices whose database
   state (versions, the PINs it should hold) differs from what the simulated device holds at the
   end. Both must be 0.
5. Throughput: a bare paho subscriber (counts messages, auto-ack) twice and our gateway (the same
   Gateway class, recorder process and handlers as the command: decode, checks, the real
   `reports_record` on PostgreSQL in batches, manual acks after the commit; counted when
   acknowledged), each on its own shared-subscription group, are offline while every hub
   publishes `--burst` reports; then each drains its copy alone: bare, ours, bare again.
   "reports_per_s" is the gateway's rate; "reports_vs_bare_subscriber" its ratio to the bare
   mean (target >= 0.5). The burst's reports repeat each device's recorded version (what a hub
   says when asked again): `report_record`'s duplicate path. "queries_per_report" counts the
   statements of one report applying a new version and one duplicate (in this process).

Prints a table, then one JSON line.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime
import getpass
import json
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ["BENCH_DATABASE_URL"] = os.environ.get(
    "BENCH_DEVICES_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/myspacecore_bench_devices"
)
os.environ["BENCH_REDIS_URL"] = os.environ.get("BENCH_DEVICES_REDIS_URL", "redis://127.0.0.1:6379/13")

from bench import harness
from smarthome.sync import broker, protocol

PREFIX = "msc/v1"
GATEWAY_PASSWORD = "bench-only-gateway-password"  # noqa: S105 - a throwaway broker of the run
GATEWAY_CLIENT_ID = "msc-gateway-bench"
MQTT_BACKEND = "smarthome.sync.backends.mqtt.Transport"


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def wait_until(condition, *, timeout: float, what: str, every: float = 0.05) -> float:
    started = time.monotonic()
    while not condition():
        if time.monotonic() - started > timeout:
            raise RuntimeError(f"timed out after {timeout:.0f} s waiting for {what}")
        time.sleep(every)
    return time.monotonic() - started


# The broker and the hubs' process
# ------------------------------------------------------------------------------


@contextlib.contextmanager
def mosquitto(folder: Path, port: int, *, queue: int):
    """A Mosquitto of the run's own on `port`, with the password file and ACL already in `folder`."""
    binary = shutil.which("mosquitto") or "/usr/sbin/mosquitto"
    (folder / "mosquitto.conf").write_text(
        "\n".join(
            [
                f"listener {port} 127.0.0.1",
                f"user {getpass.getuser()}",
                "allow_anonymous false",
                f"password_file {folder / 'passwd'}",
                f"acl_file {folder / 'acl'}",
                "persistence false",
                f"max_queued_messages {queue}",
                "max_inflight_messages 100",
                f"log_dest file {folder / 'mosquitto.log'}",
                "log_type error",
                "log_type warning",
                "log_type subscribe",
            ]
        )
        + "\n"
    )
    process = subprocess.Popen(
        [binary, "-c", str(folder / "mosquitto.conf")], stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT
    )
    try:
        wait_until(lambda: _listening(port), timeout=10, what="mosquitto")
        yield process
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=30)


def _listening(port: int) -> bool:
    with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=0.2):
        return True
    return False


class HubProcess:
    """The simulated hubs in a child process (this script with --hub-process), driven by lines on stdin."""

    def __init__(self, provisioning: Path, port: int, threads: int) -> None:
        self.process = subprocess.Popen(
            [sys.executable, __file__, "--hub-process", str(provisioning), str(port), str(threads)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            bufsize=1,
        )

    def ready(self) -> dict:
        """The child's first line: once every hub is connected and subscribed."""
        assert self.process.stdout
        return json.loads(self.process.stdout.readline())

    def ask(self, line: str) -> dict:
        assert self.process.stdin and self.process.stdout
        self.process.stdin.write(line + "\n")
        self.process.stdin.flush()
        return json.loads(self.process.stdout.readline())

    def close(self) -> None:
        with contextlib.suppress(BrokenPipeError, OSError, ValueError):
            self.ask("stop")
        try:
            self.process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            self.process.kill()


def hub_process_main(provisioning: str, port: str, threads: str) -> None:
    """The child: start the hubs, answer the parent's commands (one JSON line each)."""
    from smarthome.sync.simulator import Simulator

    hubs = broker.provisioning_load(Path(provisioning).read_text())
    address = broker.broker_address(f"mqtt://127.0.0.1:{port}")
    simulator = Simulator(address=address, prefix=PREFIX, hubs=hubs, threads=int(threads))
    started = time.monotonic()
    simulator.start()
    connected = simulator.wait_connected(timeout=600)
    print(json.dumps({"connected": connected, "seconds": time.monotonic() - started}), flush=True)
    for line in sys.stdin:
        command, *args = line.split()
        if command == "burst":
            count = int(args[0])
            before = simulator.counts()["acked"]
            for hub in simulator.hubs.values():
                for _ in range(count):
                    hub.loop.call(hub.report)
            want = before + count * len(simulator.hubs)
            seconds = wait_until(lambda w=want: simulator.counts()["acked"] >= w, timeout=600, what="burst acks")
            print(json.dumps({"seconds": seconds}), flush=True)
        elif command == "state":  # what every device holds: {device: [version, [PIN refs]]}, to a file
            held = {
                device: [state.version, sorted(state.pins)]
                for hub in simulator.hubs.values()
                for device, state in hub.devices.items()
            }
            Path(args[0]).write_text(json.dumps(held))
            print(json.dumps({"devices": len(held)}), flush=True)
        elif command == "counts":
            print(json.dumps(simulator.counts()), flush=True)
        elif command == "stop":
            simulator.stop()
            print(json.dumps(simulator.counts()), flush=True)
            return


# Our side: the database, the gateway and the worker
# ------------------------------------------------------------------------------


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


def units_fill(*, hubs: int, move_out: int) -> None:
    """`hubs` units, each with a hub and a smart lock behind it; the first `move_out` units' lease ended."""
    from accounts.models import UserAttribute
    from myspacecore.tenancy.models import Lease, Operator, Property, Unit
    from smarthome.models import Device, DeviceKind

    operator = Operator.objects.create(name="ベンチ管理")
    estate = Property.objects.create(operator=operator, name="ベンチ物件")
    units = Unit.objects.bulk_create(Unit(property=estate, number=f"{n + 1}") for n in range(hubs))
    hub_rows = Device.objects.bulk_create(
        Device(kind=DeviceKind.HUB, name="ハブ", serial_number=f"BENCH-HUB-{n:06d}", unit=unit)
        for n, unit in enumerate(units)
    )
    Device.objects.bulk_create(
        Device(kind=DeviceKind.SMART_LOCK, name="玄関", serial_number=f"BENCH-LOCK-{n:06d}", unit=unit, hub=hub)
        for n, (unit, hub) in enumerate(zip(units, hub_rows, strict=True))
    )
    today = datetime.date.today()
    attribute = UserAttribute.objects.get(code="rental_resident")
    Lease.objects.bulk_create(
        Lease(
            unit=unit,
            phone_number=f"+8190{30000000 + n:08d}",
            attribute=attribute,
            start_date=today - datetime.timedelta(days=400),
            end_date=today - datetime.timedelta(days=2),
        )
        for n, unit in enumerate(units[:move_out])
    )


def gateway_process(port: int) -> subprocess.Popen:
    out = harness._log("device-gateway")
    return subprocess.Popen(
        [harness.PYTHON, "manage.py", "device_gateway", "--client-id", GATEWAY_CLIENT_ID],
        cwd=harness.ROOT,
        env=harness.bench_env(**our_env(port)),
        stdout=out,
        stderr=subprocess.STDOUT,
    )


def our_env(port: int) -> dict[str, str]:
    return {
        "SMARTHOME_DEVICE_TRANSPORT_BACKEND": MQTT_BACKEND,
        "SMARTHOME_MQTT_URL": f"mqtt://{broker.GATEWAY_USERNAME}:{GATEWAY_PASSWORD}@127.0.0.1:{port}",
    }


def confirmations(*, changes: int, rate: float) -> dict:
    """PINs added through our service on distinct locks, paced; latency until their row is `set`."""
    from smarthome import services
    from smarthome.models import Device, DeviceKind, PinCode, SyncState

    locks = list(Device.objects.filter(kind=DeviceKind.SMART_LOCK).order_by("pk")[:changes])
    committed: dict[int, float] = {}
    started = time.monotonic()
    for n, lock in enumerate(locks):
        pause = started + n / rate - time.monotonic()
        if pause > 0:
            time.sleep(pause)
        pin_code = services.pin_code_create(
            device=lock, label="ベンチ", pin=f"{n % 9 + 1}{n % 7 + 2}8{n % 5 + 3}9{n % 3 + 4}"
        )
        committed[pin_code.pk] = time.time()
    log(f"{len(locks)} PINs added in {time.monotonic() - started:.1f} s")
    pending = PinCode.objects.filter(pk__in=committed).exclude(sync_state=SyncState.SET)
    with contextlib.suppress(RuntimeError):
        wait_until(lambda: not pending.exists(), timeout=120, what="every PIN confirmed", every=0.5)
    rows = PinCode.objects.filter(pk__in=committed, sync_state=SyncState.SET).values_list("pk", "sync_changed_at")
    latencies = [(at.timestamp() - committed[pk]) * 1000 for pk, at in rows]
    return {"latencies": latencies, "lost": len(committed) - len(latencies)}


def move_out(*, units: int) -> tuple[float, int]:
    """The move-out service over the units whose lease ended; seconds until the last reset confirmed."""
    from django.db.models import Max

    from smarthome.models import DeviceSettingsReset
    from smarthome.services import leases_ended_reset

    started = time.time()
    processed = leases_ended_reset().processed
    log(f"move-out: {processed} units reset in {time.time() - started:.1f} s")
    assert processed == units, f"{processed} units reset, {units} expected"
    waiting = DeviceSettingsReset.objects.filter(confirmed_at__isnull=True)
    with contextlib.suppress(RuntimeError):
        wait_until(lambda: not waiting.exists(), timeout=300, what="every reset confirmed", every=0.5)
    last = DeviceSettingsReset.objects.aggregate(last=Max("confirmed_at"))["last"]
    return (last.timestamp() - started if last else float("nan")), waiting.count()


def wrong_states(held_file: Path) -> int:
    """Devices whose database state is not what the simulated device holds: versions (desired =
    reported = held) and the PINs (rows the device should hold = the refs it holds), no row left
    being removed."""
    from smarthome.models import Device, PinCode, SyncState

    held = json.loads(held_file.read_text())
    pins: dict[int, set[str]] = {}
    for pk, device_id, state in PinCode.all_objects.values_list("pk", "device_id", "sync_state"):
        pins.setdefault(device_id, set()).add(f"p{pk}" if state == SyncState.SET else f"!{state}")
    wrong = 0
    for pk, channel, desired, reported in Device.objects.values_list(
        "pk", "channel_id", "desired_version", "reported_version"
    ):
        version, refs = held.get(channel, [-1, []])
        if not desired == reported == version or pins.get(pk, set()) != set(refs):
            wrong += 1
    return wrong


def queries_per_report() -> dict[str, int]:
    """Statements of `report_record` for one report that applies a new version, and one duplicate."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from smarthome import services
    from smarthome.models import Device, DeviceKind
    from smarthome.sync.services import desired_message, device_key_for, report_record
    from smarthome.sync.simulator import DeviceState, device_apply

    lock = Device.objects.filter(kind=DeviceKind.SMART_LOCK).order_by("-pk").first()
    assert lock is not None and lock.hub is not None
    services.pin_code_create(device=lock, label="計測", pin="739182")
    message = desired_message(channel_id=lock.hub.channel_id)
    assert message is not None
    kinds = dict(Device.objects.filter(pk__in=[lock.pk, lock.hub.pk]).values_list("channel_id", "kind"))
    states = []
    for desired in message.devices:  # what the hub's devices hold after applying it (as the simulator)
        key = device_key_for(channel_id=desired.device).decode()
        state = DeviceState(provision=broker.DeviceProvision(desired.device, key, kinds[desired.device]))
        device_apply(state, desired)
        states.append(state.reported())
    report = protocol.Reported(hub=lock.hub.channel_id, devices=tuple(states))
    counts = {}
    for name in ("applied", "duplicate"):
        with CaptureQueriesContext(connection) as captured:
            report_record(channel_id=lock.hub.channel_id, report=report)
        counts[name] = len(captured.captured_queries)
    return counts


class Drain:
    """First and last arrival of `expected` messages (a bare subscriber ticks each one), or of the
    messages our gateway acknowledged (`follow`: its count, sampled every millisecond)."""

    def __init__(self, expected: int) -> None:
        self.expected = expected
        self.count = 0
        self.first_count = 1
        self.first = self.last = 0.0
        self.lock = threading.Lock()
        self.per_batch: float | None = None  # our gateway: reports per transaction

    def tick(self) -> None:
        now = time.perf_counter()
        with self.lock:
            if self.count == 0:
                self.first = now
            self.count += 1
            self.last = now

    def follow(self, gateway) -> None:
        """Sample `gateway.settled` until it reaches `expected` (counted when acknowledged, after
        the commit: what the bare subscriber counts on arrival, ours counts once recorded)."""
        while (settled := gateway.settled) < self.expected:
            if settled and not self.count:
                self.first, self.first_count = time.perf_counter(), settled
            self.count = settled
            time.sleep(0.001)
        self.count, self.last = settled, time.perf_counter()
        self.per_batch = gateway.settled / gateway.batches if gateway.batches else None

    @property
    def rate(self) -> float:
        done = self.count - self.first_count
        return done / (self.last - self.first) if done > 0 and self.last > self.first else 0.0


def bare_subscriber(address, *, group: str, drain: Drain | None, connect_only: bool = False):
    """A plain paho subscriber with a persistent session: counts messages, paho acknowledges them."""
    from paho.mqtt.packettypes import PacketTypes
    from paho.mqtt.properties import Properties

    client = broker.mqtt_client(address=address, client_id=f"bench-{group}")
    subscribed = threading.Event()
    client.on_connect = lambda c, u, f, r, p: c.subscribe(
        [(protocol.subscription(prefix=PREFIX, kind=k, share_group=group), 1) for k in ("reported", "get")]
    )
    client.on_subscribe = lambda c, u, mid, reasons, p: subscribed.set()
    if drain is not None:
        client.on_message = lambda c, u, m: drain.tick()
    properties = Properties(PacketTypes.CONNECT)
    properties.SessionExpiryInterval = 3600
    client.connect(address.host, address.port, clean_start=False, properties=properties)
    client.loop_start()
    subscribed.wait(10)
    if not connect_only and drain is not None:
        wait_until(lambda: drain.count >= drain.expected, timeout=900, what="the bare subscriber's drain")
    client.disconnect()
    client.loop_stop()


def gateway_drain(address):
    """Our gateway (its own group) as the command runs it: the recorder in a process of its own
    (set up with `django.setup`), the real `reports_record` and `desired_resends`."""
    import django

    from smarthome.sync.gateway import Gateway, desired_resends_default, reports_record_default

    gateway = Gateway(
        address=address,
        prefix=PREFIX,
        client_id="bench-gateway-drain",
        on_reports=reports_record_default,
        on_gets=desired_resends_default,
        on_resubscribed=None,
        share_group="bench-ours",
        recorder_process=True,
        recorder_setup=django.setup,
    )
    thread = threading.Thread(target=gateway.run, daemon=True)
    thread.start()
    return gateway, thread


def throughput(address, hub_process: HubProcess, hubs: int, burst: int) -> dict:
    """Bare subscriber, our gateway, bare subscriber again, each draining its own copy of one burst."""
    expected = hubs * burst
    # Every session exists (subscribed, offline) before the burst: each queues its own copy.
    for group in ("bench-bare-1", "bench-bare-2"):
        bare_subscriber(address, group=group, drain=None, connect_only=True)
    gateway, thread = gateway_drain(address)
    wait_until(lambda: gateway.subscribed, timeout=60, what="the gateway's subscriptions")
    gateway.stop()
    thread.join()
    log(f"burst: {hubs} hubs x {burst} reports")
    burst_s = hub_process.ask(f"burst {burst}")["seconds"]
    bare = [Drain(expected), Drain(expected)]
    bare_subscriber(address, group="bench-bare-1", drain=bare[0])
    log(f"bare subscriber drained {bare[0].count} at {bare[0].rate:.0f}/s")
    ours = Drain(expected)
    gateway, thread = gateway_drain(address)
    ours.follow(gateway)
    gateway.stop()
    thread.join()
    log(f"gateway drained {ours.count} at {ours.rate:.0f}/s")
    bare_subscriber(address, group="bench-bare-2", drain=bare[1])
    log(f"bare subscriber drained {bare[1].count} at {bare[1].rate:.0f}/s")
    return {"burst_s": burst_s, "bare": bare, "ours": ours, "expected": expected}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--hubs", type=int, default=10000)
    parser.add_argument("--changes", type=int, default=1000)
    parser.add_argument("--rate", type=float, default=50.0, help="PINs added per second")
    parser.add_argument("--move-out", type=int, default=1000, help="units reset at move-out")
    parser.add_argument("--burst", type=int, default=2, help="reports per hub for the throughput run")
    parser.add_argument("--threads", type=int, default=2, help="network threads of the hub process")
    parser.add_argument("--workers", type=int, default=2, help="Celery worker processes publishing")
    options = parser.parse_args()
    changes, units_out = min(options.changes, options.hubs), min(options.move_out, options.changes, options.hubs)

    port = harness.free_port()
    log(f"database {harness.DATABASE_URL}: recreate, {options.hubs} units with a hub and a lock")
    harness.database_recreate()
    harness.django_setup(**our_env(port))
    from django.core.management import call_command

    from smarthome.sync.backends import mqtt as mqtt_backend

    units_fill(hubs=options.hubs, move_out=units_out)
    from django.db import connection

    with connection.cursor() as cursor:  # a database in service has statistics; a fresh one needs them
        cursor.execute("ANALYZE")
    folder = Path(tempfile.mkdtemp(prefix="bench-device-sync-"))
    provisioning = folder / "hubs.json"
    call_command("device_provisioning_export", "--all", "--output", str(provisioning))
    call_command(
        "device_broker_credentials",
        "--provisioning",
        str(provisioning),
        "--password-file",
        str(folder / "passwd"),
        "--acl-file",
        str(folder / "acl"),
    )
    queue = options.hubs * (options.burst + 4) + 10000
    address = broker.broker_address(our_env(port)["SMARTHOME_MQTT_URL"])
    try:
        with (
            mosquitto(folder, port, queue=queue),
            harness.celery_worker(name="devices", concurrency=options.workers, **our_env(port)),
        ):
            gateway = gateway_process(port)
            hub_process = None
            try:
                wait_until(
                    lambda: GATEWAY_CLIENT_ID in (folder / "mosquitto.log").read_text(),
                    timeout=60,
                    what="the gateway's subscription",
                )
                time.sleep(0.5)
                log(f"starting {options.hubs} hubs")
                started = time.monotonic()
                hub_process = HubProcess(provisioning, port, options.threads)
                log(f"hubs connected: {hub_process.ready()}")
                from smarthome.models import Device

                unreported = Device.objects.filter(reported_at__isnull=True)
                wait_until(lambda: not unreported.exists(), timeout=1200, what="the initial sync", every=1)
                initial_sync_s = time.monotonic() - started
                log(f"initial sync in {initial_sync_s:.1f} s")
                confirmed = confirmations(changes=changes, rate=options.rate)
                log(f"{len(confirmed['latencies'])} confirmations, {confirmed['lost']} lost")
                move_out_s, resets_lost = move_out(units=units_out)
                log(f"{units_out} units moved out, last confirmed after {move_out_s:.1f} s")
                hub_process.ask(f"state {folder / 'held.json'}")
                wrong = wrong_states(folder / "held.json")
                log(f"wrong state: {wrong}")
                gateway.send_signal(signal.SIGTERM)
                gateway.wait(timeout=30)
                drained = throughput(address, hub_process, options.hubs, options.burst)
                hub_counts = hub_process.ask("counts")
                queries = queries_per_report()
            finally:
                if hub_process is not None:
                    hub_process.close()
                harness._stop(gateway)
                mqtt_backend.connection_close()
    finally:
        shutil.rmtree(folder, ignore_errors=True)

    latencies = confirmed["latencies"]
    (bare_first, bare_last), ours = drained["bare"], drained["ours"]
    bare_rate = (bare_first.rate + bare_last.rate) / 2
    rows = [
        {
            "what": f"{options.hubs} hubs connected, get answered, reported to the db",
            "value": initial_sync_s,
            "unit": "s",
        },
        {
            "what": f"confirm p50 ({len(latencies)} PINs added at {options.rate:g}/s)",
            "value": statistics.median(latencies) if latencies else float("nan"),
            "unit": "ms",
        },
        {"what": "confirm p99", "value": percentile(latencies, 0.99) if latencies else float("nan"), "unit": "ms"},
        {"what": f"{units_out} units moved out, last device confirmed", "value": move_out_s, "unit": "s"},
        {
            "what": f"bare subscriber drains {bare_first.count} reports (first)",
            "value": bare_first.rate,
            "unit": "msg/s",
        },
        {"what": f"our gateway + reports_record drains {ours.count}", "value": ours.rate, "unit": "msg/s"},
        {
            "what": f"bare subscriber drains {bare_last.count} reports (last)",
            "value": bare_last.rate,
            "unit": "msg/s",
        },
    ]
    print(harness.table(rows, [("what", "run", ""), ("value", "value", ".1f"), ("unit", "unit", "")]))
    print("targets: confirm_p99_ms <= 1000, reports_vs_bare_subscriber >= 0.5, lost = wrong_state = 0")
    summary = {
        "hubs": options.hubs,
        "confirm_p50_ms": round(statistics.median(latencies), 1) if latencies else None,
        "confirm_p99_ms": round(percentile(latencies, 0.99), 1) if latencies else None,
        "move_out_units": units_out,
        "move_out_confirmed_s": round(move_out_s, 2),
        "reports_per_s": round(ours.rate, 1),
        "reports_vs_bare_subscriber": round(ours.rate / bare_rate, 3) if bare_rate else None,
        "bare_subscriber_per_s": round(bare_rate, 1),
        "gateway_reports_per_batch": round(ours.per_batch, 1) if ours.per_batch else None,
        "lost": confirmed["lost"] + resets_lost,
        "wrong_state": wrong,
        "queries_per_report_applied": queries["applied"],
        "queries_per_report_duplicate": queries["duplicate"],
        "initial_sync_s": round(initial_sync_s, 1),
        "hub_connects": hub_counts.get("connects"),
        "hub_gets_repeated": hub_counts.get("get_repeated", 0),
        "load_average": round(os.getloadavg()[0], 2),
    }
    print(json.dumps(summary))
    return 0


if __name__ == "__main__":
    if len(sys.argv) == 5 and sys.argv[1] == "--hub-process":
        hub_process_main(*sys.argv[2:5])
    else:
        sys.exit(main())
