"""What the device-channel tests share: a Mosquitto of their own, gateways and hubs on it.

Each broker is started on a free port with its own configuration (never the machine's): the
password and ACL files that `device_broker_credentials` writes, persistence in a folder of the
test. Without the mosquitto binary a test is skipped on a developer's machine and fails in CI.
"""

from __future__ import annotations

import contextlib
import getpass
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from smarthome.sync import broker, protocol
from smarthome.sync.backends import mqtt as mqtt_backend
from smarthome.sync.gateway import Gateway, per_channel, per_report
from smarthome.sync.simulator import MemoryCloud, Simulator
from tests.conftest import IN_CI

PREFIX = "msc/v1"
SECRET = "test-only-device-key-secret"
GATEWAY_PASSWORD = "gateway-test-password"
ROOT = Path(__file__).resolve().parents[2]


def mosquitto_binary() -> str:
    found = shutil.which("mosquitto") or next(
        (p for p in ("/usr/sbin/mosquitto", "/usr/local/sbin/mosquitto") if os.access(p, os.X_OK)), None
    )
    if found is None:
        message = "the mosquitto binary is not installed (apt-get install -y mosquitto)"
        if IN_CI:
            pytest.fail(f"{message} (CI=true: a missing service is a failure, never a skip)")
        pytest.skip(message)
    return found


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_until(condition: Callable[[], object], *, timeout: float = 10.0, what: str = "condition") -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.02)
    raise AssertionError(f"timed out after {timeout:g} s waiting for {what}")


class Mosquitto:
    """A broker of the test's own: password file + ACL (unless `anonymous`), persistence on."""

    def __init__(
        self,
        folder: Path,
        *,
        hubs: list[broker.HubProvision],
        extra_users: dict[str, str] | None = None,
        extra_acl: str = "",
        anonymous: bool = False,
        files_ready: bool = False,
        tls: tuple[Path, Path, Path] | None = None,
    ) -> None:
        self.binary = mosquitto_binary()
        self.folder = folder
        self.port = free_port()
        self.process: subprocess.Popen | None = None
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "data").mkdir(exist_ok=True)
        lines = [
            f"listener {self.port} 127.0.0.1",
            # Run as whoever runs the test (as root, Mosquitto would drop to "mosquitto", which
            # cannot read the test's private folder).
            f"user {getpass.getuser()}",
            "persistence true",
            f"persistence_location {folder / 'data'}/",
            f"log_dest file {folder / 'mosquitto.log'}",
            "log_type all",
            "max_queued_messages 100000",
            "max_inflight_messages 100",
        ]
        if tls is not None:  # (CA, server certificate, server key): this listener speaks TLS only
            lines += [f"cafile {tls[0]}", f"certfile {tls[1]}", f"keyfile {tls[2]}"]
        if anonymous:
            lines.append("allow_anonymous true")
        elif files_ready:  # passwd and acl are in the folder already (the command wrote them)
            lines += ["allow_anonymous false", f"password_file {folder / 'passwd'}", f"acl_file {folder / 'acl'}"]
        else:
            credentials = [(h.channel_id, h.password) for h in hubs]
            credentials += [(broker.GATEWAY_USERNAME, GATEWAY_PASSWORD), *(extra_users or {}).items()]
            (folder / "passwd").write_text(broker.password_file_text(credentials))
            (folder / "acl").write_text(broker.acl_file_text(prefix=PREFIX) + extra_acl)
            lines += ["allow_anonymous false", f"password_file {folder / 'passwd'}", f"acl_file {folder / 'acl'}"]
        (folder / "mosquitto.conf").write_text("\n".join(lines) + "\n")

    def url(self, username: str = broker.GATEWAY_USERNAME, password: str = GATEWAY_PASSWORD) -> str:
        return f"mqtt://{username}:{password}@127.0.0.1:{self.port}"

    def address(self, username: str = broker.GATEWAY_USERNAME, password: str = GATEWAY_PASSWORD):
        return broker.broker_address(self.url(username, password))

    def start(self) -> None:
        self.process = subprocess.Popen(
            [self.binary, "-c", str(self.folder / "mosquitto.conf")],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", self.port), timeout=0.2):
                return
            if self.process.poll() is not None:
                break
            time.sleep(0.05)
        raise AssertionError(f"mosquitto did not start (see {self.folder / 'mosquitto.log'})")

    def stop(self) -> None:
        """SIGTERM: Mosquitto writes its persistence file (sessions, queued QoS 1 messages) and exits."""
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            self.process.wait(timeout=10)
        self.process = None


@contextlib.contextmanager
def running_gateway(gateway: Gateway, *, timeout: float = 10.0) -> Iterator[Gateway]:
    """Run `gateway` in a thread of this process until the block ends."""
    thread = threading.Thread(target=gateway.run, name="gateway", daemon=True)
    thread.start()
    try:
        wait_until(lambda: gateway.subscribed, timeout=timeout, what="the gateway's subscriptions")
        yield gateway
    finally:
        gateway.stop()
        thread.join(timeout=10)


@contextlib.contextmanager
def running_simulator(simulator: Simulator, *, timeout: float = 20.0) -> Iterator[Simulator]:
    simulator.start()
    try:
        assert simulator.wait_connected(timeout), "the simulated hubs did not all connect"
        yield simulator
    finally:
        simulator.stop()


def cloud_new(mosquitto: Mosquitto, hubs: list[broker.HubProvision]) -> MemoryCloud:
    transport = mqtt_backend.Transport(url=mosquitto.url(), prefix=PREFIX, timeout=5)
    return MemoryCloud(transport=transport, hubs=hubs, secret=SECRET)


def gateway_new(mosquitto: Mosquitto, cloud: MemoryCloud, *, client_id: str = "msc-gateway-test", **kwargs) -> Gateway:
    return Gateway(
        address=mosquitto.address(),
        prefix=PREFIX,
        client_id=client_id,
        on_reports=per_report(kwargs.pop("on_report", cloud.report_record)),
        on_gets=per_channel(kwargs.pop("on_get", cloud.desired_resend)),
        on_resubscribed=kwargs.pop("on_resubscribed", None),  # the MemoryCloud has no lag sweep
        **kwargs,
    )


def gateway_process(mosquitto: Mosquitto, *, client_id: str, log: Path) -> subprocess.Popen:
    """`tests/integration/gateway_child.py` in a child process: a gateway whose handler writes each
    report it handled to `log` (one line per report, flushed before the acknowledgement)."""
    return subprocess.Popen(
        [
            sys.executable,
            str(ROOT / "tests" / "integration" / "gateway_child.py"),
            mosquitto.url(),
            PREFIX,
            client_id,
            str(log),
        ],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.STDOUT,
    )


def reported_payload(hub: str, device: str, version: int, pins: tuple[protocol.ReportedItem, ...] = ()) -> bytes:
    return protocol.reported_encode(
        protocol.Reported(hub=hub, devices=(protocol.ReportedDevice(device=device, version=version, pins=pins),))
    )


class Listener:
    """A plain paho client in its own network thread that keeps what it receives (and its acks)."""

    def __init__(self, address: broker.BrokerAddress, *, username: str | None = None, password: str | None = None):
        self.client = broker.mqtt_client(
            address=address, client_id=broker.client_id_new("test-listener"), username=username, password=password
        )
        self.messages: list[tuple[str, bytes]] = []
        self.connack: list = []
        self.suback: list = []
        self.puback: dict[int, object] = {}
        self.client.on_connect = lambda c, u, f, reason, p: self.connack.append(reason)
        self.client.on_subscribe = lambda c, u, mid, reasons, p: self.suback.extend(reasons)
        self.client.on_message = lambda c, u, m: self.messages.append((m.topic, bytes(m.payload)))
        self.client.on_publish = lambda c, u, mid, reason, p: self.puback.__setitem__(mid, reason)
        self.address = address

    def __enter__(self) -> Listener:
        self.client.connect(self.address.host, self.address.port)
        self.client.loop_start()
        wait_until(lambda: self.connack, what="CONNACK")
        return self

    def __exit__(self, *exc) -> None:
        self.client.disconnect()
        self.client.loop_stop()

    @property
    def refused(self) -> bool:
        return bool(self.connack) and self.connack[0].is_failure

    def subscribe(self, topic: str) -> None:
        count = len(self.suback)
        self.client.subscribe(topic, qos=1)
        wait_until(lambda: len(self.suback) > count, what="SUBACK")

    def publish(self, topic: str, payload: bytes):
        """Publish with QoS 1 and return the broker's PUBACK reason code."""
        info = self.client.publish(topic, payload, qos=1)
        wait_until(lambda: info.mid in self.puback, what="PUBACK")
        return self.puback[info.mid]


def gateway_command(
    mosquitto: Mosquitto, *, client_id: str, log: Path, database_url: str, redis_url: str
) -> subprocess.Popen:
    """`manage.py device_gateway` in a child process on the test database: the real gateway calling
    the real `report_record` and `desired_resend` (its answers to `get` published eagerly, from the
    gateway process, with the MQTT backend). Its log (stdout and stderr) goes to `log`."""
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "DJANGO_SETTINGS_MODULE": "myspacecore.settings.test",
        "DATABASE_URL": database_url,
        "REDIS_URL": redis_url,
        "CELERY_TASK_ALWAYS_EAGER": "true",
        "SMARTHOME_MQTT_URL": mosquitto.url(),
        "SMARTHOME_MQTT_TOPIC_PREFIX": PREFIX,
        "SMARTHOME_DEVICE_TRANSPORT_BACKEND": "smarthome.sync.backends.mqtt.Transport",
    }
    with log.open("ab") as out:
        return subprocess.Popen(
            [sys.executable, "manage.py", "device_gateway", "--client-id", client_id],
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )


def gateway_subscribed(mosquitto: Mosquitto, client_id: str, *, times: int = 1, timeout: float = 30.0) -> None:
    """Wait until the broker logged `times` SUBSCRIBEs of `client_id` (its SUBACK then on its way)."""
    broker_log = mosquitto.folder / "mosquitto.log"
    wait_until(
        lambda: broker_log.read_text().count(f"Received SUBSCRIBE from {client_id}") >= times,
        timeout=timeout,
        what=f"{client_id}'s subscription",
    )
    time.sleep(0.2)
