"""The device channel at scale: simulated hubs, a real Mosquitto, our gateway against a bare subscriber.

    .venv/bin/python bench/device_sync.py [--hubs 10000] [--changes 1000] [--rate 100] [--burst 5]

Starts its own Mosquitto on a free port (password file and ACL from smarthome.sync.broker, as in
production; never the machine's broker), and `--hubs` simulated hubs (one smart lock each) in a
child process (smarthome.sync.simulator: 2 network threads multiplexing every hub's client), so
hubs, broker and our side each have a process. Our side is this process: the MQTT transport, the
gateway, and the MemoryCloud standing in for the sync services (desired state and versions in
memory; the database is not measured here).

1. Start-up: every hub connects, subscribes and sends `get`; the gateway answers each with the
   whole state; "initial_sync_s" is until every device's report is recorded.
2. Confirmation: `--changes` PIN changes on distinct locks, `--rate` per second, each a whole-state
   desired message with a bumped version; latency = desired published -> its version's report
   recorded by the gateway ("confirm_p50_ms", "confirm_p99_ms"; target p99 <= 1,000).
   Then every lock of `--reset` hubs is emptied at once ("reset_confirmed_s": until the last
   confirmed). "lost" = changes never confirmed, "wrong_state" = devices whose last report differs
   from their desired state (both must be 0).
3. Throughput: three persistent sessions, a bare paho subscriber (counts messages, auto-ack)
   twice and our gateway (decode, check, no-op handler, manual ack), each on its own
   shared-subscription group, are offline while every hub publishes `--burst` reports; then
   each drains its copy of the same queue alone: bare, ours, bare again (the baseline is their
   mean). "reports_per_s" is the gateway's rate, first message to last;
   "reports_vs_bare_subscriber" its ratio to the baseline (target >= 0.5).

Prints a table, then one JSON line.
"""

from __future__ import annotations

import argparse
import contextlib
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

from bench import harness
from smarthome.sync import broker, protocol

PREFIX = "msc/v1"
SECRET = "bench-only-device-key-secret"  # noqa: S105 - a throwaway broker of the run
GATEWAY_PASSWORD = "bench-only-gateway-password"  # noqa: S105


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def wait_until(condition, *, timeout: float, what: str) -> float:
    started = time.monotonic()
    while not condition():
        if time.monotonic() - started > timeout:
            raise RuntimeError(f"timed out after {timeout:.0f} s waiting for {what}")
        time.sleep(0.05)
    return time.monotonic() - started


# The broker and the hubs' process
# ------------------------------------------------------------------------------


@contextlib.contextmanager
def mosquitto(folder: Path, hubs: list[broker.HubProvision], *, queue: int):
    binary = shutil.which("mosquitto") or "/usr/sbin/mosquitto"
    port = harness.free_port()
    (folder / "data").mkdir(parents=True)
    (folder / "passwd").write_text(
        broker.password_file_text(
            [(broker.GATEWAY_USERNAME, GATEWAY_PASSWORD)] + [(h.channel_id, h.password) for h in hubs]
        )
    )
    (folder / "acl").write_text(broker.acl_file_text(prefix=PREFIX))
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
            ]
        )
        + "\n"
    )
    process = subprocess.Popen(
        [binary, "-c", str(folder / "mosquitto.conf")], stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT
    )
    try:
        wait_until(lambda: _listening(port), timeout=10, what="mosquitto")
        yield port, process
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
        elif command == "counts":
            print(json.dumps(simulator.counts()), flush=True)
        elif command == "stop":
            simulator.stop()
            print(json.dumps(simulator.counts()), flush=True)
            return


# Our side
# ------------------------------------------------------------------------------


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


def wrong_states(cloud) -> int:
    """Devices whose last report does not hold exactly their desired version and settings."""
    wrong = 0
    for devices in cloud.desired.values():
        for device, desired in devices.items():
            report = cloud.reported.get(device)
            held = None if report is None else {i.ref for i in report.pins if i.status == "set"}
            if report is None or report.version != desired.version or held != {p.ref for p in desired.pins}:
                wrong += 1
    return wrong


def confirmations(cloud, hubs, *, changes: int, rate: float) -> dict:
    locks = [h.devices[1].channel_id for h in hubs][:changes]
    wanted = []
    started = time.monotonic()
    for n, lock in enumerate(locks):
        pause = started + n / rate - time.monotonic()
        if pause > 0:
            time.sleep(pause)
        wanted.append((lock, cloud.change(device=lock, pins=[("p1", f"{4000 + n % 6000:04d}")])))
    with contextlib.suppress(RuntimeError):
        wait_until(lambda: all(k in cloud.confirmed_at for k in wanted), timeout=60, what="every confirmation")
    latencies = [(cloud.confirmed_at[k] - cloud.sent_at[k]) * 1000 for k in wanted if k in cloud.confirmed_at]
    return {"latencies": latencies, "lost": len(wanted) - len(latencies)}


def reset(cloud, hubs, *, count: int) -> tuple[float, int]:
    locks = [h.devices[1].channel_id for h in hubs][:count]
    started = time.perf_counter()
    wanted = [(lock, cloud.change(device=lock, pins=[])) for lock in locks]
    with contextlib.suppress(RuntimeError):
        wait_until(lambda: all(k in cloud.confirmed_at for k in wanted), timeout=120, what="every reset")
    done = [cloud.confirmed_at[k] for k in wanted if k in cloud.confirmed_at]
    return (max(done) - started if done else float("nan")), len(wanted) - len(done)


class Drain:
    """First and last arrival of `expected` messages."""

    def __init__(self, expected: int) -> None:
        self.expected = expected
        self.count = 0
        self.first = self.last = 0.0
        self.lock = threading.Lock()

    def tick(self) -> None:
        now = time.perf_counter()
        with self.lock:
            if self.count == 0:
                self.first = now
            self.count += 1
            self.last = now

    @property
    def rate(self) -> float:
        return (self.count - 1) / (self.last - self.first) if self.count > 1 and self.last > self.first else 0.0


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


def gateway_drain(address, *, client_id: str, drain: Drain | None, on_report=None, on_get=None, group="msc-gateway"):
    from smarthome.sync.gateway import Gateway

    def counted(**kwargs):
        if drain is not None:
            drain.tick()

    gateway = Gateway(
        address=address,
        prefix=PREFIX,
        client_id=client_id,
        on_report=on_report or counted,
        on_get=on_get or counted,
        on_resubscribed=None,
        share_group=group,
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
    gateway, thread = gateway_drain(address, client_id="bench-gateway-drain", drain=None, group="bench-ours")
    wait_until(lambda: gateway.subscribed, timeout=20, what="the gateway's subscriptions")
    gateway.stop()
    thread.join()
    log(f"burst: {hubs} hubs x {burst} reports")
    burst_s = hub_process.ask(f"burst {burst}")["seconds"]
    bare = [Drain(expected), Drain(expected)]
    bare_subscriber(address, group="bench-bare-1", drain=bare[0])
    log(f"bare subscriber drained {bare[0].count} at {bare[0].rate:.0f}/s")
    ours = Drain(expected)
    gateway, thread = gateway_drain(address, client_id="bench-gateway-drain", drain=ours, group="bench-ours")
    wait_until(lambda: ours.count >= expected, timeout=900, what="the gateway's drain")
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
    parser.add_argument("--rate", type=float, default=100.0, help="PIN changes per second")
    parser.add_argument("--reset", type=int, default=1000, help="locks emptied at once")
    parser.add_argument("--burst", type=int, default=5, help="reports per hub for the throughput run")
    parser.add_argument("--threads", type=int, default=2, help="network threads of the hub process")
    options = parser.parse_args()

    from smarthome.sync.backends import mqtt as mqtt_backend
    from smarthome.sync.simulator import MemoryCloud

    hubs = broker.provisioning_new(hubs=options.hubs, secret=SECRET)
    folder = Path(tempfile.mkdtemp(prefix="bench-device-sync-"))
    provisioning = folder / "hubs.json"
    provisioning.write_text(broker.provisioning_dump(hubs))
    queue = options.hubs * (options.burst + 2) + 10000
    try:
        with mosquitto(folder / "broker", hubs, queue=queue) as (port, _):
            url = f"mqtt://{broker.GATEWAY_USERNAME}:{GATEWAY_PASSWORD}@127.0.0.1:{port}"
            address = broker.broker_address(url)
            cloud = MemoryCloud(
                transport=mqtt_backend.Transport(url=url, prefix=PREFIX, timeout=10),
                hubs=hubs,
                secret=SECRET,
                publish_threads=4,
            )
            gateway, thread = gateway_drain(
                address,
                client_id="bench-gateway",
                drain=None,
                on_report=cloud.report_record,
                on_get=cloud.desired_resend,
            )
            wait_until(lambda: gateway.subscribed, timeout=20, what="the gateway")
            log(f"starting {options.hubs} hubs")
            started = time.monotonic()
            hub_process = HubProcess(provisioning, port, options.threads)
            try:
                ready = hub_process.ready()
                log(f"hubs connected: {ready}")
                initial = wait_until(lambda: not cloud.unconfirmed(), timeout=900, what="the initial sync")
                initial_sync_s = time.monotonic() - started
                log(f"initial sync in {initial_sync_s:.1f} s ({initial:.1f} s after the last connect)")
                confirmed = confirmations(cloud, hubs, changes=min(options.changes, options.hubs), rate=options.rate)
                log(f"{len(confirmed['latencies'])} confirmations, {confirmed['lost']} lost")
                reset_s, reset_lost = reset(cloud, hubs, count=min(options.reset, options.hubs))
                log(f"{options.reset} locks reset in {reset_s:.2f} s")
                wrong = wrong_states(cloud)
                gateway.stop()
                thread.join()
                drained = throughput(address, hub_process, options.hubs, options.burst)
                hub_counts = hub_process.ask("counts")
            finally:
                hub_process.close()
                cloud.close()
                mqtt_backend.connection_close()
    finally:
        shutil.rmtree(folder, ignore_errors=True)

    latencies = confirmed["latencies"]
    (bare_first, bare_last), ours = drained["bare"], drained["ours"]
    bare_rate = (bare_first.rate + bare_last.rate) / 2
    rows = [
        {
            "what": f"{options.hubs} hubs connected, initial get answered and reported",
            "value": initial_sync_s,
            "unit": "s",
        },
        {
            "what": f"confirm p50 ({len(latencies)} PIN changes at {options.rate:g}/s)",
            "value": statistics.median(latencies) if latencies else float("nan"),
            "unit": "ms",
        },
        {"what": "confirm p99", "value": percentile(latencies, 0.99) if latencies else float("nan"), "unit": "ms"},
        {"what": f"{options.reset} locks emptied at once, last confirmed", "value": reset_s, "unit": "s"},
        {
            "what": f"bare subscriber drains {bare_first.count} reports (first)",
            "value": bare_first.rate,
            "unit": "msg/s",
        },
        {"what": f"our gateway drains {ours.count} reports", "value": ours.rate, "unit": "msg/s"},
        {"what": f"bare subscriber drains {bare_last.count} reports (last)", "value": bare_last.rate, "unit": "msg/s"},
    ]
    print(harness.table(rows, [("what", "run", ""), ("value", "value", ".1f"), ("unit", "unit", "")]))
    print("targets: confirm_p99_ms <= 1000, reports_vs_bare_subscriber >= 0.5, lost = wrong_state = 0")
    summary = {
        "hubs": options.hubs,
        "confirm_p50_ms": round(statistics.median(latencies), 1) if latencies else None,
        "confirm_p99_ms": round(percentile(latencies, 0.99), 1) if latencies else None,
        "reports_per_s": round(ours.rate, 1),
        "reports_vs_bare_subscriber": round(ours.rate / bare_rate, 3) if bare_rate else None,
        "bare_subscriber_per_s": round(bare_rate, 1),
        "lost": confirmed["lost"] + reset_lost,
        "wrong_state": wrong,
        "reset_locks": options.reset,
        "reset_confirmed_s": round(reset_s, 2),
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
