"""The Redis broker transport (myspacecore/celery_broker.py): kombu's, one client per channel for what it sends."""

from __future__ import annotations

import pytest
from kombu import Connection

from myspacecore.celery_broker import Transport
from myspacecore.settings.base import broker_transport
from tests.conftest import require_service

REDIS = "redis://127.0.0.1:6379/15"


@pytest.mark.parametrize(
    ("url", "transport"),
    [
        ("redis://127.0.0.1:6379/0", "myspacecore.celery_broker:Transport"),
        ("redis://:secret@redis.internal:6380/2", "myspacecore.celery_broker:Transport"),
        ("rediss://redis.internal:6380/0?ssl_cert_reqs=required", None),  # kombu's TLS defaults
        ("sentinel://redis.internal:26379", None),
        ("memory://", None),
    ],
)
def test_only_a_plain_redis_broker_gets_the_transport(url, transport):
    assert broker_transport(url) == transport


@pytest.fixture
def channel():
    require_service("Redis", "127.0.0.1", 6379)
    with Connection(REDIS, transport=Transport) as connection:
        channel = connection.channel()
        yield channel
        channel.close()


def test_a_channel_sends_through_one_client(channel):
    with channel.conn_or_acquire() as first, channel.conn_or_acquire() as second:
        assert first is second
    assert first.connection_pool is channel.pool
    given = object()
    with channel.conn_or_acquire(given) as client:
        assert client is given  # a client kombu passes in (a pipeline's, the QoS's) is used as is


def test_messages_go_and_come_back_through_it():
    require_service("Redis", "127.0.0.1", 6379)
    with Connection(REDIS, transport=Transport) as connection:
        queue = connection.SimpleQueue("myspacecore-test-broker")
        try:
            for n in range(3):
                queue.put({"n": n})
            assert [queue.get(timeout=2).payload["n"] for _ in range(3)] == [0, 1, 2]
        finally:
            queue.queue.delete()
            queue.close()


def test_a_stopped_broker_fails_as_kombus_own_transport_does():
    from kombu.transport.redis import Transport as KombuTransport

    errors = []
    for transport in (Transport, KombuTransport):
        with Connection("redis://127.0.0.1:1/0", transport=transport, connect_timeout=1) as connection:
            with pytest.raises(Exception) as caught:  # compared below: whatever kombu raises
                connection.ensure_connection(max_retries=1, interval_start=0, interval_step=0)
            errors.append(type(caught.value))
    assert errors[0] is errors[1]
