"""The device channel's transport pieces without a broker: the gateway's handling and refusals,
the broker URL, Mosquitto's password and ACL files, provisioning, the in-memory cloud."""

from __future__ import annotations

import base64
import hashlib
import threading

import pytest
from django.core.management import CommandError, call_command

from smarthome.sync import broker, gateway, protocol
from smarthome.sync.backends import mqtt as mqtt_backend
from smarthome.sync.backends.base import Transport, TransportUnavailable
from smarthome.sync.simulator import MemoryCloud

PREFIX = "msc/v1"
HUB = "hub-0000001"
LOCK = "lock-000001"


def report(hub=HUB, version=2):
    return protocol.reported_encode(
        protocol.Reported(
            hub=hub, devices=(protocol.ReportedDevice(LOCK, version, (protocol.ReportedItem("p1", "set"),)),)
        )
    )


class Calls:
    def __init__(self, fail_times=0):
        self.calls: list[dict] = []
        self.fail_times = fail_times

    def __call__(self, **kwargs):
        self.calls.append(kwargs)
        if len(self.calls) <= self.fail_times:
            raise ConnectionError("database unavailable")


def gateway_for(on_report=None, on_get=None):
    return gateway.Gateway(
        address=broker.broker_address("mqtt://127.0.0.1:1"),
        prefix=PREFIX,
        client_id="msc-gateway-unit",
        on_reports=gateway.per_report(on_report or Calls()),
        on_gets=gateway.per_channel(on_get or Calls()),
        on_resubscribed=None,
        handler_retry_seconds=0,
    )


# The gateway's handling
# ------------------------------------------------------------------------------


def test_a_report_on_its_own_hub_topic_goes_to_the_report_handler_decoded():
    calls = Calls()
    outcome = gateway_for(on_report=calls).message_handle(topic=f"{PREFIX}/hubs/{HUB}/reported", payload=report())
    assert outcome is gateway.Outcome.HANDLED
    assert calls.calls == [{"channel_id": HUB, "report": protocol.reported_decode(report())}]


def test_a_get_goes_to_the_resend_handler():
    calls = Calls()
    outcome = gateway_for(on_get=calls).message_handle(
        topic=f"{PREFIX}/hubs/{HUB}/get", payload=protocol.get_encode(hub=HUB)
    )
    assert outcome is gateway.Outcome.HANDLED and calls.calls == [{"channel_id": HUB}]


def test_a_payload_naming_another_hub_than_its_topic_is_refused_and_logged(caplog):
    calls = Calls()
    outcome = gateway_for(on_report=calls).message_handle(
        topic=f"{PREFIX}/hubs/{HUB}/reported", payload=report(hub="hub-0000002")
    )
    assert outcome is gateway.Outcome.REFUSED and calls.calls == []
    assert "naming hub hub-0000002" in caplog.text


def test_a_report_our_records_refuse_is_counted_refused_and_logged(caplog):
    from smarthome.sync.services import ReportOutcome

    subject = gateway_for(on_report=lambda **kwargs: ReportOutcome(rejected=True))
    outcome = subject.message_handle(topic=f"{PREFIX}/hubs/{HUB}/reported", payload=report())
    assert outcome is gateway.Outcome.REFUSED
    assert f"our records refused the report on {PREFIX}/hubs/{HUB}/reported" in caplog.text
    accepted = gateway_for(on_report=lambda **kwargs: ReportOutcome(applied=(LOCK,)))
    assert accepted.message_handle(topic=f"{PREFIX}/hubs/{HUB}/reported", payload=report()) is gateway.Outcome.HANDLED


class Granted:
    is_failure = False


def test_the_lag_sweep_is_queued_on_subscribing_again_after_a_lost_broker_not_on_the_first_start():
    sweeps: list[bool] = []
    subject = gateway.Gateway(
        address=broker.broker_address("mqtt://127.0.0.1:1"),
        prefix=PREFIX,
        client_id="msc-gateway-unit",
        on_reports=gateway.per_report(Calls()),
        on_gets=gateway.per_channel(Calls()),
        on_resubscribed=lambda: sweeps.append(True),
    )
    subject._on_subscribe(None, None, 1, [Granted(), Granted()], None)
    assert subject.subscribed and sweeps == []
    subject._on_subscribe(None, None, 2, [Granted(), Granted()], None)  # back after losing the broker
    assert sweeps == [True]


@pytest.mark.parametrize(
    ("topic", "payload"),
    [
        (f"{PREFIX}/hubs/{HUB}/reported", b"{not json"),
        (f"{PREFIX}/hubs/{HUB}/reported", protocol.get_encode(hub=HUB)),
        (f"{PREFIX}/hubs/{HUB}/desired", report()),
        (f"other/hubs/{HUB}/reported", report()),
        (f"{PREFIX}/hubs/{HUB}/get", b""),
    ],
)
def test_malformed_messages_are_dropped_without_calling_a_handler(topic, payload):
    reports, gets = Calls(), Calls()
    outcome = gateway_for(on_report=reports, on_get=gets).message_handle(topic=topic, payload=payload)
    assert outcome is gateway.Outcome.MALFORMED
    assert reports.calls == [] and gets.calls == []


def test_a_failing_handler_is_retried_then_the_message_is_left_unacknowledged():
    calls = Calls(fail_times=3)
    subject = gateway_for(on_report=calls)
    outcome = subject.message_handle(topic=f"{PREFIX}/hubs/{HUB}/reported", payload=report())
    assert outcome is gateway.Outcome.FAILED and len(calls.calls) == subject.recorder.handler_attempts
    # The redelivered copy succeeds.
    assert subject.message_handle(topic=f"{PREFIX}/hubs/{HUB}/reported", payload=report()) is gateway.Outcome.HANDLED


def test_a_message_failing_through_every_delivery_is_given_up_and_logged(caplog):
    calls = Calls(fail_times=10**6)
    subject = gateway_for(on_report=calls)
    outcomes = [
        subject.message_handle(topic=f"{PREFIX}/hubs/{HUB}/reported", payload=report())
        for _ in range(gateway.MAX_DELIVERIES)
    ]
    assert outcomes == [gateway.Outcome.FAILED] * (gateway.MAX_DELIVERIES - 1) + [gateway.Outcome.GAVE_UP]
    assert "gave up" in caplog.text


def test_the_gateway_command_refuses_a_broker_url_it_cannot_use(settings):
    settings.SMARTHOME_MQTT_URL = "http://broker.example:1883"
    with pytest.raises(CommandError, match="SMARTHOME_MQTT_URL"):
        call_command("device_gateway")


@pytest.mark.parametrize("size", ["0", "10001"])
def test_the_gateway_command_refuses_a_batch_size_out_of_range(settings, size):
    settings.SMARTHOME_MQTT_URL = "mqtt://127.0.0.1:1"
    with pytest.raises(CommandError, match="--batch-size"):
        call_command("device_gateway", "--batch-size", size)


# The broker URL and the client
# ------------------------------------------------------------------------------


def test_broker_url_plain_and_tls_with_credentials():
    plain = broker.broker_address("mqtt://127.0.0.1")
    assert (plain.host, plain.port, plain.tls, plain.username) == ("127.0.0.1", 1883, False, None)
    tls = broker.broker_address("mqtts://msc-gateway:p%40ss%3Aword@broker.example")
    assert (tls.host, tls.port, tls.tls, tls.username, tls.password) == (
        "broker.example",
        8883,
        True,
        "msc-gateway",
        "p@ss:word",
    )
    assert "p@ss" not in repr(tls)


def test_broker_url_names_the_ca_bundle_to_trust_for_tls(tmp_path):
    bundle = tmp_path / "ca.pem"
    bundle.write_text("-----BEGIN CERTIFICATE-----")
    assert broker.broker_address(f"mqtts://broker.example?ca={bundle}").ca_file == str(bundle)
    assert broker.broker_address("mqtts://broker.example").ca_file is None


@pytest.mark.parametrize(
    "url",
    [
        "",
        "http://host",
        "mqtt://",
        "mqtt://host:notaport",
        "tcp://host:1883",
        "mqtt://host?ca=/etc/hostname",
        "mqtts://host?ca=/no/such/ca.pem",
        "mqtts://host?insecure=1",
        "mqtts://host?ca=/etc/hostname&ca=/etc/hostname",
    ],
)
def test_a_broker_url_that_is_not_mqtt_is_refused(url):
    with pytest.raises(broker.BrokerUrlError):
        broker.broker_address(url)


def test_the_base_transport_is_abstract():
    with pytest.raises(NotImplementedError):
        Transport().publish(channel_id=HUB, payload=b"")


def test_the_mqtt_transport_raises_unavailable_when_nothing_listens():
    transport = mqtt_backend.Transport(url="mqtt://127.0.0.1:1", timeout=0.3)
    try:
        with pytest.raises(TransportUnavailable, match="not connected"):
            transport.publish(channel_id=HUB, payload=b"x")
    finally:
        mqtt_backend.connection_close()


# Mosquitto's files
# ------------------------------------------------------------------------------


def test_password_hash_is_mosquitto_2_pbkdf2_sha512_format():
    # A line `mosquitto_passwd -c -b file alice secret` wrote (Mosquitto 2.0.11): our hash of
    # "secret" with its salt is the same string.
    line = (
        "$7$101$AwwAvE3x/uEj4jyU$"
        "RpOiwVg+6BJX+OKkPbmGQZaU+86MhfGoHuv1k5oLlwZgAy9UBkrro/pywlaI2gk6jvqRGJ7a4wBKQ5CzNAI3HQ=="
    )
    salt = base64.b64decode(line.split("$")[3])
    assert broker.password_hash("secret", salt=salt) == line


def test_password_hashes_are_salted_per_user():
    first, second = broker.password_hash("same"), broker.password_hash("same")
    assert first != second and first.startswith("$7$101$")
    _, _, rounds, salt, digest = first.split("$")
    expected = hashlib.pbkdf2_hmac("sha512", b"same", base64.b64decode(salt), int(rounds))
    assert base64.b64decode(digest) == expected


@pytest.mark.parametrize(
    "credentials", [[("a:b", "pw")], [("", "pw")], [("hub-0000001", "pw"), ("hub-0000001", "pw2")], [("u", "")]]
)
def test_password_file_refuses_what_mosquitto_could_not_read(credentials):
    with pytest.raises(ValueError):
        broker.password_file_text(credentials)


def test_acl_gives_each_hub_its_own_topics_and_the_gateway_all_reports():
    acl = broker.acl_file_text(prefix=PREFIX, gateway_username="gw-user").splitlines()
    assert acl[acl.index("user gw-user") + 1 : acl.index("user gw-user") + 4] == [
        "topic read msc/v1/hubs/+/reported",
        "topic read msc/v1/hubs/+/get",
        "topic write msc/v1/hubs/+/desired",
    ]
    patterns = [line for line in acl if line.startswith("pattern")]
    assert patterns == [
        "pattern read msc/v1/hubs/%u/desired",
        "pattern write msc/v1/hubs/%u/reported",
        "pattern write msc/v1/hubs/%u/get",
    ]
    assert not any("readwrite" in line or "#" in line.split(" ")[-1] for line in acl if not line.startswith("#"))


def test_provisioning_round_trips_and_derives_keys_as_our_side_does():
    hubs = broker.provisioning_new(hubs=2, locks_per_hub=2, secret="s3cret", slots=12)
    loaded = broker.provisioning_load(broker.provisioning_dump(hubs))
    assert loaded == hubs
    lock = loaded[0].devices[1]
    assert (lock.kind, lock.slots) == ("smart_lock", 12)
    assert lock.key == protocol.device_key(secret="s3cret", channel_id=lock.channel_id).decode()
    assert loaded[0].devices[0].channel_id == loaded[0].channel_id  # the hub is its own remotes' device
    assert loaded[0].password not in repr(loaded[0])


@pytest.mark.parametrize(
    "text",
    [
        "",
        "[]",
        '{"hubs": [{"channel_id": "short", "password": "x", "devices": []}]}',
        '{"hubs": [{"channel_id": "hub-0000001", "devices": []}]}',
        '{"hubs": [{"channel_id": "hub-0000001", "password": "x", "devices": [{"channel_id": "lock-000001", '
        '"key": "k", "slots": 0}]}]}',
    ],
)
def test_a_broken_provisioning_file_is_refused_whole(text):
    with pytest.raises(ValueError):
        broker.provisioning_load(text)


# The in-memory cloud of the tests and the benchmark
# ------------------------------------------------------------------------------


class Published(Transport):
    def __init__(self):
        self.messages: list[tuple[str, bytes]] = []

    def publish(self, *, channel_id, payload):
        self.messages.append((channel_id, payload))


def cloud():
    hubs = broker.provisioning_new(hubs=2, secret="s3cret")
    return MemoryCloud(transport=Published(), hubs=hubs, secret="s3cret"), hubs


def test_memory_cloud_publishes_the_whole_hub_state_with_a_bumped_version_and_sealed_pins():
    subject, hubs = cloud()
    lock = hubs[0].devices[1]
    assert subject.change(device=lock.channel_id, pins=[("p1", "4821")]) == 1
    ((channel, payload),) = subject.transport.messages
    message = protocol.desired_decode(payload)
    assert channel == hubs[0].channel_id and b"4821" not in payload
    assert [(d.device, d.version) for d in message.devices] == [(hubs[0].channel_id, 0), (lock.channel_id, 1)]
    assert protocol.pin_open(key=lock.key.encode(), sealed=message.devices[1].pins[0].sealed) == "4821"


def test_memory_cloud_refuses_foreign_devices_and_ignores_stale_reports():
    subject, hubs = cloud()
    mine, theirs = hubs[0].devices[1].channel_id, hubs[1].devices[1].channel_id
    hub = hubs[0].channel_id
    both = protocol.Reported(hub, (protocol.ReportedDevice(mine, 1), protocol.ReportedDevice(theirs, 1)))
    assert subject.report_record(channel_id=hub, report=both).rejected is True  # whole, as report_record
    assert mine not in subject.reported
    subject.report_record(channel_id=hub, report=protocol.Reported(hub, (protocol.ReportedDevice(mine, 3),)))
    subject.report_record(channel_id=hub, report=protocol.Reported(hub, (protocol.ReportedDevice(mine, 2),)))
    assert subject.reported[mine].version == 3 and theirs not in subject.reported
    assert subject.outcomes == {"refused": 1, "recorded": 1, "stale": 1}


def test_memory_cloud_answers_gets_in_its_pool_merging_requests_for_a_hub_already_waiting():
    import threading

    release = threading.Event()

    class Slow(Published):
        def publish(self, *, channel_id, payload):
            release.wait(5)
            super().publish(channel_id=channel_id, payload=payload)

    hubs = broker.provisioning_new(hubs=2, secret="s3cret")
    subject = MemoryCloud(transport=Slow(), hubs=hubs, secret="s3cret", publish_threads=1)
    first, second = hubs[0].channel_id, hubs[1].channel_id
    for channel in (first, second, second, second):  # the pool's one thread is held by `first`
        subject.desired_resend(channel_id=channel)
    release.set()
    subject.close()
    assert [channel for channel, _ in subject.transport.messages] == [first, second]


def test_a_redelivered_message_that_goes_through_starts_its_failure_count_again():
    calls = Calls(fail_times=3)
    subject = gateway_for(on_report=calls)
    topic = f"{PREFIX}/hubs/{HUB}/reported"
    assert subject.message_handle(topic=topic, payload=report()) is gateway.Outcome.FAILED
    assert subject.message_handle(topic=topic, payload=report()) is gateway.Outcome.HANDLED
    assert not subject.recorder._failures


def test_the_gateway_logs_what_it_did_since_its_last_summary(caplog):
    subject = gateway_for()
    subject.counts.update({"handled": 7, "refused": 1})
    with caplog.at_level("INFO", logger="smarthome.sync.gateway"):
        subject._summary_log()
        subject.counts.update({"handled": 2})
        subject._summary_log()
        subject._summary_log()  # nothing new: no line
    lines = [r.getMessage() for r in caplog.records]
    assert len(lines) == 2
    assert lines[0].endswith("7 handled, 1 refused") and lines[1].endswith("2 handled")


# Batches
# ------------------------------------------------------------------------------


class Batches:
    """A reports handler recording each call's batch; raises for a report whose version is in `poison`."""

    def __init__(self, poison=()):
        self.batches: list[list[int]] = []
        self.poison = set(poison)

    def __call__(self, *, reports):
        versions = [report.devices[0].version for _channel, report in reports]
        self.batches.append(versions)
        if self.poison & set(versions):
            raise ConnectionError("this report breaks the handler")
        return [None for _ in reports]


class Acks:
    def __init__(self):
        self.mids: list[int] = []

    def ack(self, mid, qos):
        self.mids.append(mid)


def received(*versions, hub=HUB):
    return [
        gateway.Received(topic=f"{PREFIX}/hubs/{hub}/reported", payload=report(hub=hub, version=v), mid=v)
        for v in versions
    ]


def batch_gateway(handler):
    return gateway.Gateway(
        address=broker.broker_address("mqtt://127.0.0.1:1"),
        prefix=PREFIX,
        client_id="msc-gateway-unit",
        on_reports=handler,
        on_gets=gateway.per_channel(Calls()),
        on_resubscribed=None,
        handler_retry_seconds=0,
    )


def test_reports_received_together_are_recorded_in_one_call_and_acknowledged_in_order():
    handler, acks = Batches(), Acks()
    subject = batch_gateway(handler)
    subject._received = [*received(1, 2), gateway.Received(topic=f"{PREFIX}/hubs/{HUB}/reported", payload=b"{", mid=3)]
    subject._received += received(4)
    subject._flush(acks)
    assert handler.batches == [[1, 2, 4]], "the malformed message goes to no handler"
    assert acks.mids == [1, 2, 3, 4] and not subject._redeliver
    assert subject.counts == {"handled": 3, "malformed": 1}


def test_a_failing_batch_is_recorded_one_report_at_a_time_so_a_poisoned_report_fails_alone():
    handler, acks = Batches(poison={3}), Acks()
    subject = batch_gateway(handler)
    subject._received = received(1, 2, 3, 4, 5)
    subject._flush(acks)
    # The batch, then one by one: 1 and 2 go through, 3 through each attempt, 4 and 5 wait.
    assert handler.batches == [[1, 2, 3, 4, 5], [1], [2], [3], [3], [3]]
    assert acks.mids == [1, 2], "nothing from the failed report on is acknowledged: it comes again"
    assert subject._redeliver
    assert subject.counts == {"handled": 2, "failed": 1, "deferred": 2}


def test_a_lone_report_is_recorded_without_a_batch_attempt_first():
    handler = Batches(poison={7})
    outcome = batch_gateway(handler).message_handle(topic=f"{PREFIX}/hubs/{HUB}/reported", payload=report(version=7))
    assert outcome is gateway.Outcome.FAILED and handler.batches == [[7]] * gateway.HANDLER_ATTEMPTS


def test_the_gateway_asks_the_broker_for_two_batches_unacknowledged_at_most(monkeypatch):
    sent = {}

    class Client:
        def connect(self, host, port, *, keepalive, clean_start, properties):
            sent["receive_maximum"] = properties.ReceiveMaximum
            raise OSError("no broker in this test")

        def is_connected(self):
            return False

    subject = batch_gateway(Batches())
    subject.batch_max = 150
    monkeypatch.setattr(subject, "_client_new", Client)
    monkeypatch.setattr(subject, "_sleep", lambda seconds: subject.stop())
    subject.run()
    assert sent["receive_maximum"] == 300


def test_gets_received_together_go_to_their_handler_in_one_call():
    asked: list[list[str]] = []
    subject = gateway.Gateway(
        address=broker.broker_address("mqtt://127.0.0.1:1"),
        prefix=PREFIX,
        client_id="msc-gateway-unit",
        on_reports=Batches(),
        on_gets=lambda *, channel_ids: asked.append(channel_ids),
        on_resubscribed=None,
    )
    hubs = ["hub-0000001", "hub-0000002", "hub-0000003"]
    subject._received = [
        gateway.Received(topic=f"{PREFIX}/hubs/{hub}/get", payload=protocol.get_encode(hub=hub), mid=n)
        for n, hub in enumerate(hubs, 1)
    ]
    acks = Acks()
    subject._flush(acks)
    assert asked == [hubs] and acks.mids == [1, 2, 3]


class LoopingAcks(Acks):
    def loop(self, timeout):
        return None


def recorder_of(subject):
    subject._recorder.start()
    return subject._recorder


def test_batches_recorded_beside_the_network_loop_are_acknowledged_in_order():
    handler, acks = Batches(), LoopingAcks()
    subject = batch_gateway(handler)
    recorder = recorder_of(subject)
    for versions in ((1, 2), (3,), (4, 5)):
        subject._received = received(*versions)
        subject._submit()
    subject._acks_send(acks, wait=True)
    recorder.stop()
    assert acks.mids == [1, 2, 3, 4, 5] and handler.batches == [[1, 2], [3], [4, 5]]
    assert subject._outstanding == 0 and not subject._redeliver


def test_after_a_failed_batch_the_next_ones_of_that_connection_are_neither_handled_nor_acknowledged():
    handler, acks = Batches(poison={2}), LoopingAcks()
    subject = batch_gateway(handler)
    recorder = recorder_of(subject)
    for versions in ((1, 2), (3, 4)):
        subject._received = received(*versions)
        subject._submit()
    subject._acks_send(acks, wait=True)
    assert acks.mids == [1] and subject._redeliver
    assert [3, 4] not in handler.batches, "behind the failed report: left for the redelivery"
    assert subject.counts == {"handled": 1, "failed": 1, "deferred": 2}

    # The next connection: a new generation, whose batches are handled again.
    subject._redeliver = False
    subject._recorder_settle()
    handler.poison.clear()
    subject._received = received(2, 3, 4)
    subject._submit()
    subject._acks_send(acks, wait=True)
    recorder.stop()
    assert acks.mids == [1, 2, 3, 4]


def test_batches_of_a_connection_that_is_gone_are_counted_but_never_acknowledged_on_the_next():
    release = threading.Event()

    def slow(*, reports):
        release.wait(5)
        return [None for _ in reports]

    acks = LoopingAcks()
    subject = batch_gateway(slow)
    recorder = recorder_of(subject)
    subject._received = received(1, 2)
    subject._submit()  # recording when the connection drops
    release.set()
    subject._recorder_settle()
    subject._acks_send(acks, wait=True)
    recorder.stop()
    assert acks.mids == [] and subject.counts == {"handled": 2} and subject._generation == 1
