"""The gateway's recorder in a process of its own (`RecorderProcess`), as `manage.py device_gateway`
runs it: handlers by name, batches given back in order, a failed connection's batches left, a
process that dies replaced, a killed gateway not leaving its recorder behind."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from unittest import mock

import django
import pytest
from django.core.management import call_command

from smarthome.sync import broker, gateway, protocol
from smarthome.sync.recorder import (
    MAX_DELIVERIES,
    UNSETTLED,
    Outcome,
    Received,
    Recorder,
    RecorderProcess,
    RecorderThread,
)

from . import recorder_handlers

PREFIX = "msc/v1"
HUB = "hub-0000001"
LOCK = "lock-0000001"
ROOT = Path(__file__).resolve().parents[2]


def reported(version: int, *, naming: str = HUB) -> Received:
    """A report of version `version` on HUB's topic, its payload naming the hub `naming`."""
    payload = protocol.reported_encode(
        protocol.Reported(hub=naming, devices=(protocol.ReportedDevice(LOCK, version, ()),))
    )
    return Received(topic=f"{PREFIX}/hubs/{HUB}/reported", payload=payload, mid=version)


@pytest.fixture
def log(tmp_path, monkeypatch):
    path = tmp_path / "recorded.log"
    path.touch()
    monkeypatch.setenv("RECORDER_TEST_LOG", str(path))
    return path


def process_recorder(*, setup=recorder_handlers.setup_marker, **kwargs) -> RecorderProcess:
    """A recorder process around a `Recorder` with the handlers by name (`kwargs` override them)."""
    options = {
        "prefix": PREFIX,
        "on_reports": recorder_handlers.reports_note,
        "on_gets": recorder_handlers.gets_ignore,
        "handler_retry_seconds": 0,
    }
    return RecorderProcess(Recorder(**{**options, **kwargs}), name="msc-gateway-unit-recorder", setup=setup)


@pytest.fixture
def recorder(log):
    subject = process_recorder()
    subject.start()
    yield subject
    subject.stop()


def test_batches_are_recorded_in_the_process_and_given_back_in_order_with_their_outcomes(recorder, log):
    first = [reported(1), Received(topic=f"{PREFIX}/hubs/{HUB}/reported", payload=b"{", mid=50), reported(0)]
    second = [reported(2), reported(3, naming="hub-0000002")]
    recorder.submit(0, first)
    recorder.submit(0, second)
    assert recorder.finished(None) == (0, first)
    assert [m.outcome for m in first] == [Outcome.HANDLED, Outcome.MALFORMED, Outcome.REFUSED]
    assert recorder.finished(None) == (0, second)
    assert [m.outcome for m in second] == [Outcome.HANDLED, Outcome.REFUSED], "a report naming another hub"
    assert recorder.finished(0) is None, "nothing outstanding"
    lines = log.read_text().splitlines()
    assert lines[0] == f"setup {recorder._process.pid}" and lines[0].split()[1] != str(os.getpid())
    assert lines[1:] == [f"{HUB} 1", f"{HUB} 0", f"{HUB} 2"], "one batch call each, in order"


def test_after_a_failed_batch_the_next_ones_of_that_connection_come_back_unhandled(recorder, log):
    failing, behind = [reported(1), reported(13)], [reported(3), reported(4)]
    recorder.submit(0, failing)
    recorder.submit(0, behind)
    recorder.finished(None)
    recorder.finished(None)
    assert [m.outcome for m in failing] == [Outcome.HANDLED, Outcome.FAILED]
    assert [m.outcome for m in behind] == [Outcome.DEFERRED, Outcome.DEFERRED]
    again = [reported(3), reported(4)]
    recorder.submit(1, again)  # the next connection
    recorder.finished(None)
    assert [m.outcome for m in again] == [Outcome.HANDLED, Outcome.HANDLED]
    assert log.read_text().splitlines()[1:] == [f"{HUB} 1", f"{HUB} 3", f"{HUB} 4"]


def test_a_recorder_process_that_dies_gives_its_batches_back_failed_and_a_new_one_takes_over(recorder, log):
    crashing, queued = [reported(99)], [reported(5)]
    first_pid = recorder._process.pid
    recorder.submit(0, crashing)
    recorder.submit(0, queued)
    assert recorder.finished(None) == (0, crashing) and crashing[0].outcome is Outcome.FAILED
    assert recorder.finished(0) == (0, queued) and queued[0].outcome is Outcome.FAILED
    assert recorder._process.pid != first_pid
    later = [reported(6)]
    recorder.submit(1, later)
    recorder.finished(None)
    assert later[0].outcome is Outcome.HANDLED
    setups = [line for line in log.read_text().splitlines() if line.startswith("setup")]
    assert setups == [f"setup {first_pid}", f"setup {recorder._process.pid}"]


def test_a_report_the_process_dies_on_at_every_delivery_is_given_up_after_max_deliveries(recorder, log, caplog):
    """The Recorder's own count of failed deliveries dies with its process: the gateway's side
    counts the deaths, pins them on the message held (sent alone once suspected) and gives up."""
    delivered = [reported(1), reported(99), reported(2)]
    outcomes = []
    for generation in range(MAX_DELIVERIES + 1):
        batch = [Received(topic=m.topic, payload=m.payload, mid=m.mid) for m in delivered]
        recorder.submit(generation, batch)
        assert recorder.finished(None) == (generation, batch)
        outcomes.append([(m.mid, m.outcome) for m in batch])
        # The gateway acknowledges up to the first unsettled message; the broker delivers the rest again.
        settled = next((i for i, m in enumerate(batch) if m.outcome in UNSETTLED), len(batch))
        delivered = batch[settled:]

    failed, handled = Outcome.FAILED, Outcome.HANDLED
    assert outcomes == [
        [(1, failed), (99, failed), (2, failed)],  # one batch: which one the process died on is not known
        [(1, handled), (99, failed), (2, failed)],  # each held one alone: 1 goes through, 99 kills again
        [(99, failed), (2, failed)],
        [(99, failed), (2, failed)],
        [(99, Outcome.GAVE_UP), (2, failed)],  # the fifth delivery it died on: acknowledged, dropped
        [(2, handled)],
    ]
    lines = log.read_text().splitlines()
    assert [line for line in lines if not line.startswith("setup")] == [f"{HUB} 1", f"{HUB} 2"]
    assert len([line for line in lines if line.startswith("setup")]) == 1 + MAX_DELIVERIES, "a new process each death"
    assert [r.getMessage() for r in caplog.records if "gave up" in r.getMessage()] == [
        f"device gateway: gave up on a message on {PREFIX}/hubs/{HUB}/reported after {MAX_DELIVERIES} deliveries "
        "(the recorder died on each)"
    ]


def test_a_closure_handler_is_refused_when_the_process_starts(log):
    with pytest.raises(TypeError, match="importable by name"):
        process_recorder(on_reports=lambda *, reports: []).start()


def test_a_setup_that_fails_stops_the_start_with_a_clear_error(log):
    with pytest.raises(RuntimeError, match="recorder process did not start"):
        process_recorder(setup=recorder_handlers.setup_broken).start()


CHILD = """
import sys, time
from smarthome.sync.recorder import Recorder, RecorderProcess
from tests.smarthome import recorder_handlers
recorder = RecorderProcess(
    Recorder(prefix="msc/v1", on_reports=recorder_handlers.reports_note, on_gets=recorder_handlers.gets_ignore),
    name="r",
    setup=None,
)
recorder.start()
print(recorder._process.pid, flush=True)
time.sleep(60)
"""


def test_the_recorder_process_leaves_when_its_gateway_is_killed(log):
    gateway_process = subprocess.Popen(
        [sys.executable, "-c", CHILD],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        child = int(gateway_process.stdout.readline())
        os.kill(gateway_process.pid, signal.SIGKILL)
        gateway_process.wait(5)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and _running(child):
            time.sleep(0.1)
        assert not _running(child), "the recorder outlived its gateway"
    finally:
        gateway_process.kill()
        gateway_process.wait()


def _running(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().split(")")[-1].split()[0]
    except FileNotFoundError:
        return False
    return state != "Z"  # a zombie has exited (its parent is gone, init reaps it)


class Acks:
    def __init__(self):
        self.mids: list[int] = []

    def ack(self, mid, qos):
        self.mids.append(mid)

    def loop(self, timeout):
        return None


def unit_gateway(**options) -> gateway.Gateway:
    """A gateway that never connects (no broker at that port), on the test handlers by name."""
    return gateway.Gateway(
        address=broker.broker_address("mqtt://127.0.0.1:1"),
        prefix=PREFIX,
        client_id="msc-gateway-unit",
        on_reports=recorder_handlers.reports_note,
        on_gets=recorder_handlers.gets_ignore,
        recorder_setup=recorder_handlers.setup_marker,
        **options,
    )


def test_a_gateway_with_its_recorder_in_a_process_acknowledges_each_batch_in_order(log):
    subject = unit_gateway(on_resubscribed=None, handler_retry_seconds=0, recorder_process=True)
    acks = Acks()
    subject._recorder.start()
    try:
        for versions in ((1, 2), (3,), (4, 13, 5)):
            subject._received = [reported(v) for v in versions]
            subject._submit()
        subject._acks_send(acks, wait=True)
    finally:
        subject._recorder.stop()
    assert acks.mids == [1, 2, 3, 4] and subject._redeliver, "13 failed: it and 5 come again"
    assert subject.counts == {"handled": 4, "failed": 1, "deferred": 1}
    assert (subject.batches, subject.settled) == (3, 6)


@pytest.mark.parametrize("in_a_process", [False, True])
def test_the_gateway_hands_its_one_recorder_to_the_thread_or_the_process(in_a_process):
    subject = unit_gateway(handler_attempts=2, handler_retry_seconds=0.25, recorder_process=in_a_process)
    assert subject._recorder.recorder is subject.recorder
    assert type(subject._recorder) is (RecorderProcess if in_a_process else RecorderThread)
    assert (subject.recorder.on_reports, subject.recorder.on_gets) == (
        recorder_handlers.reports_note,
        recorder_handlers.gets_ignore,
    )
    assert (subject.recorder.prefix, subject.recorder.handler_attempts, subject.recorder.handler_retry_seconds) == (
        PREFIX,
        2,
        0.25,
    )


def test_the_gateway_command_records_in_a_process_set_up_with_django(settings):
    settings.SMARTHOME_MQTT_URL = "mqtt://127.0.0.1:1"
    with mock.patch("smarthome.management.commands.device_gateway.Gateway") as gateway_class:
        call_command("device_gateway")
    options = gateway_class.call_args.kwargs
    assert options["recorder_process"] is True and options["recorder_setup"] is django.setup
    gateway_class.return_value.run.assert_called_once_with()
