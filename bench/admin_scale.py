"""Operator console at scale: query count and median time of every changelist on PostgreSQL.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/myspacecore_it_d \\
        .venv/bin/python bench/admin_scale.py [--runs 15]

The first run migrates the database and loads, with set-based SQL: operator A with
100,000 units, 100,000 residents on current leases, 200,000 unit devices and 1,000,000
settings (500,000 remote settings, 500,000 PINs), 20,000 hubs owned by residents, plus
a small operator B (1,000 units) whose rows are the newest. Later runs
reuse it. Each changelist is then requested `--runs` times in-process (Django's test
client) as platform staff and as A's operator admin; the script prints the queries per
request and the median time. Pages: plain list, a search on an indexed column, a filter.
"""

from __future__ import annotations

import argparse
import logging
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "myspacecore.settings.test")

UNITS_PER_PROPERTY = 100
PROPERTIES = 1_000
SETTINGS_PER_DEVICE = 5

# One statement each; %(op)s is the operator id, %(n)s the property count, %(tag)s a name prefix.
POPULATE = [
    """INSERT INTO accounts_property (operator_id, name, address)
       SELECT %(op)s, %(tag)s || '-物件' || g, '東京都' FROM generate_series(1, %(n)s) g""",
    """INSERT INTO accounts_unit (property_id, number)
       SELECT p.id, (100 + u)::text FROM accounts_property p, generate_series(1, %(upp)s) u
       WHERE p.operator_id = %(op)s""",
    """INSERT INTO accounts_user (password, is_superuser, phone_number, attribute_id, language, is_staff,
                                  is_active, date_joined, session_token)
       SELECT '!', false, '+8190' || (%(phone_base)s + u.id)::text,
              (SELECT id FROM accounts_userattribute WHERE code = 'rental_resident'), 'ja', false, true, now(),
              md5(u.id::text)
       FROM accounts_unit u JOIN accounts_property p ON p.id = u.property_id WHERE p.operator_id = %(op)s""",
    """INSERT INTO accounts_profile (user_id, nickname, birth_year, gender, created_at, updated_at)
       SELECT id, '住人' || id, 1985, 'unanswered', now(), now() FROM accounts_user
       WHERE phone_number LIKE '+8190%%' AND id NOT IN (SELECT user_id FROM accounts_profile)""",
    """INSERT INTO accounts_lease (unit_id, phone_number, attribute_id, start_date, end_date, resident_id, created_at)
       SELECT u.id, usr.phone_number, usr.attribute_id, current_date - 365, NULL, usr.id, now()
       FROM accounts_unit u JOIN accounts_property p ON p.id = u.property_id
       JOIN accounts_user usr ON usr.phone_number = '+8190' || (%(phone_base)s + u.id)::text
       WHERE p.operator_id = %(op)s""",
    """INSERT INTO smarthome_device (kind, name, serial_number, unit_id, created_at)
       SELECT k.kind, k.kind || '-' || u.id, %(tag)s || '-' || k.kind || '-' || u.id, u.id, now()
       FROM accounts_unit u JOIN accounts_property p ON p.id = u.property_id,
            (VALUES ('hub'), ('smart_lock')) AS k(kind)
       WHERE p.operator_id = %(op)s""",
    """INSERT INTO smarthome_remotecontrolsetting (device_id, name, appliance_type, maker, signal_data,
                                                   created_at, updated_at)
       SELECT d.id, 'エアコン' || s, 'air_conditioner', 'ダイキン', 'preset:ac', now(), now()
       FROM smarthome_device d JOIN accounts_unit u ON u.id = d.unit_id
       JOIN accounts_property p ON p.id = u.property_id, generate_series(1, %(spd)s) s
       WHERE p.operator_id = %(op)s AND d.kind = 'hub'""",
    """INSERT INTO smarthome_pincode (device_id, label, pin_encrypted, pin_lookup, created_at)
       SELECT d.id, '家族' || s, 'gAAAAA-bench-not-a-real-token', md5(d.id::text || s), now()
       FROM smarthome_device d JOIN accounts_unit u ON u.id = d.unit_id
       JOIN accounts_property p ON p.id = u.property_id, generate_series(1, %(spd)s) s
       WHERE p.operator_id = %(op)s AND d.kind = 'smart_lock'""",
    """INSERT INTO accounts_auditlogentry (operator_id, actor_label, action, target_label, old_value, new_value,
                                          created_at)
       SELECT %(op)s, 'bench', 'sessions_end', '#' || g, '', '', now() - (g || ' minutes')::interval
       FROM generate_series(1, %(n)s * 10) g""",
]


def populate() -> tuple[int, int]:
    from django.contrib.auth.models import Group
    from django.core.management import call_command
    from django.db import connection, transaction

    from accounts.models import User
    from myspacecore.tenancy.models import Operator

    call_command("migrate", verbosity=0)
    a = Operator.objects.filter(name="BENCH-A").first()
    if a is None:
        started = time.perf_counter()
        with transaction.atomic(), connection.cursor() as cursor:
            a = Operator.objects.create(name="BENCH-A")
            b = Operator.objects.create(name="BENCH-B")
            for operator, tag, properties, phone_base in ((a, "A", PROPERTIES, 0), (b, "B", 10, 50_000_000)):
                params = {
                    "op": operator.pk,
                    "tag": tag,
                    "n": properties,
                    "upp": UNITS_PER_PROPERTY,
                    "spd": SETTINGS_PER_DEVICE,
                    "phone_base": 10_000_000 + phone_base,
                }
                for statement in POPULATE:
                    cursor.execute(statement, params)
            cursor.execute("ANALYZE")
        print(f"populated in {time.perf_counter() - started:.0f} s", flush=True)
    from smarthome.models import Device

    if not Device.objects.filter(owner_user__isnull=False).exists():
        # Every fifth resident bought a hub: lists must also follow the owner's lease.
        with connection.cursor() as cursor:
            cursor.execute(
                """INSERT INTO smarthome_device (kind, name, serial_number, owner_user_id, created_at)
                   SELECT 'hub', 'own-' || id, 'OWN-hub-' || id, id, now() FROM accounts_user
                   WHERE phone_number IS NOT NULL AND id % 5 = 0"""
            )
            cursor.execute("ANALYZE smarthome_device")
    # Throwaway accounts of a benchmark database; the bench signs in with force_login.
    if not User.objects.filter(username="bench-a-admin").exists():
        User.objects.create_superuser(username="bench-platform", password=None)
        staff = User.objects.create_user(username="bench-a-admin", password=None, operator=a, is_staff=True)
        staff.groups.set([Group.objects.get(name="operator_admin")])
    return a.pk, Operator.objects.get(name="BENCH-B").pk


def measure(runs: int) -> None:
    from django.contrib import admin
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext, setup_test_environment
    from django.urls import reverse

    from accounts.models import User
    from myspacecore.tenancy.models import Lease, Property
    from smarthome.models import Device

    setup_test_environment()
    # The operator admin's 403 on platform-only lists is expected: keep the output to the table.
    logging.getLogger("django.request").setLevel(logging.ERROR)
    a_id, _b_id = populate()
    counts = {
        label: model.objects.count()
        for label, model in [
            ("users", User),
            ("leases", Lease),
            ("devices", Device),
        ]
    }
    from smarthome.models import PinCode, RemoteControlSetting

    counts["settings"] = RemoteControlSetting.objects.count() + PinCode.objects.count()
    print("rows:", ", ".join(f"{key}={value:,}" for key, value in counts.items()))

    some_lease = Lease.objects.filter(unit__property__operator_id=a_id).order_by("pk")[5000]
    some_device = Device.objects.filter(unit__property__operator_id=a_id, kind="hub").order_by("pk")[5000]
    some_property = Property.objects.filter(operator_id=a_id).order_by("pk")[500]
    extras = {
        "tenancy_lease": [
            ("search phone", {"q": some_lease.phone_number.as_national}),
            ("filter property", {"unit__property__id__exact": some_property.pk}),
            ("filter status", {"status": "current"}),
        ],
        "accounts_residentaccount": [("search phone", {"q": some_lease.phone_number.as_national})],
        "tenancy_unit": [
            ("search number", {"q": "150"}),
            ("filter property", {"property__id__exact": some_property.pk}),
        ],
        "smarthome_device": [("search serial", {"q": some_device.serial_number})],
        "smarthome_remotecontrolsetting": [("search serial", {"q": some_device.serial_number})],
        "smarthome_pincode": [("search serial", {"q": some_device.serial_number.replace("hub", "smart_lock")})],
    }
    print(f"{'who':<15} {'changelist':<44} {'queries':>7} {'median ms':>10} {'max ms':>8}")
    for who in ("bench-platform", "bench-a-admin"):
        client = Client()
        client.force_login(User.objects.get(username=who))
        for model in sorted(admin.site._registry, key=lambda m: m._meta.label):
            name = f"{model._meta.app_label}_{model._meta.model_name}"
            url = reverse(f"admin:{name}_changelist")
            for title, params in [("list", {}), *extras.get(name, [])]:
                timings, queries = [], 0
                for _ in range(runs):
                    with CaptureQueriesContext(connection) as captured:
                        started = time.perf_counter()
                        response = client.get(url, params)
                        timings.append((time.perf_counter() - started) * 1000)
                    queries = len(captured.captured_queries)
                if response.status_code != 200:
                    continue
                print(
                    f"{who:<15} {model._meta.label + ' ' + title:<44} {queries:>7} "
                    f"{statistics.median(timings):>10.1f} {max(timings):>8.1f}",
                    flush=True,
                )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=15)
    args = parser.parse_args()
    if not os.environ.get("DATABASE_URL", "").startswith("postgres"):
        print("Set DATABASE_URL to a PostgreSQL database (this measures PostgreSQL).", file=sys.stderr)
        return 2
    import django

    django.setup()
    measure(args.runs)
    return 0


if __name__ == "__main__":
    sys.exit(main())
