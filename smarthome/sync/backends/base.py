"""The transport interface every backend implements, and the one error a publisher retries."""

from __future__ import annotations

from collections.abc import Sequence


class TransportUnavailable(Exception):
    """The broker (or the simulated hub) cannot take the message now: retry later with backoff."""


class Transport:
    """Publishes a channel's whole desired state (`protocol.desired_encode`) to that channel.

    Delivery is at least once: a message may arrive twice or late; the versions inside make
    that harmless. A backend raises TransportUnavailable for anything worth retrying.
    """

    def publish(self, *, channel_id: str, payload: bytes) -> None:
        raise NotImplementedError

    def publish_many(self, *, messages: Sequence[tuple[str, bytes]]) -> list[str]:
        """Publish each (channel id, payload); return the channel ids whose message the transport
        could not take (the caller retries those). One at a time unless a backend does better."""
        failed = []
        for channel_id, payload in messages:
            try:
                self.publish(channel_id=channel_id, payload=payload)
            except TransportUnavailable:
                failed.append(channel_id)
        return failed
