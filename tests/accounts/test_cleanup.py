"""Bulk cleanup of verification codes and what every `cleanup_*` command shares (SPEC "Bulk cleanup")."""

from __future__ import annotations

import datetime
import io

import pytest
from django.core.management import call_command, load_command_class
from django.core.management.base import CommandError
from django.utils import timezone

from accounts.models import VerificationCode, VerificationTarget
from accounts.services import cleanup
from accounts.services.cleanup import verification_codes_cleanup
from accounts.tasks import verification_codes_cleanup_run
from smarthome.models import SettingsPurgeRequest

pytestmark = pytest.mark.django_db

State = VerificationCode.State


def make_codes(count: int, *, expired: bool = True, state: str = State.PENDING) -> None:
    now = timezone.now()
    expires_at = now - datetime.timedelta(minutes=1) if expired else now + datetime.timedelta(minutes=4)
    VerificationCode.objects.bulk_create(
        VerificationCode(
            purpose=VerificationCode.Purpose.SIGN_IN,
            channel=VerificationCode.Channel.SMS,
            target=f"+8190{n:08d}",
            code_hash="0" * 64,
            state=state,
            expires_at=expires_at,
        )
        for n in range(count)
    )


class TtyStream(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_expired_and_settled_codes_go_valid_pending_codes_and_failure_counts_stay():
    make_codes(3, expired=True)
    make_codes(2, expired=False, state=State.USED)
    make_codes(1, expired=False, state=State.BURNED)
    make_codes(4, expired=False, state=State.PENDING)
    VerificationTarget.objects.create(target="+819000000001", consecutive_failures=4)

    result = verification_codes_cleanup()

    assert (result.processed, result.failed, result.batches) == (6, 0, 1)
    assert set(VerificationCode.objects.values_list("state", flat=True)) == {State.PENDING}
    assert VerificationCode.objects.count() == 4
    assert VerificationTarget.objects.get().consecutive_failures == 4


def test_a_batch_of_only_valid_codes_does_not_end_the_run():
    make_codes(3, expired=False)  # the lowest pks: the first batch deletes nothing
    make_codes(5, expired=True)

    result = verification_codes_cleanup(batch_size=2)

    assert (result.processed, result.batches) == (5, 3)
    assert VerificationCode.objects.count() == 3


def test_gaps_in_the_pks_are_skipped_not_walked(django_assert_max_num_queries):
    make_codes(3)
    far = VerificationCode.objects.order_by("pk").last().pk + 1000
    make_codes(3, expired=False)  # still valid: the range after the first is all kept codes
    for offset, code in enumerate(VerificationCode.objects.filter(expires_at__gt=timezone.now())):
        VerificationCode.objects.filter(pk=code.pk).update(id=far + 2 * offset)
    make_codes(2)  # above the far ones
    with django_assert_max_num_queries(40):  # not 500 batches of 2
        result = verification_codes_cleanup(batch_size=2)
    assert result.processed == 5
    assert VerificationCode.objects.count() == 3


def test_dry_run_counts_and_changes_nothing():
    make_codes(7)
    out = io.StringIO()
    call_command("cleanup_verification_codes", "--dry-run", stdout=out)
    assert out.getvalue() == "cleanup_verification_codes: dry run, 7 codes would be processed\n"
    assert VerificationCode.objects.count() == 7


def test_deletes_in_batches_with_a_constant_number_of_queries_per_batch(django_assert_max_num_queries):
    make_codes(25)
    # Per batch: savepoint, the range's DELETE, release; once: the pk bounds, the run's lock.
    with django_assert_max_num_queries(3 * 3 + 3):
        result = verification_codes_cleanup(batch_size=10)
    assert (result.processed, result.batches) == (25, 3)
    assert not VerificationCode.objects.exists()


def test_without_a_terminal_the_command_prints_one_summary_line(capsys):
    make_codes(5)
    out = io.StringIO()
    call_command("cleanup_verification_codes", "--batch-size", "2", stdout=out)
    assert out.getvalue() == "cleanup_verification_codes: 5 codes processed in 3 batches, 0 failed\n"
    assert capsys.readouterr().err == ""


def test_on_a_terminal_the_command_draws_a_progress_bar(monkeypatch):
    make_codes(4)
    err = TtyStream()
    monkeypatch.setattr("sys.stderr", err)
    call_command("cleanup_verification_codes", "--batch-size", "2", stdout=io.StringIO())
    bar = err.getvalue()
    assert "\rcodes [" in bar
    assert bar.rstrip().endswith("] 4/4")
    assert bar.count("\r") == 3  # start, and one redraw per batch


def test_interrupted_run_loses_only_its_current_batch_and_a_rerun_finishes(monkeypatch):
    make_codes(6)
    real_delete = cleanup._codes_delete
    calls = []

    def delete_then_ctrl_c(**kwargs):
        deleted = real_delete(**kwargs)
        calls.append(deleted)
        if len(calls) == 2:
            raise KeyboardInterrupt  # after the DELETE, before its batch commits
        return deleted

    monkeypatch.setattr(cleanup, "_codes_delete", delete_then_ctrl_c)
    out = io.StringIO()
    with pytest.raises(CommandError) as caught:
        call_command("cleanup_verification_codes", "--batch-size", "2", stdout=out)
    assert caught.value.returncode == 130
    assert "interrupted after 2 codes" in out.getvalue()
    assert VerificationCode.objects.count() == 4, "batch 1 committed, batch 2 rolled back"

    monkeypatch.setattr(cleanup, "_codes_delete", real_delete)
    out = io.StringIO()
    call_command("cleanup_verification_codes", "--batch-size", "2", stdout=out)
    assert out.getvalue() == "cleanup_verification_codes: 4 codes processed in 2 batches, 0 failed\n"
    assert not VerificationCode.objects.exists()


@pytest.mark.parametrize("command", ["cleanup_verification_codes", "cleanup_move_out", "cleanup_purge_requests"])
def test_cleanup_commands_run_without_the_system_checks(command, monkeypatch):
    from django.core.checks import Error, registry

    def failing_check(**kwargs):
        return [Error("a view's URL pattern is broken", id="test.E001")]

    # A broken URLconf, template or admin (what the checks look at) must not stop a cleanup.
    monkeypatch.setattr(registry.registry, "registered_checks", {failing_check})
    out = io.StringIO()
    cleanup_command = load_command_class("accounts" if command.endswith("codes") else "smarthome", command)
    # Options parsed as from cron's command line (call_command would skip the checks anyway).
    options = vars(cleanup_command.create_parser("manage.py", command).parse_args(["--dry-run"]))
    cleanup_command.execute(**options, stdout=out)
    assert "dry run" in out.getvalue()


@pytest.mark.parametrize("command", ["cleanup_verification_codes", "cleanup_move_out", "cleanup_purge_requests"])
def test_batch_size_must_be_a_positive_number(command):
    with pytest.raises(CommandError):
        call_command(command, "--batch-size", "0")


def test_purge_request_sweep_dry_run_and_failure_exit_status(monkeypatch):
    from smarthome import services

    SettingsPurgeRequest.objects.create(unit_ids=[])
    SettingsPurgeRequest.objects.create(unit_ids=[], state=SettingsPurgeRequest.State.FAILED)
    SettingsPurgeRequest.objects.create(unit_ids=[], state=SettingsPurgeRequest.State.DONE)
    out = io.StringIO()
    call_command("cleanup_purge_requests", "--dry-run", stdout=out)
    assert out.getvalue() == "cleanup_purge_requests: dry run, 2 requests would be processed\n"

    def broken(*, purge_request_id):
        raise RuntimeError("bug")

    monkeypatch.setattr(services, "settings_purge_request_process", broken)
    with pytest.raises(CommandError) as caught:
        call_command("cleanup_purge_requests", stdout=io.StringIO())
    assert caught.value.returncode == 1
    assert SettingsPurgeRequest.objects.filter(state="failed", last_error="RuntimeError").count() == 2


def test_beat_runs_the_codes_cleanup_with_the_same_service():
    from django.conf import settings

    assert settings.CELERY_BEAT_SCHEDULE["verification-codes-cleanup"]["task"] == verification_codes_cleanup_run.name
    make_codes(3)
    assert verification_codes_cleanup_run.apply().get() == 3


def fresh_process(code: str) -> str:
    """Run `code` in a new Python process with the test settings and Django set up; its output."""
    import os
    import subprocess
    import sys
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "myspacecore.settings.test", "PYTHONPATH": str(root)}
    prelude = "import django, sys\ndjango.setup()\n"
    done = subprocess.run(
        [sys.executable, "-c", prelude + code], cwd=root, env=env, capture_output=True, text=True, check=True
    )
    return done.stdout.strip()


@pytest.mark.parametrize(
    ("app", "command"),
    [
        ("accounts", "cleanup_verification_codes"),
        ("smarthome", "cleanup_move_out"),
        ("smarthome", "cleanup_purge_requests"),
    ],
)
def test_a_cleanup_command_starts_without_celery_the_console_or_http_clients(app, command):
    # What the start-up leaves out (bench/README.md, cleanup): the Celery app, every admin page
    # with the forms and services behind it, anymail's `requests`, the device channel's MQTT
    # client, cryptography (no command seals or opens anything) and what only the checks read.
    loaded = fresh_process(
        f"from django.core.management import load_command_class\n"
        f"load_command_class({app!r}, {command!r})\n"
        "print(sorted(m for m in ('celery', 'kombu', 'requests', 'redis', 'accounts.admin', 'smarthome.admin',"
        " 'myspacecore.console.admin', 'accounts.tasks', 'smarthome.tasks', 'paho.mqtt.client', 'csp.checks',"
        " 'cryptography', 'accounts.app_settings', 'myspacecore.core.retry')"
        " if m in sys.modules))"
    )
    assert loaded == "[]"


def test_a_task_sent_by_a_fresh_process_goes_through_the_project_celery_app():
    # Django's start-up no longer imports the Celery app; importing a tasks module does, so
    # @shared_task resolves to the app configured from the settings, not Celery's default.
    out = fresh_process(
        "from accounts.tasks import verification_code_send\n"
        "from smarthome.tasks import settings_purge_request_run\n"
        "from myspacecore.celery import app\n"
        "print(verification_code_send.app is app, settings_purge_request_run.app is app, app.main)"
    )
    assert out == "True True myspacecore"


def test_the_console_registry_is_filled_on_first_use_with_the_otp_device_admins_left_out():
    from django.contrib import admin
    from django_otp.plugins.otp_totp.models import TOTPDevice

    out = fresh_process(
        "from django.contrib import admin\n"
        "from django_otp.plugins.otp_totp.models import TOTPDevice\n"
        "print('accounts.admin' in sys.modules, admin.site.is_registered(TOTPDevice))\n"
        "print(' '.join(sorted(model._meta.label for model in admin.site._registry)))"
    )
    before, registered = out.splitlines()
    assert before == "False False"
    # The same pages as in a process that has served the console.
    assert registered.split() == sorted(model._meta.label for model in admin.site._registry)
    assert "tenancy.Lease" in registered.split()
    assert not admin.site.is_registered(TOTPDevice)
