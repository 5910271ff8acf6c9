"""What scanners, monitors and Lighthouse ask of every site: HEAD, a favicon, a description,
a Permissions-Policy header; and an embedded database that takes a few users at once."""

from __future__ import annotations

import json
from http import HTTPStatus

import pytest
from django.urls import reverse

from tests.foundation.test_settings import production_env, run_python


@pytest.mark.django_db
@pytest.mark.parametrize("name", ["home", "healthz"])
def test_head_is_answered_like_get(client, name):
    get = client.get(reverse(name))
    head = client.head(reverse(name))
    assert head.status_code == get.status_code == HTTPStatus.OK
    assert head.content == b""


@pytest.mark.django_db
def test_pages_say_which_browser_features_they_never_use(client):
    policy = client.get(reverse("home"))["Permissions-Policy"]
    for feature in ("camera=()", "microphone=()", "geolocation=()", "payment=()"):
        assert feature in policy


@pytest.mark.django_db
def test_favicon_is_served_at_the_root(client):
    response = client.get("/favicon.ico")
    assert response.status_code == HTTPStatus.OK
    assert response["Content-Type"] in ("image/x-icon", "image/vnd.microsoft.icon")
    assert b"".join(response.streaming_content)[:4] == b"\x00\x00\x01\x00"  # an ICO header


@pytest.mark.django_db
def test_every_page_has_a_description_and_an_icon(client):
    html = client.get(reverse("accounts:signin")).content.decode()
    assert '<meta name="description" content="SpaceCore' in html
    assert 'rel="icon"' in html


PROBE = """
import json, django
from django.conf import settings
django.setup()
from django.db import connection
with connection.cursor() as cursor:
    cursor.execute("PRAGMA journal_mode")
    journal = cursor.fetchone()[0]
    cursor.execute("PRAGMA busy_timeout")
    busy = cursor.fetchone()[0]
print(json.dumps({"options": settings.DATABASES["default"]["OPTIONS"], "journal": journal, "busy_ms": busy,
                  "sms_file_path": settings.SMS_FILE_PATH}))
"""


def test_the_embedded_sqlite_queues_concurrent_writes_instead_of_failing(tmp_path):
    database = f"sqlite:///{tmp_path / 'db.sqlite3'}"
    result = run_python(PROBE, {"DJANGO_SETTINGS_MODULE": "myspacecore.settings.local", "DATABASE_URL": database})
    assert result.returncode == 0, result.stderr
    loaded = json.loads(result.stdout)
    assert loaded["options"]["transaction_mode"] == "IMMEDIATE"
    assert loaded["journal"] == "wal"
    assert loaded["busy_ms"] == 20_000


def test_production_reads_the_file_sms_backends_folder_from_the_environment(tmp_path):
    code = "import django; from django.conf import settings; django.setup(); print(settings.SMS_FILE_PATH)"
    result = run_python(code, production_env(SMS_FILE_PATH=str(tmp_path)))
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == str(tmp_path)


TWO_SAVES = """
import json, threading, time, django
django.setup()
from django.db import connection, transaction
with connection.cursor() as cursor:
    cursor.execute("CREATE TABLE counter (id integer PRIMARY KEY, n integer)")
    cursor.execute("INSERT INTO counter VALUES (1, 0)")
connection.close()
errors, start = [], threading.Barrier(2)

def save():
    start.wait()
    try:
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute("SELECT n FROM counter WHERE id = 1")
            n = cursor.fetchone()[0]
            time.sleep(0.3)
            cursor.execute("UPDATE counter SET n = %s WHERE id = 1", [n + 1])
    except Exception as exc:
        errors.append(repr(exc))
    finally:
        connection.close()

threads = [threading.Thread(target=save) for _ in range(2)]
[thread.start() for thread in threads]
[thread.join() for thread in threads]
with connection.cursor() as cursor:
    cursor.execute("SELECT n FROM counter WHERE id = 1")
    print(json.dumps({"errors": errors, "n": cursor.fetchone()[0]}))
"""


def test_two_saves_at_the_same_moment_both_land_on_the_embedded_sqlite(tmp_path):
    database = f"sqlite:///{tmp_path / 'db.sqlite3'}"
    result = run_python(TWO_SAVES, {"DJANGO_SETTINGS_MODULE": "myspacecore.settings.local", "DATABASE_URL": database})
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == {"errors": [], "n": 2}


@pytest.mark.django_db
def test_the_health_check_of_a_signed_in_browser_reads_no_account():
    """A monitor or a resident's open tab polling /healthz costs the session and SELECT 1 only:
    the registration rule reads the account only on the paths it guards."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from tests.accounts.profile_helpers import signed_in
    from tests.factories import ProfileFactory

    client = signed_in(ProfileFactory().user)
    with CaptureQueriesContext(connection) as queries:
        assert client.get("/healthz").status_code == HTTPStatus.OK
    assert not [q["sql"] for q in queries.captured_queries if "accounts_user" in q["sql"]]
