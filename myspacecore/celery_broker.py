"""The Redis broker transport: kombu's own, publishing through one client per channel.

For every message it sends, kombu's Redis channel makes a new `redis.Redis` object over the
channel's connection pool (`Channel.conn_or_acquire`), and redis-py builds the ~170 response
callbacks of each new client: a fifth of `apply_async`'s CPU, on every sign-in code sent
(0.43-0.48 -> 0.35-0.37 ms per task sent, alternated; bench/README.md "Peer"). Here the channel keeps one such client
for those calls: the same commands, on the same pool's connections, with the same errors
when the broker is down. A client holds no connection of its own (its pool lends one per
command), so one client serving all of a channel's calls is how redis-py is meant to be used;
the channel's polling client (`Channel.client`, BRPOP) stays kombu's.

Used for `redis://` broker URLs (`CELERY_BROKER_TRANSPORT`, settings): kombu gives `rediss://`
its TLS defaults by the scheme's name, so a TLS broker keeps kombu's transport as it is.
"""

from __future__ import annotations

from contextlib import contextmanager
from functools import cached_property

from kombu.transport import redis


class Channel(redis.Channel):
    @cached_property
    def _kept_client(self):
        return self._create_client()

    @contextmanager
    def conn_or_acquire(self, client=None):
        yield client if client else self._kept_client


class Transport(redis.Transport):
    Channel = Channel
