"""A transport that only records what it was given (unit tests read `outbox`)."""

from __future__ import annotations

from dataclasses import dataclass

from . import base


@dataclass(frozen=True)
class Published:
    channel_id: str
    payload: bytes


# Every message published in this process; tests clear it. `unavailable` makes publish fail
# as a broker that is down would.
outbox: list[Published] = []
state = {"unavailable": False}


class Transport(base.Transport):
    def publish(self, *, channel_id: str, payload: bytes) -> None:
        if state["unavailable"]:
            raise base.TransportUnavailable("memory transport set unavailable")
        outbox.append(Published(channel_id=channel_id, payload=payload))
