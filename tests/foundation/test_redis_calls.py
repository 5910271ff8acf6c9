"""`redis_call` and `redis_calls_batched` (myspacecore.core.cache_clients): writes nobody reads the
answer of, sent at once, or together in one pipeline per client at the end of a block.

A fake client stands for redis-py here (what is queued, what is sent, what fails); the same
calls on the real server: tests/integration/test_redis_calls_batched.py.
"""

from __future__ import annotations

import pytest

from myspacecore.core.cache_clients import redis_call, redis_calls_batched


class FakePipeline:
    def __init__(self, client: FakeClient) -> None:
        self.client = client
        self.queued: list[tuple[str, str]] = []

    def __len__(self) -> int:
        return len(self.queued)

    def set(self, key: str, value: str) -> FakePipeline:
        self.queued.append(("set", key, value))
        return self

    def execute(self, raise_on_error: bool = True) -> list:
        assert raise_on_error is False
        if self.client.down:
            raise ConnectionError("unreachable")
        self.client.round_trips += 1
        return [self.client.apply(*command) for command in self.queued]


class FakeClient:
    """`set` of a key named "bad…" answers an error, as a command the server refuses."""

    def __init__(self, *, down: bool = False) -> None:
        self.down = down
        self.data: dict[str, str] = {}
        self.round_trips = 0
        self.pipelines = 0

    def apply(self, name: str, key: str, value: str):
        if key.startswith("bad"):
            return ValueError(f"refused {key}")
        self.data[key] = value
        return True

    def set(self, key: str, value: str) -> bool:
        if self.down:
            raise ConnectionError("unreachable")
        self.round_trips += 1
        result = self.apply("set", key, value)
        if isinstance(result, Exception):
            raise result
        return result

    def pipeline(self, transaction: bool = True) -> FakePipeline:
        assert transaction is False  # each call stands alone, no MULTI / EXEC
        self.pipelines += 1
        return FakePipeline(self)


def setting(key: str, value: str = "1"):
    return lambda client: client.set(key, value)


def test_outside_a_block_a_call_is_sent_at_once():
    client, errors = FakeClient(), []

    redis_call(client, setting("a"), on_error=errors.append)

    assert client.data == {"a": "1"} and client.round_trips == 1 and client.pipelines == 0
    assert errors == []


def test_outside_a_block_a_failure_goes_to_on_error_never_to_the_caller():
    client, errors = FakeClient(down=True), []

    redis_call(client, setting("a"), on_error=errors.append)

    assert [type(error) for error in errors] == [ConnectionError]


def test_inside_a_block_nothing_is_sent_until_it_ends_then_all_in_one_round_trip():
    client, errors = FakeClient(), []

    with redis_calls_batched():
        for key in ("a", "b", "c"):
            redis_call(client, setting(key), on_error=errors.append)
        assert client.data == {} and client.round_trips == 0

    assert client.data == {"a": "1", "b": "1", "c": "1"}
    assert client.round_trips == 1 and client.pipelines == 1
    assert errors == []


def test_a_single_call_in_a_block_needs_no_pipeline():
    client = FakeClient()

    with redis_calls_batched():
        redis_call(client, setting("a"), on_error=pytest.fail)

    assert client.data == {"a": "1"} and client.pipelines == 0


def test_a_block_that_raises_still_sends_what_was_given_to_it():
    client = FakeClient()

    with pytest.raises(RuntimeError), redis_calls_batched():
        redis_call(client, setting("a"), on_error=pytest.fail)
        redis_call(client, setting("b"), on_error=pytest.fail)
        raise RuntimeError("the flow failed after its writes")

    assert client.data == {"a": "1", "b": "1"}


def test_a_block_inside_another_leaves_its_calls_to_the_outer_one():
    client = FakeClient()

    with redis_calls_batched():
        redis_call(client, setting("a"), on_error=pytest.fail)
        with redis_calls_batched():
            redis_call(client, setting("b"), on_error=pytest.fail)
        assert client.data == {}
        redis_call(client, setting("c"), on_error=pytest.fail)

    assert client.data == {"a": "1", "b": "1", "c": "1"} and client.round_trips == 1


def test_each_client_gets_its_own_pipeline():
    first, second = FakeClient(), FakeClient()

    with redis_calls_batched():
        for key in ("a", "b"):
            redis_call(first, setting(key), on_error=pytest.fail)
            redis_call(second, setting(key, "2"), on_error=pytest.fail)

    assert first.data == {"a": "1", "b": "1"} and second.data == {"a": "2", "b": "2"}
    assert (first.round_trips, second.round_trips) == (1, 1)


def test_a_refused_call_gets_its_own_error_and_the_others_are_applied():
    client, errors = FakeClient(), {}

    with redis_calls_batched():
        for key in ("a", "bad", "c"):
            redis_call(client, setting(key), on_error=lambda exc, key=key: errors.setdefault(key, exc))

    assert client.data == {"a": "1", "c": "1"}
    assert list(errors) == ["bad"] and str(errors["bad"]) == "refused bad"


def test_a_call_that_cannot_be_queued_fails_alone():
    client, errors = FakeClient(), []

    def broken(client):
        raise TypeError("cannot serialise")

    with redis_calls_batched():
        redis_call(client, setting("a"), on_error=pytest.fail)
        redis_call(client, broken, on_error=errors.append)
        redis_call(client, setting("c"), on_error=pytest.fail)

    assert client.data == {"a": "1", "c": "1"}
    assert [type(error) for error in errors] == [TypeError]


def test_a_server_that_cannot_be_reached_fails_every_call_of_its_pipeline_and_raises_nothing():
    client, errors = FakeClient(down=True), []

    with redis_calls_batched():
        for key in ("a", "b"):
            redis_call(client, setting(key), on_error=lambda exc, key=key: errors.append((key, type(exc))))

    assert errors == [("a", ConnectionError), ("b", ConnectionError)]
