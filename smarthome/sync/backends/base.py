"""What every device transport is: one call that hands a channel's desired state to the broker."""

from __future__ import annotations


class TransportUnavailable(Exception):
    """The message was not taken (broker down, refused, no acknowledgement in time): keep it, retry later."""


class Transport:
    """Publishes a channel's desired message; returns once the broker has it, or raises TransportUnavailable."""

    def publish(self, *, channel_id: str, payload: bytes) -> None:
        raise NotImplementedError
