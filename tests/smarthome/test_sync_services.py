"""The device channel (smarthome/sync): versions bumped with each change, the whole desired state
published on commit, reports applied idempotently, foreign devices refused."""

from __future__ import annotations

import logging

import pytest
from django.db import transaction

from smarthome import services
from smarthome.models import Device, PinCode, SyncState
from smarthome.sync import protocol
from smarthome.sync.services import (
    desired_message,
    desired_resend,
    desired_resends,
    device_key_for,
    report_record,
    reports_record,
)
from tests.smarthome.factories import DeviceFactory, SmartLockFactory
from tests.smarthome.sync_helpers import hub_answers_last, last_desired, report_of, set_items

pytestmark = pytest.mark.django_db


def hub_and_lock():
    hub = DeviceFactory()
    lock = SmartLockFactory(owner_user=hub.owner_user, hub=hub)
    return hub, lock


def refresh(*objects):
    for obj in objects:
        obj.refresh_from_db()


def test_channel_ids_are_opaque_unique_and_match_the_protocol():
    devices = [DeviceFactory() for _ in range(5)]
    ids = {device.channel_id for device in devices}
    assert len(ids) == 5
    assert all(protocol.CHANNEL_ID_RE.match(channel) for channel in ids)
    assert all(device.serial_number not in device.channel_id for device in devices)


def test_every_change_bumps_the_device_version_and_records_it_on_the_setting(memory_transport):
    hub, lock = hub_and_lock()
    pin = services.pin_code_create(device=lock, label="家族", pin="482915")
    remote = services.remote_setting_create(device=hub, name="エアコン", appliance_type="air_conditioner")
    refresh(hub, lock)
    assert (lock.desired_version, pin.changed_version, pin.sync_state) == (1, 1, SyncState.SETTING)
    assert (hub.desired_version, remote.changed_version) == (1, 1)

    services.remote_setting_update(remote_setting=remote, name="寝室", appliance_type="tv", maker="", signal_data="x")
    services.pin_code_delete(pin_code=pin)
    refresh(hub, lock, remote)
    assert (hub.desired_version, remote.changed_version) == (2, 2)
    removed = PinCode.all_objects.get(pk=pin.pk)
    assert (lock.desired_version, removed.sync_state, removed.changed_version) == (2, SyncState.REMOVING, 2)
    assert not PinCode.objects.filter(pk=pin.pk).exists(), "a PIN being removed is no longer a setting"


def test_a_change_rolled_back_leaves_the_version_and_publishes_nothing(
    memory_transport, django_capture_on_commit_callbacks
):
    _hub, lock = hub_and_lock()
    with (
        django_capture_on_commit_callbacks(execute=True) as callbacks,
        pytest.raises(RuntimeError),
        transaction.atomic(),
    ):
        services.pin_code_create(device=lock, label="家族", pin="482915")
        raise RuntimeError("the request failed after the change")
    lock.refresh_from_db()
    assert lock.desired_version == 0
    assert not PinCode.all_objects.exists()
    assert callbacks == [] and memory_transport.outbox == []


def test_the_hubs_whole_state_is_published_on_commit_with_each_pin_sealed_for_its_device(
    memory_transport, django_capture_on_commit_callbacks
):
    hub, lock = hub_and_lock()
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        services.pin_code_create(device=lock, label="家族", pin="482915")
    assert memory_transport.outbox == [], "nothing leaves before the commit"
    for callback in callbacks:
        callback()

    [published] = memory_transport.outbox
    assert published.channel_id == hub.channel_id, "a lock behind a hub is reached through the hub"
    assert b"482915" not in published.payload
    desired = last_desired(hub.channel_id)
    by_device = {entry.device: entry for entry in desired.devices}
    assert set(by_device) == {hub.channel_id, lock.channel_id}
    [pin] = by_device[lock.channel_id].pins
    assert protocol.pin_open(key=device_key_for(channel_id=lock.channel_id), sealed=pin.sealed) == "482915"
    with pytest.raises(protocol.ProtocolError):
        protocol.pin_open(key=device_key_for(channel_id=hub.channel_id), sealed=pin.sealed)
    assert by_device[lock.channel_id].version == 1


def test_a_device_behind_a_hub_has_no_channel_of_its_own():
    _hub, lock = hub_and_lock()
    assert desired_message(channel_id=lock.channel_id) is None
    assert desired_message(channel_id="unknown-channel-0001") is None


def test_a_report_sets_each_setting_and_a_confirmed_removal_deletes_the_row(memory_transport):
    hub, lock = hub_and_lock()
    kept = services.pin_code_create(device=lock, label="家族", pin="482915")
    gone = services.pin_code_create(device=lock, label="ゲスト", pin="730591")
    services.pin_code_delete(pin_code=gone)
    lock.refresh_from_db()

    outcome = report_record(
        channel_id=hub.channel_id,
        report=report_of(
            hub.channel_id, protocol.ReportedDevice(device=lock.channel_id, version=3, pins=set_items(f"p{kept.pk}"))
        ),
    )

    assert outcome.applied == (lock.channel_id,) and outcome.removed == 1
    kept.refresh_from_db()
    lock.refresh_from_db()
    assert kept.sync_state == SyncState.SET
    assert not PinCode.all_objects.filter(pk=gone.pk).exists()
    assert (lock.reported_version, lock.pending_since) == (3, None)


def test_a_setting_missing_or_failed_in_a_report_shows_why(memory_transport):
    hub, lock = hub_and_lock()
    first = services.pin_code_create(device=lock, label="家族", pin="482915")
    second = services.pin_code_create(device=lock, label="ゲスト", pin="730591")
    entry = protocol.ReportedDevice(
        device=lock.channel_id,
        version=2,
        pins=(protocol.ReportedItem(ref=f"p{second.pk}", status="failed", reason="lock_full"),),
    )
    report_record(channel_id=hub.channel_id, report=report_of(hub.channel_id, entry))
    refresh(first, second)
    assert (first.sync_state, first.sync_failure) == (SyncState.FAILED, "rejected")
    assert (second.sync_state, second.sync_failure) == (SyncState.FAILED, "lock_full")


def test_a_report_older_than_a_change_leaves_that_change_pending(memory_transport):
    hub, lock = hub_and_lock()
    first = services.pin_code_create(device=lock, label="家族", pin="482915")
    second = services.pin_code_create(device=lock, label="ゲスト", pin="730591")
    report_record(
        channel_id=hub.channel_id,
        report=report_of(
            hub.channel_id, protocol.ReportedDevice(device=lock.channel_id, version=1, pins=set_items(f"p{first.pk}"))
        ),
    )
    refresh(first, second, lock)
    assert (first.sync_state, second.sync_state) == (SyncState.SET, SyncState.SETTING)
    assert lock.pending_since is not None, "version 2 still waits"


def test_stale_duplicate_and_reordered_reports_change_nothing(memory_transport):
    hub, lock = hub_and_lock()
    pin = services.pin_code_create(device=lock, label="家族", pin="482915")
    services.pin_code_delete(pin_code=pin)
    newer = services.pin_code_create(device=lock, label="ゲスト", pin="730591")
    holds_pin = protocol.ReportedDevice(device=lock.channel_id, version=1, pins=set_items(f"p{pin.pk}"))
    latest = protocol.ReportedDevice(device=lock.channel_id, version=3, pins=set_items(f"p{newer.pk}"))

    # Reordered: version 3 arrives first, then the older version 1 (which still holds the deleted PIN).
    assert report_record(channel_id=hub.channel_id, report=report_of(hub.channel_id, latest)).applied
    snapshot = list(PinCode.all_objects.values_list("pk", "sync_state", "sync_failure").order_by("pk"))
    stale = report_record(channel_id=hub.channel_id, report=report_of(hub.channel_id, holds_pin))
    duplicate = report_record(channel_id=hub.channel_id, report=report_of(hub.channel_id, latest))

    assert stale.ignored == duplicate.ignored == (lock.channel_id,)
    assert list(PinCode.all_objects.values_list("pk", "sync_state", "sync_failure").order_by("pk")) == snapshot
    lock.refresh_from_db()
    assert lock.reported_version == 3


def test_a_version_never_sent_is_ignored(memory_transport):
    hub, lock = hub_and_lock()
    pin = services.pin_code_create(device=lock, label="家族", pin="482915")
    outcome = report_record(
        channel_id=hub.channel_id,
        report=report_of(
            hub.channel_id, protocol.ReportedDevice(device=lock.channel_id, version=9, pins=set_items(f"p{pin.pk}"))
        ),
    )
    pin.refresh_from_db()
    assert outcome.ignored == (lock.channel_id,) and pin.sync_state == SyncState.SETTING


def test_a_report_about_a_device_not_behind_the_channel_is_rejected_whole_and_logged(memory_transport, caplog):
    hub, lock = hub_and_lock()
    other_hub, other_lock = hub_and_lock()
    mine = services.pin_code_create(device=lock, label="家族", pin="482915")
    theirs = services.pin_code_create(device=other_lock, label="家族", pin="482915")
    report = report_of(
        hub.channel_id,
        protocol.ReportedDevice(device=lock.channel_id, version=1, pins=set_items(f"p{mine.pk}")),
        protocol.ReportedDevice(device=other_lock.channel_id, version=1),
    )
    with caplog.at_level(logging.WARNING, logger="smarthome.sync.services"):
        outcome = report_record(channel_id=hub.channel_id, report=report)
    # A report on another hub's channel naming this hub as sender is refused as well.
    spoofed = report_record(channel_id=other_hub.channel_id, report=report_of(hub.channel_id))

    assert outcome.rejected and spoofed.rejected
    assert other_lock.channel_id in caplog.text
    refresh(mine, theirs, lock, other_lock)
    assert (mine.sync_state, theirs.sync_state) == (SyncState.SETTING, SyncState.SETTING)
    assert (lock.reported_version, other_lock.reported_version) == (0, 0)


def test_a_hub_that_asks_again_is_online_and_gets_its_whole_state(memory_transport, django_capture_on_commit_callbacks):
    hub, lock = hub_and_lock()
    services.pin_code_create(device=lock, label="家族", pin="482915")
    Device.objects.filter(pk__in=[hub.pk, lock.pk]).update(sync_failure=Device.SyncFailure.OFFLINE)
    with django_capture_on_commit_callbacks(execute=True):
        desired_resend(channel_id=hub.channel_id)
    lock.refresh_from_db()
    assert lock.sync_failure == "" and lock.last_seen_at is not None
    assert [m.channel_id for m in memory_transport.outbox] == [hub.channel_id]


def test_gets_whose_answer_is_still_queued_are_merged_into_it(memory_transport, django_capture_on_commit_callbacks):
    hub, _lock = hub_and_lock()
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        desired_resend(channel_id=hub.channel_id)
        desired_resend(channel_id=hub.channel_id)  # the hub asked again before the answer went out
    assert len(callbacks) == 1
    assert [m.channel_id for m in memory_transport.outbox] == [hub.channel_id]

    with django_capture_on_commit_callbacks(execute=True):
        desired_resend(channel_id=hub.channel_id)  # answered: a new `get` gets a new answer
    assert [m.channel_id for m in memory_transport.outbox] == [hub.channel_id] * 2


def test_the_simulated_lock_applies_only_newer_versions_and_reports_its_slots(memory_transport, settings):
    settings.SMARTHOME_DEVICE_SIMULATED_LOCK_SLOTS = 1
    hub, lock = hub_and_lock()
    first = services.pin_code_create(device=lock, label="家族", pin="482915")
    second = services.pin_code_create(device=lock, label="ゲスト", pin="730591")
    desired = protocol.desired_encode(desired_message(channel_id=hub.channel_id))
    memory_transport.outbox.append(memory_transport.Published(channel_id=hub.channel_id, payload=desired))
    hub_answers_last(hub.channel_id)
    refresh(first, second, lock)
    assert (first.sync_state, second.sync_state, second.sync_failure) == (SyncState.SET, SyncState.FAILED, "lock_full")
    assert lock.slots_total == 1

    hub_answers_last(hub.channel_id)  # the same message again: the lock keeps what it holds
    lock.refresh_from_db()
    assert lock.reported_version == 2


def test_the_slot_rule_follows_the_locks_reported_slots_and_a_pin_being_removed_frees_its_slot(memory_transport):
    hub, lock = hub_and_lock()
    Device.objects.filter(pk=lock.pk).update(slots_total=2)
    lock.refresh_from_db()
    first = services.pin_code_create(device=lock, label="家族", pin="482915")
    services.pin_code_create(device=lock, label="ゲスト", pin="730591")
    with pytest.raises(services.ValidationError, match="2件まで"):
        services.pin_code_create(device=lock, label="清掃", pin="593017")
    services.pin_code_delete(pin_code=first)
    assert services.pin_code_create(device=lock, label="清掃", pin="593017").pk
    assert hub.pk


# A gateway's batch of reports
# ------------------------------------------------------------------------------


def test_a_batch_of_reports_gives_each_its_own_outcome_in_order(memory_transport):
    (hub, lock), (other_hub, other_lock), (third_hub, _third_lock) = hub_and_lock(), hub_and_lock(), hub_and_lock()
    pin = services.pin_code_create(device=lock, label="家族", pin="482915")
    gone = services.pin_code_create(device=other_lock, label="ゲスト", pin="730591")
    services.pin_code_delete(pin_code=gone)
    batch = [
        (
            hub.channel_id,
            report_of(hub.channel_id, protocol.ReportedDevice(lock.channel_id, 1, set_items(f"p{pin.pk}"))),
        ),
        (third_hub.channel_id, report_of(third_hub.channel_id, protocol.ReportedDevice(other_lock.channel_id, 1))),
        (other_hub.channel_id, report_of(other_hub.channel_id, protocol.ReportedDevice(other_lock.channel_id, 2))),
    ]

    outcomes = reports_record(reports=batch)

    assert [outcome.rejected for outcome in outcomes] == [False, True, False]
    assert outcomes[0].applied == (lock.channel_id,) and outcomes[0].removed == 0
    assert outcomes[2].applied == (other_lock.channel_id,) and outcomes[2].removed == 1
    pin.refresh_from_db()
    assert pin.sync_state == SyncState.SET
    assert not PinCode.all_objects.filter(pk=gone.pk).exists()


def test_two_reports_of_one_channel_in_a_batch_are_applied_one_after_the_other(memory_transport):
    hub, lock = hub_and_lock()
    first = services.pin_code_create(device=lock, label="家族", pin="482915")
    second = services.pin_code_create(device=lock, label="ゲスト", pin="730591")
    holds_first = protocol.ReportedDevice(lock.channel_id, 1, set_items(f"p{first.pk}"))
    holds_both = protocol.ReportedDevice(lock.channel_id, 2, set_items(f"p{first.pk}", f"p{second.pk}"))

    newest_last = reports_record(
        reports=[(hub.channel_id, report_of(hub.channel_id, e)) for e in (holds_first, holds_both)]
    )
    lock.refresh_from_db()
    assert [o.applied for o in newest_last] == [(lock.channel_id,), (lock.channel_id,)]
    assert lock.reported_version == 2

    # Reordered on the way: the older report, second in the batch, is stale and changes nothing.
    third = services.pin_code_create(device=lock, label="来客", pin="615283")
    holds_all = protocol.ReportedDevice(lock.channel_id, 3, set_items(f"p{first.pk}", f"p{second.pk}", f"p{third.pk}"))
    reordered = reports_record(
        reports=[(hub.channel_id, report_of(hub.channel_id, e)) for e in (holds_all, holds_both)]
    )
    refresh(lock, third)
    assert reordered[0].applied == (lock.channel_id,) and reordered[1].ignored == (lock.channel_id,)
    assert (lock.reported_version, third.sync_state) == (3, SyncState.SET)


def test_a_batch_costs_the_same_statements_whatever_its_number_of_reports(memory_transport):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    def batch(size):
        pairs = [hub_and_lock() for _ in range(size)]
        reports = []
        for hub, lock in pairs:
            pin = services.pin_code_create(device=lock, label="家族", pin="482915")
            entry = protocol.ReportedDevice(lock.channel_id, 1, set_items(f"p{pin.pk}"))
            reports.append((hub.channel_id, report_of(hub.channel_id, entry)))
        return reports

    few, many = batch(2), batch(20)  # (a batch of one skips the batch's planner setting on PostgreSQL)
    counts = []
    for reports in (few, many, few, many):  # new versions, then the same reports again (duplicates)
        with CaptureQueriesContext(connection) as captured:
            outcomes = reports_record(reports=reports)
        assert not any(outcome.rejected for outcome in outcomes)
        counts.append(len(captured.captured_queries))
    assert counts[0] == counts[1] and counts[2] == counts[3]
    assert PinCode.objects.filter(sync_state=SyncState.SET).count() == 22


def test_a_channel_repeating_itself_is_seen_to_the_minute_and_an_offline_one_at_once(memory_transport):
    import datetime

    from smarthome.sync.services import SEEN_PRECISION_SECONDS

    hub, lock = hub_and_lock()
    pin = services.pin_code_create(device=lock, label="家族", pin="482915")
    holds = report_of(hub.channel_id, protocol.ReportedDevice(lock.channel_id, 1, set_items(f"p{pin.pk}")))
    report_record(channel_id=hub.channel_id, report=holds)
    lock.refresh_from_db()
    first_seen = lock.last_seen_at

    report_record(channel_id=hub.channel_id, report=holds)  # the same again, moments later
    lock.refresh_from_db()
    assert lock.last_seen_at == first_seen, "no write for a repeat within the minute"

    earlier = first_seen - datetime.timedelta(seconds=SEEN_PRECISION_SECONDS + 1)
    Device.objects.filter(pk=lock.pk).update(last_seen_at=earlier)
    report_record(channel_id=hub.channel_id, report=holds)
    lock.refresh_from_db()
    assert lock.last_seen_at > first_seen

    Device.objects.filter(pk=lock.pk).update(sync_failure=Device.SyncFailure.OFFLINE, sync_failure_since=earlier)
    report_record(channel_id=hub.channel_id, report=holds)
    lock.refresh_from_db()
    assert (lock.sync_failure, lock.sync_failure_since) == ("", None), "back online at once"


def test_a_report_keeps_the_slots_and_the_waiting_change_it_does_not_settle(memory_transport):
    hub, lock = hub_and_lock()
    first = services.pin_code_create(device=lock, label="家族", pin="482915")
    services.pin_code_create(device=lock, label="ゲスト", pin="730591")
    Device.objects.filter(pk=lock.pk).update(slots_total=8)
    lock.refresh_from_db()
    waiting_since = lock.pending_since

    report_record(
        channel_id=hub.channel_id,
        report=report_of(hub.channel_id, protocol.ReportedDevice(lock.channel_id, 1, set_items(f"p{first.pk}"))),
    )
    lock.refresh_from_db()
    assert (lock.reported_version, lock.slots_total, lock.pending_since) == (1, 8, waiting_since)


# Answers to many hubs' `get`
# ------------------------------------------------------------------------------


def test_gets_of_many_hubs_are_answered_by_one_task_each_hub_with_its_whole_state(
    memory_transport, django_capture_on_commit_callbacks
):
    pairs = [hub_and_lock() for _ in range(3)]
    for _hub, lock in pairs:
        services.pin_code_create(device=lock, label="家族", pin="482915")
    memory_transport.outbox.clear()
    hubs = [hub.channel_id for hub, _lock in pairs]
    Device.objects.filter(pk=pairs[1][1].pk).update(sync_failure=Device.SyncFailure.OFFLINE)

    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        desired_resends(channel_ids=[*hubs, "unknown-channel-0001", hubs[0]])

    assert len(callbacks) == 1, "one task for the batch"
    assert sorted(m.channel_id for m in memory_transport.outbox) == sorted(hubs), "each known hub once"
    for hub, lock in pairs:
        [device] = [d for d in last_desired(hub.channel_id).devices if d.device == lock.channel_id]
        assert device.version == 1 and len(device.pins) == 1
    assert not Device.objects.filter(sync_failure=Device.SyncFailure.OFFLINE).exists(), "the hubs spoke"


def test_a_hub_whose_answer_the_transport_refused_gets_a_publish_of_its_own(memory_transport, monkeypatch):
    from smarthome import tasks
    from smarthome.sync.backends import memory

    pairs = [hub_and_lock() for _ in range(2)]
    refused = pairs[1][0].channel_id
    handed_on: list[tuple] = []
    monkeypatch.setattr(memory.Transport, "publish_many", lambda self, *, messages: [refused])
    monkeypatch.setattr(tasks.device_desired_publish, "delay", lambda *args, **kwargs: handed_on.append((args, kwargs)))

    result = tasks.device_desired_answer.apply(args=([hub.channel_id for hub, _lock in pairs],)).get()

    assert result == "1 answered, 1 handed on"
    assert handed_on == [((refused,), {"asked": True})]


@pytest.mark.parametrize(
    ("task", "result"),
    [("device_desired_answer", "0 answered, 2 handed on"), ("device_desired_publish_many", "2 channels, 2 handed on")],
)
def test_the_broker_down_hands_every_channel_to_a_publish_of_its_own(memory_transport, monkeypatch, task, result):
    """Both batch tasks: the answer to hubs' gets and the publish after a change of many."""
    from smarthome import tasks

    pairs = [hub_and_lock() for _ in range(2)]
    handed_on: list[str] = []
    monkeypatch.setitem(memory_transport.state, "unavailable", True)
    monkeypatch.setattr(
        tasks.device_desired_publish, "delay", lambda channel_id, **kwargs: handed_on.append(channel_id)
    )

    assert getattr(tasks, task).apply(args=([hub.channel_id for hub, _lock in pairs],)).get() == result
    assert sorted(handed_on) == sorted(hub.channel_id for hub, _lock in pairs)


def test_the_unlocked_and_the_locked_read_of_many_channels_agree():
    from django.db.models import Q

    from smarthome.sync.selectors import channels_devices

    pairs = [hub_and_lock() for _ in range(3)]
    lone = DeviceFactory()  # a device that connects by itself
    wanted = [hub.channel_id for hub, _lock in pairs] + [
        lone.channel_id,
        pairs[0][1].channel_id,
        "unknown-channel-0001",
    ]
    unlocked = channels_devices(channel_ids=wanted)
    with transaction.atomic():
        locked = channels_devices(channel_ids=wanted, lock=True)
    assert unlocked == locked
    assert set(unlocked) == {hub.channel_id for hub, _lock in pairs} | {lone.channel_id}, (
        "a device behind a hub has no channel of its own; an unknown channel is left out"
    )
    for channel_id, rows in unlocked.items():
        reached = Device.objects.filter(Q(channel_id=channel_id, hub__isnull=True) | Q(hub__channel_id=channel_id))
        assert [row.pk for row in rows] == list(reached.order_by("pk").values_list("pk", flat=True))


def test_a_change_of_many_channels_is_published_by_one_task_per_batch_not_one_per_hub(
    memory_transport, monkeypatch, django_capture_on_commit_callbacks
):
    from smarthome import tasks
    from smarthome.sync import services as sync_services

    pairs = [hub_and_lock() for _ in range(5)]
    hubs = sorted(hub.channel_id for hub, _lock in pairs)
    batches: list[list[str]] = []
    singles: list[str] = []
    monkeypatch.setattr(sync_services, "PUBLISH_BATCH", 2)
    monkeypatch.setattr(tasks.device_desired_publish_many, "delay", lambda channel_ids: batches.append(channel_ids))
    monkeypatch.setattr(tasks.device_desired_publish, "delay", lambda channel_id, **kwargs: singles.append(channel_id))

    with django_capture_on_commit_callbacks(execute=True):
        sync_services.channels_publish_on_commit(channel_ids=set(hubs))
    assert batches == [hubs[0:2], hubs[2:4], hubs[4:5]] and singles == []

    with django_capture_on_commit_callbacks(execute=True):
        sync_services.channels_publish_on_commit(channel_ids={hubs[0]})
    assert singles == [hubs[0]], "a lone channel (a resident's PIN) keeps its own publish task"


def test_the_batch_publish_sends_each_known_hub_its_state_and_hands_refused_ones_on(memory_transport, monkeypatch):
    from smarthome import tasks
    from smarthome.sync.backends import memory

    pairs = [hub_and_lock() for _ in range(3)]
    channels = [hub.channel_id for hub, _lock in pairs]
    result = tasks.device_desired_publish_many.apply(args=([*channels, "unknown-channel-0001"],)).get()
    assert result == "4 channels, 0 handed on"
    assert sorted(m.channel_id for m in memory_transport.outbox) == sorted(channels), "each known hub once"

    handed_on: list[tuple] = []
    monkeypatch.setattr(memory.Transport, "publish_many", lambda self, *, messages: [channels[1]])
    monkeypatch.setattr(tasks.device_desired_publish, "delay", lambda *args, **kwargs: handed_on.append((args, kwargs)))
    assert tasks.device_desired_publish_many.apply(args=(channels,)).get() == "3 channels, 1 handed on"
    assert handed_on == [((channels[1],), {})], "a plain publish (not an answer to a get), with its retries"


@pytest.mark.parametrize(
    ("task", "handed_on_as", "result", "warning"),
    [
        ("device_desired_publish_many", {}, "2 channels, 2 handed on", "desired state of 2 channels"),
        ("device_desired_answer", {"asked": True}, "0 answered, 2 handed on", "answers to 2 hubs' get"),
    ],
)
def test_a_transport_that_refuses_the_whole_batch_hands_every_channel_on_and_says_so(
    memory_transport, monkeypatch, caplog, task, handed_on_as, result, warning
):
    from smarthome import tasks
    from smarthome.sync.backends import base, memory

    def unavailable(self, *, messages):
        raise base.TransportUnavailable("broker gone")

    pairs = [hub_and_lock() for _ in range(2)]
    channels = [hub.channel_id for hub, _lock in pairs]
    handed_on: list[tuple] = []
    monkeypatch.setattr(memory.Transport, "publish_many", unavailable)
    monkeypatch.setattr(tasks.device_desired_publish, "delay", lambda *args, **kwargs: handed_on.append((args, kwargs)))

    with caplog.at_level(logging.WARNING, logger="smarthome.tasks"):
        assert getattr(tasks, task).apply(args=(channels,)).get() == result

    assert handed_on == [((channel,), handed_on_as) for channel in channels]
    assert f"{warning}: TransportUnavailable, publishing one by one" in caplog.messages
