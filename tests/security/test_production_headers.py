"""Production settings (ASVS V3, V7): the headers and cookies of real responses, and `check --deploy`.

A subprocess loads `myspacecore.settings.production` with a sample environment (a throwaway
SQLite file for the database, the machine's Redis for the cache), migrates, collects the
static files, and asks the sign-in page and the staff sign-in for real responses through
Django's test client, as the TLS-terminating proxy would forward them.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import require_service
from tests.foundation.test_settings import production_env

ROOT = Path(__file__).resolve().parents[2]
ONE_YEAR = 365 * 24 * 60 * 60

# Production settings exactly, except where collectstatic writes (a temporary folder, not the checkout).
SHIM = """
from myspacecore.settings.production import *  # noqa: F403

STATIC_ROOT = {static_root!r}
"""

PROBE = """
import io, json
import django
django.setup()
from django.core.management import call_command
from django.test import Client
from accounts.models import User

call_command("migrate", interactive=False, verbosity=0)
call_command("collectstatic", interactive=False, verbosity=0)
out, err = io.StringIO(), io.StringIO()
call_command("check", deploy=True, stdout=out, stderr=err)
User.objects.create_user(username="probe-staff", password="a-long-probe-password", is_staff=True)

def cookies(response):
    return {
        name: {"secure": bool(m["secure"]), "httponly": bool(m["httponly"]), "samesite": m["samesite"],
               "path": m["path"], "domain": m["domain"]}
        for name, m in response.cookies.items()
    }

browser = Client(HTTP_HOST="my.space-core.net")
plain_http = browser.get("/signin/")
behind_tls = {"HTTP_X_FORWARDED_PROTO": "https"}
page = browser.get("/signin/", **behind_tls)
staff = browser.post(
    "/admin/login/?next=/admin/",
    {"username": "probe-staff", "password": "a-long-probe-password", "next": "/admin/"},
    **behind_tls,
)
print(json.dumps({
    "check": out.getvalue() + err.getvalue(),
    "http": [plain_http.status_code, plain_http.get("Location")],
    "page": [page.status_code, dict(page.headers), cookies(page)],
    "staff": [staff.status_code, dict(staff.headers), cookies(staff)],
}))
"""


@pytest.fixture(scope="module")
def production(tmp_path_factory):
    """What the probe saw under production settings (run once for the module)."""
    require_service("Redis", "127.0.0.1", 6379)
    folder = tmp_path_factory.mktemp("production")
    (folder / "production_probe_settings.py").write_text(SHIM.format(static_root=str(folder / "static")))
    # The production environment of the settings tests (one copy of the required variables),
    # pointed at this probe's settings shim, its SQLite file and a Redis db of its own.
    env = {
        "PATH": os.environ["PATH"],
        "HOME": os.environ.get("HOME", "/tmp"),
        **production_env(
            PYTHONPATH=os.pathsep.join([str(folder), str(ROOT)]),
            DJANGO_SETTINGS_MODULE="production_probe_settings",
            DJANGO_CSRF_TRUSTED_ORIGINS="https://my.space-core.net",
            DATABASE_URL=f"sqlite:///{folder / 'db.sqlite3'}",
            REDIS_URL="redis://127.0.0.1:6379/8",
            DJANGO_LOG_LEVEL="WARNING",
        ),
    }
    result = subprocess.run(
        [sys.executable, "-c", PROBE], cwd=ROOT, env=env, capture_output=True, text=True, timeout=180
    )
    assert result.returncode == 0, result.stderr[-4000:]
    return json.loads(result.stdout.strip().splitlines()[-1])


def csp_directives(header: str) -> dict[str, list[str]]:
    directives = {}
    for part in header.split(";"):
        name, *values = part.split()
        directives[name] = values
    return directives


def test_check_deploy_reports_no_issue_under_production_settings(production):
    assert "System check identified no issues (0 silenced)." in production["check"]
    assert "WARNING" not in production["check"]


def test_plain_http_is_redirected_to_https(production):
    status, location = production["http"]
    assert status == 301
    assert location == "https://my.space-core.net/signin/"


@pytest.mark.parametrize("response", ["page", "staff"])
def test_hsts_is_at_least_one_year_with_subdomains(production, response):
    hsts = production[response][1]["Strict-Transport-Security"]
    fields = [field.strip() for field in hsts.split(";")]
    max_age = int(next(field for field in fields if field.startswith("max-age=")).split("=")[1])
    assert max_age >= ONE_YEAR
    assert "includeSubDomains" in fields


@pytest.mark.parametrize("response", ["page", "staff"])
def test_csp_forbids_plugins_base_tags_framing_and_inline_code(production, response):
    header = production[response][1]["Content-Security-Policy"]
    directives = csp_directives(header)
    assert directives["object-src"] == ["'none'"]
    assert directives["base-uri"] == ["'none'"]
    assert directives["frame-ancestors"] == ["'none'"]
    assert directives["default-src"] == ["'self'"]
    assert "'unsafe-inline'" not in header
    assert "'unsafe-eval'" not in header


@pytest.mark.parametrize("response", ["page", "staff"])
def test_nosniff_referrer_policy_coop_and_framing_headers(production, response):
    headers = production[response][1]
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["Referrer-Policy"] in {"same-origin", "no-referrer", "strict-origin"}
    assert headers["Cross-Origin-Opener-Policy"] == "same-origin"
    assert headers["X-Frame-Options"] == "DENY"


def test_sign_in_page_is_never_cached(production):
    assert "no-store" in production["page"][1]["Cache-Control"]


def test_csrf_and_session_cookies_are_host_prefixed_secure_httponly_samesite(production):
    status, _headers, page_cookies = production["page"]
    assert status == 200
    staff_status, _headers, staff_cookies = production["staff"]
    assert staff_status == 302
    cookies = {**page_cookies, **staff_cookies}
    assert {"__Host-csrftoken", "__Host-sessionid"} <= cookies.keys()
    for name, cookie in cookies.items():
        assert name.startswith("__Host-"), name
        assert cookie["secure"] and cookie["httponly"], name
        assert cookie["samesite"] in ("Lax", "Strict"), name
        # The __Host- prefix is refused by browsers unless the path is / and no Domain is set.
        assert cookie["path"] == "/" and not cookie["domain"], name
