"""The production transport: desired state published with QoS 1 on the hub's own topic.

One connection per process, shared by its threads (a Celery worker's, a web process's) and
opened on first use; paho's network thread keeps it alive and reconnects it. `publish` returns
only once the broker has acknowledged the message (PUBACK); with the broker down, refusing or
silent past the timeout it raises TransportUnavailable, and the caller keeps the change for a
retry. A message whose PUBACK came late may still arrive: every desired message carries the
whole state and its versions, so a second copy changes nothing on the hub.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Sequence

from paho.mqtt.client import Client, ConnectFlags, DisconnectFlags, MQTTMessageInfo
from paho.mqtt.enums import MQTTErrorCode
from paho.mqtt.properties import Properties
from paho.mqtt.reasoncodes import ReasonCode

from smarthome.app_settings import app_settings

from .. import protocol
from ..broker import BrokerAddress, broker_address, client_id_new, mqtt_client
from . import base

logger = logging.getLogger(__name__)

CONNECT_TIMEOUT_SECONDS = 5.0
ACK_TIMEOUT_SECONDS = 5.0
KEEPALIVE_SECONDS = 30
# Unacknowledged messages paho keeps while the broker is away; past that, publish fails at once.
MAX_QUEUED = 1000
MAX_INFLIGHT = 100


class _Connection:
    """One paho client with its network thread; `connected` is set while the broker has us."""

    def __init__(self, address: BrokerAddress) -> None:
        self.address = address
        self.pid = os.getpid()
        self.connected = threading.Event()
        self.closing = False
        # The broker's refusals by message id (a PUBACK with a failure reason: not authorized, …).
        self.refusals: dict[int, ReasonCode] = {}
        self.client: Client = mqtt_client(address=address, client_id=client_id_new("msc-publisher"))
        self.client.max_queued_messages_set(MAX_QUEUED)
        # Threads of one process publish side by side: let their messages wait for PUBACKs together.
        self.client.max_inflight_messages_set(MAX_INFLIGHT)
        self.client.reconnect_delay_set(min_delay=1, max_delay=10)
        self.client.on_connect = self._on_connect
        self.client.on_disconnect = self._on_disconnect
        self.client.on_publish = self._on_publish
        self.client.connect_async(address.host, address.port, keepalive=KEEPALIVE_SECONDS, clean_start=True)
        self.client.loop_start()

    def _on_connect(self, client, userdata, flags: ConnectFlags, reason: ReasonCode, properties) -> None:
        if reason.is_failure:
            logger.warning(
                "device transport: broker %s:%s refused us (%s)", self.address.host, self.address.port, reason.getName()
            )
            return
        self.connected.set()

    def _on_disconnect(
        self, client, userdata, flags: DisconnectFlags, reason: ReasonCode, properties: Properties | None
    ) -> None:
        if self.connected.is_set() and not self.closing:
            logger.warning(
                "device transport: lost the broker %s:%s (%s), reconnecting",
                self.address.host,
                self.address.port,
                reason.getName(),
            )
        self.connected.clear()

    def _on_publish(self, client, userdata, mid: int, reason: ReasonCode, properties) -> None:
        # Runs before paho marks the message published, so `publish` below sees it.
        if reason.is_failure:
            self.refusals[mid] = reason
        else:
            self.refusals.pop(mid, None)

    def close(self) -> None:
        self.closing = True
        self.client.disconnect()
        self.client.loop_stop()


_lock = threading.Lock()
_connection: _Connection | None = None


def _shared_connection(address: BrokerAddress) -> _Connection:
    """This process's connection to `address` (a forked child opens its own: sockets do not fork)."""
    global _connection
    with _lock:
        if _connection is None or _connection.pid != os.getpid() or _connection.address != address:
            if _connection is not None and _connection.pid == os.getpid():
                _connection.close()
            _connection = _Connection(address)
        return _connection


def connection_close() -> None:
    """Close this process's connection (tests, and a worker shutting down)."""
    global _connection
    with _lock:
        if _connection is not None and _connection.pid == os.getpid():
            _connection.close()
        _connection = None


class Transport(base.Transport):
    def __init__(self, *, url: str | None = None, prefix: str | None = None, timeout: float = ACK_TIMEOUT_SECONDS):
        self.address = broker_address(url if url is not None else app_settings.MQTT_URL)
        self.prefix = prefix if prefix is not None else app_settings.MQTT_TOPIC_PREFIX
        self.timeout = timeout

    def publish(self, *, channel_id: str, payload: bytes) -> None:
        """Publish `payload` on the channel's desired topic (QoS 1); return once the broker acknowledged it."""
        connection = self._connected()
        info = self._send(connection, channel_id, payload)
        self._acknowledged(connection, info, deadline=time.monotonic() + self.timeout)

    def publish_many(self, *, messages: Sequence[tuple[str, bytes]]) -> list[str]:
        """Publish every message, then wait for their acknowledgements together (one timeout for
        all): the channels whose message the broker did not acknowledge are returned."""
        connection = self._connected()
        sent: list[tuple[str, MQTTMessageInfo]] = []
        failed: list[str] = []
        for channel_id, payload in messages:
            try:
                sent.append((channel_id, self._send(connection, channel_id, payload)))
            except base.TransportUnavailable:
                failed.append(channel_id)
        deadline = time.monotonic() + self.timeout
        for channel_id, info in sent:
            try:
                self._acknowledged(connection, info, deadline=deadline)
            except base.TransportUnavailable as exc:
                logger.warning("device transport: desired state of channel %s not acknowledged (%s)", channel_id, exc)
                failed.append(channel_id)
        return failed

    def _connected(self) -> _Connection:
        connection = _shared_connection(self.address)
        if not connection.connected.wait(min(self.timeout, CONNECT_TIMEOUT_SECONDS)):
            raise base.TransportUnavailable(f"broker {self.address.host}:{self.address.port} not connected")
        return connection

    def _send(self, connection: _Connection, channel_id: str, payload: bytes) -> MQTTMessageInfo:
        name = protocol.topic(prefix=self.prefix, channel_id=channel_id, kind="desired")
        info = connection.client.publish(name, payload, qos=1)
        if info.rc == MQTTErrorCode.MQTT_ERR_QUEUE_SIZE:
            raise base.TransportUnavailable("too many messages waiting for the broker")
        return info

    def _acknowledged(self, connection: _Connection, info: MQTTMessageInfo, *, deadline: float) -> None:
        try:
            info.wait_for_publish(max(0.0, deadline - time.monotonic()))
        except (RuntimeError, ValueError) as exc:
            raise base.TransportUnavailable(f"publish failed: {exc}") from exc
        if not info.is_published():
            raise base.TransportUnavailable(f"no acknowledgement from the broker within {self.timeout:g} s")
        refusal = connection.refusals.pop(info.mid, None)
        if refusal is not None:
            raise base.TransportUnavailable(f"the broker refused the message: {refusal.getName()}")
