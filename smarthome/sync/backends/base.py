"""The transport interface every backend implements, and the one error a publisher retries."""

from __future__ import annotations


class TransportUnavailable(Exception):
    """The broker (or the simulated hub) cannot take the message now: retry later with backoff."""


class Transport:
    """Publishes a channel's whole desired state (`protocol.desired_encode`) to that channel.

    Delivery is at least once: a message may arrive twice or late; the versions inside make
    that harmless. A backend raises TransportUnavailable for anything worth retrying.
    """

    def publish(self, *, channel_id: str, payload: bytes) -> None:
        raise NotImplementedError
