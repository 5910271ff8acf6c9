"""The device gateway: the long-running process that takes the hubs' reports and requests.

It subscribes to every hub's `reported` and `get` topics through a shared subscription
(`$share/msc-gateway/…`), so several gateways split the traffic, each message going to one of
them. Its MQTT v5 session is persistent (a fixed client id per instance, clean start off, a
session expiry): what arrives while it is away is kept by the broker for it. Messages are QoS 1
and acknowledged by hand, only once handled, so a gateway killed mid-message gets it again
when it reconnects; a handler that fails (the database away) is retried, then the gateway
reconnects without acknowledging, which makes the broker deliver it again.

A message is refused (logged, acknowledged, dropped) when it is malformed or when the hub it
names is not the channel whose topic it came on: a hub can only publish on its own topics
(broker ACL), so a payload naming another hub is forged or broken. What a report means for our
records is decided by the handlers, by default `smarthome.sync.services.reports_record` and
`desired_resends`, imported when first called. A report handler returns what it did for each
report; one whose `rejected` is true (`ReportOutcome`: a device not behind the channel, an unknown
channel) was refused by our records: the gateway logs it and counts it `refused`, and acknowledges
it (the same report again would be refused again).

Reports are recorded in batches: what arrives while the network has more to read (up to
`batch_max` messages, none waiting longer than `batch_wait` seconds) goes to the report handler in
one call, one database transaction, and is acknowledged, in the order received, after it commits;
the `get`s received together go to their handler in one call as well.
A lone report is handled at once. A batch that fails is recorded again one report at a time, so a
poisoned report fails alone; from the first report that keeps failing on, nothing is acknowledged
and the broker delivers it all again. The gateway asks the broker (MQTT v5 Receive Maximum) for
up to two batches unacknowledged at a time, so the next batch arrives while one is recorded.
"""

from __future__ import annotations

import logging
import time
from collections import Counter
from collections.abc import Callable, Sequence
from typing import Any

from paho.mqtt.client import Client, MQTTMessage
from paho.mqtt.enums import MQTTErrorCode
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties
from paho.mqtt.reasoncodes import ReasonCode
from paho.mqtt.subscribeoptions import SubscribeOptions

from . import protocol
from .broker import BrokerAddress, mqtt_client
from .recorder import (
    HANDLER_ATTEMPTS,
    HANDLER_RETRY_SECONDS,
    MAX_DELIVERIES,
    Outcome,
    Received,
    Recorder,
    RecorderProcess,
    RecorderThread,
    ReportsHandler,
    ResendsHandler,
)

__all__ = [
    "BATCH_MAX",
    "HANDLER_ATTEMPTS",
    "HANDLER_RETRY_SECONDS",
    "MAX_DELIVERIES",
    "Gateway",
    "Outcome",
    "Received",
    "per_channel",
    "per_report",
]

logger = logging.getLogger(__name__)

SHARE_GROUP = "msc-gateway"
SESSION_EXPIRY_SECONDS = 24 * 3600
KEEPALIVE_SECONDS = 30
RECONNECT_MAX_SECONDS = 30.0
SUMMARY_SECONDS = 300.0
# Reports recorded in one transaction, and the longest a received one waits for its batch to fill.
BATCH_MAX = 200
BATCH_WAIT_SECONDS = 0.05

ReportHandler = Callable[..., Any]  # (*, channel_id: str, report: protocol.Reported) -> an outcome
ResendHandler = Callable[..., Any]  # (*, channel_id: str) -> None


def reports_record_default(*, reports: list[tuple[str, protocol.Reported]]) -> Sequence[Any]:
    """Record a batch of reports through the sync services (imported here: the transport needs no models)."""
    from django.db import close_old_connections

    from smarthome.sync.services import reports_record  # type: ignore[import-not-found,unused-ignore]

    close_old_connections()  # as around a request: a connection the database dropped is replaced
    return reports_record(reports=reports)


def per_report(handler: ReportHandler) -> ReportsHandler:
    """A reports handler that hands each report of a batch to `handler`, one call each."""

    def handle(*, reports: list[tuple[str, protocol.Reported]]) -> list[Any]:
        return [handler(channel_id=channel_id, report=report) for channel_id, report in reports]

    return handle


def desired_resends_default(*, channel_ids: list[str]) -> None:
    """Queue the whole desired state again for hubs that sent "get" (answered in batches by a worker)."""
    from django.db import close_old_connections

    from smarthome.sync.services import desired_resends  # type: ignore[import-not-found,unused-ignore]

    close_old_connections()
    desired_resends(channel_ids=channel_ids)


def per_channel(handler: ResendHandler) -> ResendsHandler:
    """A `get` handler that hands each channel of a batch to `handler`, one call each."""

    def handle(*, channel_ids: list[str]) -> None:
        for channel_id in channel_ids:
            handler(channel_id=channel_id)

    return handle


def lagging_republish_default() -> None:
    """Queue the lag sweep (`smarthome.desired_lagging_run`): what hubs reported while the gateway
    was away from a restarted broker may be lost (see `Gateway._on_subscribe`)."""
    from smarthome.tasks import desired_lagging_run  # type: ignore[import-not-found,unused-ignore]

    try:
        desired_lagging_run.delay()
    except Exception as exc:  # noqa: BLE001 - the beat sweep runs it anyway within 5 minutes
        logger.warning("device gateway: lag sweep not queued (%s)", type(exc).__name__)


class Gateway:
    """One gateway instance. `run()` blocks until `stop()` (a signal handler may call it)."""

    def __init__(
        self,
        *,
        address: BrokerAddress,
        prefix: str,
        client_id: str,
        on_reports: ReportsHandler = reports_record_default,
        on_gets: ResendsHandler = desired_resends_default,
        on_resubscribed: Callable[[], None] | None = lagging_republish_default,
        share_group: str | None = SHARE_GROUP,
        session_expiry: int = SESSION_EXPIRY_SECONDS,
        handler_attempts: int = HANDLER_ATTEMPTS,
        handler_retry_seconds: float = HANDLER_RETRY_SECONDS,
        batch_max: int = BATCH_MAX,
        batch_wait: float = BATCH_WAIT_SECONDS,
        recorder_process: bool = False,
        recorder_setup: Callable[[], None] | None = None,
    ) -> None:
        self.address = address
        self.prefix = prefix
        self.client_id = client_id
        self.on_resubscribed = on_resubscribed
        self._subscribed_before = False
        self.share_group = share_group
        self.session_expiry = session_expiry
        self.handler_retry_seconds = handler_retry_seconds
        self.batch_max = max(1, batch_max)
        self.batch_wait = batch_wait
        self._received: list[Received] = []
        self._arrivals = 0
        # What decides the messages, here for `messages_handle`, and where batches are recorded
        # beside the network loop (given back tagged with their connection's generation).
        self.recorder = Recorder(
            prefix=prefix,
            on_reports=on_reports,
            on_gets=on_gets,
            handler_attempts=handler_attempts,
            handler_retry_seconds=handler_retry_seconds,
        )
        self._recorder: RecorderThread | RecorderProcess
        if recorder_process:
            self._recorder = RecorderProcess(self.recorder, name=f"{client_id}-recorder", setup=recorder_setup)
        else:
            self._recorder = RecorderThread(self.recorder, name=f"{client_id}-recorder")
        self._outstanding = 0  # batches submitted, not yet acknowledged or settled (network loop only)
        self._generation = 0
        self.counts: Counter[str] = Counter()
        self.subscribed = False  # set once the broker granted both subscriptions
        self._stop_requested = False  # a plain flag: safe to set from a signal handler
        self._redeliver = False
        self.batches = 0  # batches acknowledged or settled
        self.settled = 0  # messages in them
        self._counts_logged: Counter[str] = Counter()
        self._next_summary = time.monotonic() + SUMMARY_SECONDS

    # Handling (no broker needed: the unit tests call it directly)
    # --------------------------------------------------------------------------

    def message_handle(self, *, topic: str, payload: bytes) -> Outcome:
        """Decode, check and hand one message to its handler; the outcome decides the acknowledgement."""
        return self.messages_handle([Received(topic=topic, payload=payload)])[0]

    def messages_handle(self, messages: list[Received]) -> list[Outcome]:
        """Decide each message (the recorder's `messages_handle`), in this thread."""
        return self.recorder.messages_handle(messages)

    # The MQTT side
    # --------------------------------------------------------------------------

    def _client_new(self) -> Client:
        client = mqtt_client(address=self.address, client_id=self.client_id, manual_ack=True)
        client.on_connect = self._on_connect
        client.on_subscribe = self._on_subscribe
        client.on_message = self._on_message
        return client

    def _on_connect(self, client: Client, userdata, flags, reason: ReasonCode, properties) -> None:
        if reason.is_failure:
            logger.error(
                "device gateway: broker %s:%s refused us: %s", self.address.host, self.address.port, reason.getName()
            )
            return
        self._redeliver = False
        logger.info(
            "device gateway %s connected to %s:%s (session %s)",
            self.client_id,
            self.address.host,
            self.address.port,
            "resumed" if flags.session_present else "new",
        )
        options = SubscribeOptions(qos=1)
        client.subscribe(
            [
                (protocol.subscription(prefix=self.prefix, kind="reported", share_group=self.share_group), options),
                (protocol.subscription(prefix=self.prefix, kind="get", share_group=self.share_group), options),
            ]
        )

    def _on_subscribe(self, client: Client, userdata, mid: int, reasons: list[ReasonCode], properties) -> None:
        refused = [r.getName() for r in reasons if r.is_failure]
        if refused:
            logger.error("device gateway: the broker refused our subscriptions: %s", ", ".join(refused))
            return
        self.subscribed = True
        if self._subscribed_before and self.on_resubscribed is not None:
            # Back after losing the broker: Mosquitto 2.0 drops what hubs publish on a shared
            # subscription between its restart and our SUBSCRIBE, so reports may be lost. The hubs
            # ask again for a lost `get`; for a lost report, publish every lagging channel again now
            # (each hub then reports what it holds) rather than at the next 5-minute beat.
            try:
                self.on_resubscribed()
            except Exception:  # the beat sweep repairs it later; the gateway must keep running
                logger.exception("device gateway: the lag sweep after re-subscribing failed")
        self._subscribed_before = True

    def _on_message(self, client: Client, userdata, message: MQTTMessage) -> None:
        if self._redeliver:
            return  # behind a failed message: not acknowledged, the broker delivers it again
        self._arrivals += 1
        self._received.append(
            Received(
                topic=message.topic,
                payload=bytes(message.payload),
                mid=message.mid,
                qos=message.qos,
                at=time.monotonic(),
            )
        )

    def _flush(self, client: Client) -> None:
        """Handle what was received and acknowledge it (in this thread: the unit tests' way in)."""
        received, self._received = self._received, []
        self.messages_handle(received)
        self._acknowledge(client, received)

    def _acknowledge(self, client: Client | None, batch: list[Received]) -> None:
        """Count a handled batch and acknowledge it in the order received, up to the first message
        that failed (it and what follows it are delivered again). No client: only counted (its
        connection is gone; the resumed session delivers it again)."""
        for message in batch:
            outcome = message.outcome or Outcome.DEFERRED
            self.counts[outcome] += 1
            if client is None:
                continue
            if outcome in (Outcome.FAILED, Outcome.DEFERRED):
                self._redeliver = True
            if not self._redeliver:
                client.ack(message.mid, message.qos)

    # The recorder: batches are recorded in a thread or a process of their own while the network
    # loop reads the next one; acknowledgements are sent by the network loop.
    # --------------------------------------------------------------------------

    def _submit(self) -> None:
        batch, self._received = self._received, []
        self._outstanding += 1
        self._recorder.submit(self._generation, batch)

    def _settled(self, generation: int, batch: list[Received], client: Client | None) -> None:
        self._outstanding -= 1
        self.batches += 1
        self.settled += len(batch)
        self._acknowledge(client if generation == self._generation else None, batch)

    def _acks_send(self, client: Client, *, wait: bool = False) -> None:
        """Acknowledge the batches the recorder finished, in order; `wait`: until none is outstanding."""
        while self._outstanding:
            finished = self._recorder.finished(0.05 if wait else 0)
            if finished is None:
                if not wait:
                    return
                client.loop(timeout=0.0)  # keep the connection alive while the last batch records
                continue
            self._settled(*finished, client)

    def _recorder_settle(self) -> None:
        """Before connecting again: wait for the batches of the connection that is gone, count them
        without acknowledging (their message ids were that connection's), start a new generation."""
        while self._outstanding:
            finished = self._recorder.finished(None)
            if finished is not None:
                self._settled(*finished, None)
        self._generation += 1

    def run(self) -> None:
        """Connect, subscribe, handle messages until `stop()`; reconnect with backoff when the broker goes."""
        client = self._client_new()
        properties = Properties(PacketTypes.CONNECT)
        properties.SessionExpiryInterval = self.session_expiry
        properties.ReceiveMaximum = min(2 * self.batch_max, 65535)  # one batch arriving while one is recorded
        delay = 1.0
        connected_once = False
        self._recorder.start()
        while not self._stop_requested:
            self._recorder_settle()
            try:
                if connected_once:
                    client.reconnect()
                else:
                    client.connect(
                        self.address.host,
                        self.address.port,
                        keepalive=KEEPALIVE_SECONDS,
                        clean_start=False,
                        properties=properties,
                    )
                    connected_once = True
            except OSError as exc:
                logger.warning(
                    "device gateway: broker %s:%s unreachable (%s), retrying in %.0f s",
                    self.address.host,
                    self.address.port,
                    exc,
                    delay,
                )
                self._sleep(delay)
                delay = min(delay * 2, RECONNECT_MAX_SECONDS)
                continue
            self._loop(client)
            if client.is_connected():
                delay = 1.0
            self.subscribed = False
            if self._redeliver:
                # Away and back without acknowledging: the broker delivers the message again.
                client.disconnect()
                client.loop(0.1)
                self._sleep(self.handler_retry_seconds)
                self._redeliver = False
            elif not self._stop_requested:
                logger.warning(
                    "device gateway: lost the broker %s:%s, reconnecting in %.0f s",
                    self.address.host,
                    self.address.port,
                    delay,
                )
                self._sleep(delay)
                delay = min(delay * 2, RECONNECT_MAX_SECONDS)
        self._recorder_settle()
        self._recorder.stop()
        if client.is_connected():
            # The session stays (its expiry): a restarted instance picks up what came meanwhile.
            client.disconnect()
            client.loop(0.2)
        logger.info(
            "device gateway %s stopped: %s",
            self.client_id,
            ", ".join(f"{count} {name}" for name, count in sorted(self.counts.items())) or "no messages",
        )

    def _loop(self, client: Client) -> None:
        """Run the network loop until the connection drops, a message needs redelivery, or a stop.

        Each turn reads at most one message; received messages go to the recorder once the network
        has nothing more to read, the batch is full, or its first message has waited `batch_wait`;
        what the recorder finished is acknowledged on the next turn."""
        while not self._stop_requested and not self._redeliver:
            arrivals = self._arrivals
            timeout = 0.0 if self._received else (0.005 if self._outstanding else 0.2)
            if client.loop(timeout=timeout) != MQTTErrorCode.MQTT_ERR_SUCCESS or not self._read_on(client, arrivals):
                self._received.clear()  # never acknowledged: the resumed session delivers them again
                return
            if self._received and (
                self._arrivals == arrivals
                or len(self._received) >= self.batch_max
                or time.monotonic() - self._received[0].at >= self.batch_wait
            ):
                self._submit()
            self._acks_send(client)
            if time.monotonic() >= self._next_summary:
                self._summary_log()
        if client.is_connected() and not self._redeliver:
            # A stop: what was taken is recorded and acknowledged before leaving.
            if self._received:
                self._submit()
            self._acks_send(client, wait=True)
            client.loop(timeout=0.1)  # the last acknowledgements out

    def _read_on(self, client: Client, arrivals: int) -> bool:
        """After a turn that brought a message, read what is already buffered without a select()
        and keep-alive check per message (paho's `loop_read`), up to a full batch. False when the
        connection dropped."""
        while arrivals != self._arrivals and len(self._received) < self.batch_max:
            arrivals = self._arrivals
            if client.loop_read() != MQTTErrorCode.MQTT_ERR_SUCCESS:
                return False
        return True

    def _summary_log(self) -> None:
        """What this instance did since the last summary (one INFO line every SUMMARY_SECONDS)."""
        since = self.counts - self._counts_logged
        if since:
            logger.info(
                "device gateway %s, last %.0f s: %s",
                self.client_id,
                SUMMARY_SECONDS,
                ", ".join(f"{count} {name}" for name, count in sorted(since.items())),
            )
        self._counts_logged = self.counts.copy()
        self._next_summary = time.monotonic() + SUMMARY_SECONDS

    def _sleep(self, seconds: float) -> None:
        deadline = time.monotonic() + seconds
        while not self._stop_requested and time.monotonic() < deadline:
            time.sleep(min(0.1, seconds))

    def stop(self) -> None:
        """Ask `run()` to return once what was taken is recorded and acknowledged (safe from a signal handler)."""
        self._stop_requested = True
