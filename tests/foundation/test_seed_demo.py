"""The demo data command: idempotent, and refused where demo data has no place."""

from __future__ import annotations

import pytest
from django.core.management import CommandError, call_command

from accounts.models import User
from myspacecore.demo.accounts import DEMO_STAFF_PASSWORD, DEMO_STAFF_USERNAME
from myspacecore.tenancy.models import Lease, Operator, Property, Unit

pytestmark = pytest.mark.django_db


def counts() -> dict[str, int]:
    return {model.__name__: model.objects.count() for model in (Operator, Property, Unit, Lease, User)}


def test_seed_demo_is_idempotent(capsys):
    call_command("seed_demo")
    first = counts()
    call_command("seed_demo")
    assert counts() == first
    assert first["Operator"] == 1
    assert first["Lease"] == 3
    output = capsys.readouterr().out
    assert DEMO_STAFF_USERNAME in output and DEMO_STAFF_PASSWORD in output
    assert "090-1111-0001" in output


def test_seed_demo_staff_account_signs_in_to_the_admin(client):
    call_command("seed_demo")
    assert client.login(username=DEMO_STAFF_USERNAME, password=DEMO_STAFF_PASSWORD)
    assert client.get("/admin/").status_code == 200


def test_seed_demo_gives_leases_of_each_state():
    call_command("seed_demo")
    assert Lease.objects.current().count() == 2
    assert Lease.objects.past().count() == 1


def test_seed_demo_is_refused_without_demo_data_allowed(settings):
    settings.DEMO_DATA_ALLOWED = False
    with pytest.raises(CommandError):
        call_command("seed_demo")
    assert not User.objects.filter(username=DEMO_STAFF_USERNAME).exists()
