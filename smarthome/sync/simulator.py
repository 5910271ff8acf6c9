"""Simulated hubs that speak the real protocol over the real broker (tests, benchmark, demo).

Each hub is one MQTT client with its own credentials (its channel id and password, from a
provisioning file: broker.provisioning_load), subscribed to its own `desired` topic. It holds
per device what a real device would: a lock's PIN slots (its limit: a PIN past it is reported
`failed: lock_full`), a hub's remote-control settings. It applies a device's desired state only
when its version is newer than the one it holds, opens each sealed PIN with that device's key
(a PIN sealed for another device is `failed: rejected`), then reports the whole state of every
device behind it. On every (re)connect it asks for the whole state (`get`).

Fault knobs (Faults): drop, duplicate, delay and reorder incoming desired messages, drop or
duplicate outgoing reports, and take a hub offline and back (its session is clean, as a hub
that lost power: what was sent meanwhile is gone, and its `get` repairs it).

Thousands of hubs on two cores: not a thread per client (paho's `loop_start`) but a few
HubLoop threads, each multiplexing many clients on one selector through paho's external-loop
hooks (socket open/close, register/unregister write, loop_read/loop_write/loop_misc).
"""

from __future__ import annotations

import contextlib
import functools
import heapq
import itertools
import logging
import queue
import random
import selectors
import socket
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from paho.mqtt.client import Client, MQTTMessage
from paho.mqtt.enums import MQTTErrorCode
from paho.mqtt.reasoncodes import ReasonCode

from . import protocol
from .broker import BrokerAddress, DeviceProvision, HubProvision, mqtt_client

logger = logging.getLogger(__name__)

# What a simulated hub can drive (smarthome.models.ApplianceType values); others are "unsupported".
APPLIANCES = frozenset({"air_conditioner", "tv", "light", "fan", "other"})
LOCK_KINDS = frozenset({"smart_lock"})
KEEPALIVE_SECONDS = 60
REORDER_HOLD_SECONDS = 1.0
# An unanswered `get` is asked again after this long, doubling, with jitter: soon enough to repair
# a lost request, late enough that thousands of hubs waiting on a busy gateway do not pile on.
GET_RETRY_SECONDS = 30.0
GET_RETRY_MAX_SECONDS = 300.0


# One device's state and the rules a real device follows
# ------------------------------------------------------------------------------


@dataclass
class DeviceState:
    """What one device holds: the last desired version it applied, and each setting's outcome."""

    provision: DeviceProvision
    version: int = 0
    pins: dict[str, str] = field(default_factory=dict)  # ref -> PIN in clear (inside the lock only)
    pin_items: tuple[protocol.ReportedItem, ...] = ()
    remotes: dict[str, protocol.DesiredRemote] = field(default_factory=dict)
    remote_items: tuple[protocol.ReportedItem, ...] = ()

    @property
    def is_lock(self) -> bool:
        return self.provision.kind in LOCK_KINDS

    def reported(self) -> protocol.ReportedDevice:
        return protocol.ReportedDevice(
            device=self.provision.channel_id,
            version=self.version,
            pins=self.pin_items,
            remotes=self.remote_items,
            slots_total=self.provision.slots if self.is_lock else None,
        )


def _failed(ref: str, reason: str) -> protocol.ReportedItem:
    return protocol.ReportedItem(ref=ref, status="failed", reason=reason)


def _pins_apply(state: DeviceState, pins: Iterable[protocol.DesiredPin]) -> None:
    key = state.provision.key.encode()
    held: dict[str, str] = {}
    items = []
    for pin in pins:
        if not state.is_lock:
            items.append(_failed(pin.ref, "unsupported"))
            continue
        try:
            clear = protocol.pin_open(key=key, sealed=pin.sealed)
        except protocol.ProtocolError:
            items.append(_failed(pin.ref, "rejected"))
            continue
        if not clear.isascii() or not clear.isdigit():
            items.append(_failed(pin.ref, "rejected"))
        elif len(held) >= state.provision.slots:
            items.append(_failed(pin.ref, "lock_full"))
        else:
            held[pin.ref] = clear
            items.append(protocol.ReportedItem(ref=pin.ref, status="set"))
    state.pins, state.pin_items = held, tuple(items)


def _remotes_apply(state: DeviceState, remotes: Iterable[protocol.DesiredRemote]) -> None:
    held: dict[str, protocol.DesiredRemote] = {}
    items = []
    for remote in remotes:
        if state.is_lock or remote.appliance not in APPLIANCES:
            items.append(_failed(remote.ref, "unsupported"))
        else:
            held[remote.ref] = remote
            items.append(protocol.ReportedItem(ref=remote.ref, status="set"))
    state.remotes, state.remote_items = held, tuple(items)


def device_apply(state: DeviceState, desired: protocol.DesiredDevice) -> bool:
    """Apply `desired` if its version is newer than the one held (True), else change nothing (False).

    The desired state is whole: what it does not list is removed from the device.
    """
    if desired.device != state.provision.channel_id:
        raise ValueError("desired state for another device")
    if desired.version <= state.version:
        return False
    _pins_apply(state, desired.pins)
    _remotes_apply(state, desired.remotes)
    state.version = desired.version
    return True


# Faults
# ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Faults:
    """Probabilities (0..1) per message, and a delay in seconds for every desired message."""

    drop: float = 0.0  # an incoming desired message is lost
    duplicate: float = 0.0  # an incoming desired message arrives twice
    reorder: float = 0.0  # an incoming desired message is held until after the next one
    delay: float = 0.0  # every incoming desired message waits this long
    report_drop: float = 0.0  # an outgoing report is lost
    report_duplicate: float = 0.0  # an outgoing report is sent twice
    seed: int | None = None

    def __post_init__(self) -> None:
        for name in ("drop", "duplicate", "reorder", "report_drop", "report_duplicate"):
            if not 0.0 <= getattr(self, name) <= 1.0:
                raise ValueError(f"fault {name} must be a probability between 0 and 1")
        if self.delay < 0:
            raise ValueError("fault delay must not be negative")


# The event loop that multiplexes many clients
# ------------------------------------------------------------------------------


class HubLoop(threading.Thread):
    """One thread, one selector, many paho clients. Every paho call for its clients runs here."""

    def __init__(self, name: str) -> None:
        super().__init__(name=name, daemon=True)
        self.selector = selectors.DefaultSelector()
        self.clients: list[Client] = []
        self._calls: queue.SimpleQueue[Callable[[], None]] = queue.SimpleQueue()
        self._timers: list[tuple[float, int, Callable[[], None]]] = []
        self.sequence = itertools.count()
        self._wake_r, self._wake_w = socket.socketpair()
        self._wake_r.setblocking(False)
        self._wake_w.setblocking(False)
        self.selector.register(self._wake_r, selectors.EVENT_READ, None)
        self._stopping = False

    # From any thread
    def call(self, function: Callable[[], None]) -> None:
        self._calls.put(function)
        with contextlib.suppress(BlockingIOError):  # already woken
            self._wake_w.send(b"x")

    def stop(self) -> None:
        """Stop after the calls queued before this one (a hub's disconnect, say)."""
        self.call(self._stop_now)

    def _stop_now(self) -> None:
        self._stopping = True

    # From the loop's own thread
    def call_later(self, delay: float, function: Callable[[], None]) -> None:
        heapq.heappush(self._timers, (time.monotonic() + delay, next(self.sequence), function))

    def attach(self, client: Client) -> None:
        """Route the client's socket through this loop's selector (paho's external-loop hooks)."""
        client.on_socket_open = self._socket_open
        client.on_socket_close = self._socket_close
        client.on_socket_register_write = self._write_on
        client.on_socket_unregister_write = self._write_off
        self.clients.append(client)

    def _socket_open(self, client: Client, userdata: Any, sock: Any) -> None:
        self.selector.register(sock, selectors.EVENT_READ, client)

    def _socket_close(self, client: Client, userdata: Any, sock: Any) -> None:
        with contextlib.suppress(KeyError, ValueError):  # never registered, or already gone
            self.selector.unregister(sock)

    def _write_on(self, client: Client, userdata: Any, sock: Any) -> None:
        self.selector.modify(sock, selectors.EVENT_READ | selectors.EVENT_WRITE, client)

    def _write_off(self, client: Client, userdata: Any, sock: Any) -> None:
        with contextlib.suppress(KeyError, ValueError):  # closed meanwhile
            self.selector.modify(sock, selectors.EVENT_READ, client)

    def run(self) -> None:
        next_misc = time.monotonic() + 1.0
        while not self._stopping:
            timeout = 0.5 if not self._timers else max(0.0, min(0.5, self._timers[0][0] - time.monotonic()))
            for key, mask in self.selector.select(timeout):
                if key.data is None:
                    self._drain_wake()
                    continue
                self._io(key.data, mask)
            self._run_calls()
            self._run_timers()
            if time.monotonic() >= next_misc:
                for client in self.clients:
                    client.loop_misc()  # keepalive pings
                next_misc = time.monotonic() + 1.0
        self.selector.close()

    def _io(self, client: Client, mask: int) -> None:
        try:
            if mask & selectors.EVENT_READ:
                client.loop_read()
            if mask & selectors.EVENT_WRITE and client.socket() is not None:
                client.loop_write()
        except Exception:  # one broken client must not stop the hubs beside it
            logger.exception("hub simulator: a client's network step failed")

    def _drain_wake(self) -> None:
        try:
            while self._wake_r.recv(4096):
                pass
        except BlockingIOError:
            return

    def _run_calls(self) -> None:
        while True:
            try:
                function = self._calls.get_nowait()
            except queue.Empty:
                return
            self._safely(function)

    def _run_timers(self) -> None:
        now = time.monotonic()
        while self._timers and self._timers[0][0] <= now:
            _, _, function = heapq.heappop(self._timers)
            self._safely(function)

    @staticmethod
    def _safely(function: Callable[[], None]) -> None:
        try:
            function()
        except Exception:  # a failing step of one hub must not stop the others
            logger.exception("hub simulator: a scheduled step failed")


# One simulated hub
# ------------------------------------------------------------------------------


class SimulatedHub:
    """One hub: its client, its devices' state, its fault knobs. Runs in its HubLoop's thread."""

    def __init__(
        self,
        *,
        provision: HubProvision,
        address: BrokerAddress,
        prefix: str,
        loop: HubLoop,
        faults: Faults,
        get_retry_seconds: float = GET_RETRY_SECONDS,
        index: int = 0,
    ) -> None:
        self.get_retry_seconds = get_retry_seconds
        self.provision = provision
        self.channel_id = provision.channel_id
        self.address = address
        self.prefix = prefix
        self.loop = loop
        self.faults = faults
        # One stream per hub, the same for the same seed and position in the provisioning file.
        self.random = random.Random(None if faults.seed is None else f"{faults.seed}:{index}")
        self.devices = {d.channel_id: DeviceState(provision=d) for d in provision.devices}
        self.counts: Counter[str] = Counter()
        self.connected = threading.Event()
        self.online = False
        self._held: protocol.Desired | None = None  # a message held back to be reordered
        self._awaiting_desired: int | None = None  # the `get` not answered yet
        self._reconnect_delay = 1.0
        self.client = mqtt_client(
            address=address, client_id=f"hub-{self.channel_id}", username=self.channel_id, password=provision.password
        )
        self.client.on_connect = self._on_connect
        self.client.on_disconnect = self._on_disconnect
        self.client.on_subscribe = self._on_subscribe
        self.client.on_message = self._on_message
        self.client.on_publish = self._on_publish
        loop.attach(self.client)

    # Control (any thread): the work runs in the loop's thread
    def connect(self) -> None:
        self.loop.call(self._connect)

    def disconnect(self) -> None:
        self.loop.call(self._disconnect)

    def state_request(self) -> None:
        """Ask for the whole desired state again (what the hub does on every connect)."""
        self.loop.call(self._get_send)

    # In the loop's thread
    def _connect(self) -> None:
        self.online = True
        try:
            if self.client.socket() is None:
                self.client.connect(self.address.host, self.address.port, keepalive=KEEPALIVE_SECONDS, clean_start=True)
        except OSError as exc:
            self.counts["connect_failed"] += 1
            logger.debug("hub %s: broker unreachable (%s)", self.channel_id, exc)
            self._reconnect_later()

    def _disconnect(self) -> None:
        self.online = False
        self.client.disconnect()

    def _reconnect_later(self) -> None:
        if self.online:
            # Jitter: after a broker restart, thousands of hubs must not all knock at once.
            delay = self._reconnect_delay * (0.5 + self.random.random())
            self._reconnect_delay = min(self._reconnect_delay * 2, 10.0)
            self.loop.call_later(delay, self._connect)

    def _on_connect(self, client: Client, userdata, flags, reason: ReasonCode, properties) -> None:
        if reason.is_failure:
            self.counts["refused"] += 1
            logger.warning("hub %s: broker refused the connection (%s)", self.channel_id, reason.getName())
            return
        self._reconnect_delay = 1.0
        self.counts["connects"] += 1
        client.subscribe(protocol.topic(prefix=self.prefix, channel_id=self.channel_id, kind="desired"), qos=1)

    def _on_subscribe(self, client: Client, userdata, mid: int, reasons: list[ReasonCode], properties) -> None:
        if any(r.is_failure for r in reasons):
            self.counts["subscribe_refused"] += 1
            logger.warning("hub %s: the broker refused our subscription", self.channel_id)
            return
        self.connected.set()
        self._get_send()

    def _on_disconnect(self, client: Client, userdata, flags, reason: ReasonCode, properties) -> None:
        self.connected.clear()
        if self.online:
            self.counts["connection_lost"] += 1
            self._reconnect_later()

    def _get_send(self, retry_after: float | None = None) -> None:
        """Ask for the whole state; ask again (backing off) until a desired message comes.

        A `get` can be lost where QoS 1 does not help: Mosquitto 2.0 drops what is published on a
        shared subscription after a broker restart until the gateway has subscribed again.
        """
        if not self.client.is_connected():
            return
        self._publish("get", protocol.get_encode(hub=self.channel_id))
        retry_after = retry_after or self.get_retry_seconds
        self._awaiting_desired = next(self.loop.sequence)
        pause = retry_after * (0.75 + self.random.random() / 2)
        self.loop.call_later(pause, functools.partial(self._get_retry, self._awaiting_desired, retry_after))

    def _get_retry(self, request: int, waited: float) -> None:
        if self._awaiting_desired == request:
            self.counts["get_repeated"] += 1
            self._get_send(min(waited * 2, GET_RETRY_MAX_SECONDS))

    def _publish(self, kind: protocol.TopicKind, payload: bytes) -> None:
        topic = protocol.topic(prefix=self.prefix, channel_id=self.channel_id, kind=kind)
        info = self.client.publish(topic, payload, qos=1)
        if info.rc != MQTTErrorCode.MQTT_ERR_SUCCESS:
            self.counts[f"{kind}_not_sent"] += 1

    def _on_publish(self, client: Client, userdata, mid: int, reason: ReasonCode, properties) -> None:
        self.counts["refused_by_broker" if reason.is_failure else "acked"] += 1

    def _on_message(self, client: Client, userdata, message: MQTTMessage) -> None:
        try:
            desired = protocol.desired_decode(bytes(message.payload))
        except protocol.ProtocolError as exc:
            self.counts["malformed"] += 1
            logger.warning("hub %s: dropped a malformed desired message: %s", self.channel_id, exc)
            return
        if desired.hub != self.channel_id:
            self.counts["foreign"] += 1
            return
        self.counts["received"] += 1
        self._awaiting_desired = None
        self._receive(desired)

    def _receive(self, desired: protocol.Desired) -> None:
        """Pass an incoming message through the fault knobs, then apply it."""
        faults = self.faults
        if faults.drop and self.random.random() < faults.drop:
            self.counts["dropped"] += 1
            return
        copies = 2 if faults.duplicate and self.random.random() < faults.duplicate else 1
        if faults.reorder and self._held is None and self.random.random() < faults.reorder:
            self._held = desired
            self.counts["held"] += 1
            self.loop.call_later(REORDER_HOLD_SECONDS, self._release_held)
            return
        for _ in range(copies):
            if faults.delay:
                self.loop.call_later(faults.delay, functools.partial(self._apply, desired))
            else:
                self._apply(desired)
        self._release_held()

    def _release_held(self) -> None:
        held, self._held = self._held, None
        if held is not None:
            self._apply(held)

    def _apply(self, desired: protocol.Desired) -> None:
        for device in desired.devices:
            state = self.devices.get(device.device)
            if state is None:
                self.counts["unknown_device"] += 1
                continue
            self.counts["applied" if device_apply(state, device) else "stale"] += 1
        self.report()

    def report(self) -> None:
        """Report the whole state of every device behind this hub (the loop's thread)."""
        if self.faults.report_drop and self.random.random() < self.faults.report_drop:
            self.counts["report_dropped"] += 1
            return
        payload = protocol.reported_encode(
            protocol.Reported(hub=self.channel_id, devices=tuple(s.reported() for s in self.devices.values()))
        )
        copies = 2 if self.faults.report_duplicate and self.random.random() < self.faults.report_duplicate else 1
        for _ in range(copies):
            self._publish("reported", payload)
            self.counts["reports"] += 1


# The simulator: many hubs over a few loops
# ------------------------------------------------------------------------------


class Simulator:
    """`hubs` simulated hubs spread over `threads` HubLoops. `start()` connects them all."""

    def __init__(
        self,
        *,
        address: BrokerAddress,
        prefix: str,
        hubs: Iterable[HubProvision],
        threads: int = 2,
        faults: Faults | None = None,
        get_retry_seconds: float = GET_RETRY_SECONDS,
    ) -> None:
        if threads < 1:
            raise ValueError("threads must be positive")
        self.loops = [HubLoop(f"hub-loop-{i}") for i in range(threads)]
        self.hubs: dict[str, SimulatedHub] = {}
        for i, provision in enumerate(hubs):
            hub = SimulatedHub(
                provision=provision,
                address=address,
                prefix=prefix,
                loop=self.loops[i % threads],
                faults=faults or Faults(),
                get_retry_seconds=get_retry_seconds,
                index=i,
            )
            self.hubs[hub.channel_id] = hub

    def start(self) -> None:
        for loop in self.loops:
            loop.start()
        for hub in self.hubs.values():
            hub.connect()

    def wait_connected(self, timeout: float) -> bool:
        """True once every hub is connected and subscribed (and has sent its `get`)."""
        deadline = time.monotonic() + timeout
        return all(hub.connected.wait(max(0.0, deadline - time.monotonic())) for hub in self.hubs.values())

    def offline(self, channel_id: str) -> None:
        self.hubs[channel_id].disconnect()

    def online(self, channel_id: str) -> None:
        self.hubs[channel_id].connect()

    def counts(self) -> Counter[str]:
        total: Counter[str] = Counter()
        for hub in self.hubs.values():
            total.update(hub.counts)
        return total

    def run_until(
        self,
        should_stop: Callable[[], bool],
        *,
        offline_every: float = 0.0,
        offline_for: float = 0.0,
        progress: Callable[[Counter[str]], None] | None = None,
        progress_every: float = 10.0,
        seed: int | None = None,
    ) -> None:
        """Keep the hubs running until `should_stop()`; every `offline_every` seconds one hub,
        chosen at random, goes offline for `offline_for` seconds (a power cut, a lost network)."""
        chooser = random.Random(seed)
        channels = list(self.hubs)
        back_at: dict[str, float] = {}
        next_outage = time.monotonic() + offline_every if offline_every else float("inf")
        next_progress = time.monotonic() + progress_every
        while not should_stop():
            time.sleep(0.1)
            now = time.monotonic()
            for channel, at in list(back_at.items()):
                if now >= at:
                    del back_at[channel]
                    self.online(channel)
            if now >= next_outage and channels:
                channel = chooser.choice(channels)
                if channel not in back_at:
                    self.offline(channel)
                    back_at[channel] = now + offline_for
                next_outage = now + offline_every
            if progress is not None and now >= next_progress:
                progress(self.counts())
                next_progress = now + progress_every
        for channel in back_at:
            self.online(channel)

    def stop(self) -> None:
        for hub in self.hubs.values():
            hub.disconnect()
        time.sleep(0.2)  # let the DISCONNECT packets go out
        for loop in self.loops:
            loop.stop()
        for loop in self.loops:
            loop.join(timeout=5)


# Our side, in memory
# ------------------------------------------------------------------------------


@dataclass(frozen=True)
class CloudOutcome:
    """What MemoryCloud did with a report (the gateway reads `rejected`, as of a ReportOutcome)."""

    rejected: bool


class MemoryCloud:
    """A stand-in for the sync services (tests, benchmark, demo): each device's desired state and
    version, the last report recorded per device, a transport to publish with.

    Its rules are the protocol's: a change bumps the device's version and publishes the hub's
    whole desired state; a report is recorded only if its hub owns the device and its version is
    not older than the last recorded; a `get` publishes the whole state again.
    """

    def __init__(self, *, transport: Any, hubs: Iterable[HubProvision], secret: str, publish_threads: int = 0) -> None:
        self.transport = transport
        self.secret = secret
        self.lock = threading.Lock()
        # With publish_threads, a hub's `get` is answered by a pool (as Celery workers would), so the
        # gateway never waits on a publish; requests for a hub already waiting are merged.
        self._pool = ThreadPoolExecutor(publish_threads, "cloud-publish") if publish_threads else None
        self._resend_waiting: set[str] = set()
        self.owner: dict[str, str] = {}
        self.desired: dict[str, dict[str, protocol.DesiredDevice]] = {}
        for hub in hubs:
            self.desired[hub.channel_id] = {}
            for device in hub.devices:
                self.owner[device.channel_id] = hub.channel_id
                self.desired[hub.channel_id][device.channel_id] = protocol.DesiredDevice(device.channel_id, 0)
        self.reported: dict[str, protocol.ReportedDevice] = {}
        self.outcomes: Counter[str] = Counter()
        self.sent_at: dict[tuple[str, int], float] = {}
        self.confirmed_at: dict[tuple[str, int], float] = {}

    def pin_seal(self, *, device: str, pin: str) -> str:
        return protocol.pin_seal(key=protocol.device_key(secret=self.secret, channel_id=device), pin=pin)

    def change(
        self,
        *,
        device: str,
        pins: Iterable[tuple[str, str]] = (),
        remotes: Iterable[protocol.DesiredRemote] = (),
        publish: bool = True,
    ) -> int:
        """Set a device's whole desired state (pins as (ref, PIN in clear)); bump its version; publish."""
        hub = self.owner[device]
        sealed = tuple(protocol.DesiredPin(ref, self.pin_seal(device=device, pin=pin)) for ref, pin in pins)
        with self.lock:
            version = self.desired[hub][device].version + 1
            self.desired[hub][device] = protocol.DesiredDevice(device, version, sealed, tuple(remotes))
        if publish:
            self._resend_now(hub)
        return version

    def desired_message(self, *, channel_id: str) -> protocol.Desired | None:
        with self.lock:
            devices = self.desired.get(channel_id)
            return None if devices is None else protocol.Desired(hub=channel_id, devices=tuple(devices.values()))

    def desired_resend(self, *, channel_id: str) -> None:
        """Publish the hub's whole desired state again (its `get`), in the pool when there is one."""
        if self._pool is None:
            self._resend_now(channel_id)
            return
        with self.lock:
            if channel_id in self._resend_waiting:
                return
            self._resend_waiting.add(channel_id)
        self._pool.submit(self._resend_now, channel_id)

    def _resend_now(self, channel_id: str) -> None:
        if self._pool is not None:
            with self.lock:
                self._resend_waiting.discard(channel_id)
        message = self.desired_message(channel_id=channel_id)
        if message is None:
            self.outcomes["get_unknown_hub"] += 1
            return
        now = time.perf_counter()
        with self.lock:
            for device in message.devices:
                self.sent_at.setdefault((device.device, device.version), now)
        self.transport.publish(channel_id=channel_id, payload=protocol.desired_encode(message))

    def report_record(self, *, channel_id: str, report: protocol.Reported) -> CloudOutcome:
        """Record each device's report; the whole report is refused (`rejected`, nothing recorded)
        when the hub does not own a device it names, as `services.report_record` refuses it."""
        now = time.perf_counter()
        with self.lock:
            if any(self.owner.get(device.device) != channel_id for device in report.devices):
                self.outcomes["refused"] += 1
                return CloudOutcome(rejected=True)
            for device in report.devices:
                last = self.reported.get(device.device)
                if last is not None and device.version < last.version:
                    self.outcomes["stale"] += 1
                    continue
                self.reported[device.device] = device
                self.outcomes["recorded"] += 1
                self.confirmed_at.setdefault((device.device, device.version), now)
        return CloudOutcome(rejected=False)

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True)

    def unconfirmed(self) -> list[str]:
        """Devices whose last recorded version is not their desired version."""
        with self.lock:
            return [
                device
                for devices in self.desired.values()
                for device, desired in devices.items()
                if (self.reported.get(device) or protocol.ReportedDevice(device, -1)).version != desired.version
            ]
