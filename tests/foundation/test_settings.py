"""Each settings module loads in its own mode; production refuses to start without secrets."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from cryptography.fernet import Fernet

ROOT = Path(__file__).resolve().parents[2]

PROBE = """
import json, django
from django.conf import settings
django.setup()
print(json.dumps({
    "engine": settings.DATABASES["default"]["ENGINE"],
    "eager": settings.CELERY_TASK_ALWAYS_EAGER,
    "email": settings.EMAIL_BACKEND,
    "sms": settings.SMS_BACKEND,
    "cache": settings.CACHES["default"]["BACKEND"],
    "debug": settings.DEBUG,
    "session_cookie": settings.SESSION_COOKIE_NAME,
    "secret_key_fallbacks": settings.SECRET_KEY_FALLBACKS,
}))
"""


def production_env(**extra: str) -> dict[str, str]:
    key = Fernet.generate_key().decode()
    return {
        "DJANGO_SETTINGS_MODULE": "myspacecore.settings.production",
        "DJANGO_SECRET_KEY": "p" + os.urandom(40).hex(),
        "DJANGO_ALLOWED_HOSTS": "my.space-core.net",
        "DATABASE_URL": "postgres://myspacecore@127.0.0.1:5432/myspacecore",
        "REDIS_URL": "redis://127.0.0.1:6379/0",
        "ACCOUNTS_CODE_HMAC_KEY": os.urandom(32).hex(),
        "ACCOUNTS_DELIVERY_KEYS": key,
        "SMARTHOME_PIN_KEYS": key,
        "SMARTHOME_MQTT_URL": "mqtt://127.0.0.1:1883",
        "SMARTHOME_DEVICE_KEY_SECRET": os.urandom(32).hex(),
        **extra,
    }


def run_python(code: str, env: dict[str, str]) -> subprocess.CompletedProcess:
    clean = {"PATH": os.environ["PATH"], "HOME": os.environ.get("HOME", "/tmp"), **env}
    return subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=clean, capture_output=True, text=True, timeout=60)


def run_manage(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess:
    clean = {"PATH": os.environ["PATH"], "HOME": os.environ.get("HOME", "/tmp"), **env}
    return subprocess.run(
        [sys.executable, "manage.py", *args], cwd=ROOT, env=clean, capture_output=True, text=True, timeout=120
    )


def test_local_settings_need_nothing_installed():
    result = run_python(PROBE, {"DJANGO_SETTINGS_MODULE": "myspacecore.settings.local"})
    assert result.returncode == 0, result.stderr
    loaded = json.loads(result.stdout)
    assert loaded == {
        "engine": "django.db.backends.sqlite3",
        "eager": True,
        "email": "django.core.mail.backends.console.EmailBackend",
        "sms": "accounts.sms.backends.console.SmsBackend",
        "cache": "django.core.cache.backends.db.DatabaseCache",
        "debug": True,
        "session_cookie": "sessionid",
        "secret_key_fallbacks": [],
    }


def test_a_dot_env_file_is_read_only_when_asked_for():
    dot_env = ROOT / ".env"
    if dot_env.exists():
        pytest.skip("a developer's own .env is here; a clean clone (CI) has none")
    dot_env.write_text("SMS_BACKEND=accounts.sms.backends.filebased.SmsBackend\n")
    try:
        ignored = run_python(PROBE, {"DJANGO_SETTINGS_MODULE": "myspacecore.settings.local"})
        read = run_python(
            PROBE, {"DJANGO_SETTINGS_MODULE": "myspacecore.settings.local", "DJANGO_READ_DOT_ENV_FILE": "true"}
        )
    finally:
        dot_env.unlink()
    assert ignored.returncode == 0, ignored.stderr
    assert json.loads(ignored.stdout)["sms"] == "accounts.sms.backends.console.SmsBackend"
    assert read.returncode == 0, read.stderr
    assert json.loads(read.stdout)["sms"] == "accounts.sms.backends.filebased.SmsBackend"


def test_production_settings_use_real_services():
    result = run_python(PROBE, production_env())
    assert result.returncode == 0, result.stderr
    loaded = json.loads(result.stdout)
    assert loaded["engine"] == "django.db.backends.postgresql"
    assert loaded["eager"] is False
    assert loaded["email"].startswith("anymail.")
    assert loaded["sms"] == "accounts.sms.backends.twilio.SmsBackend"
    assert loaded["cache"] == "django.core.cache.backends.redis.RedisCache"
    assert loaded["debug"] is False
    assert loaded["session_cookie"] == "__Host-sessionid"
    assert loaded["secret_key_fallbacks"] == []


def test_production_reads_the_previous_secret_keys_while_rotating():
    result = run_python(PROBE, production_env(DJANGO_SECRET_KEY_FALLBACKS="old-key-one,old-key-two"))
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["secret_key_fallbacks"] == ["old-key-one", "old-key-two"]


@pytest.mark.parametrize(
    "missing",
    [
        "DJANGO_SECRET_KEY",
        "DATABASE_URL",
        "REDIS_URL",
        "ACCOUNTS_CODE_HMAC_KEY",
        "SMARTHOME_PIN_KEYS",
        "SMARTHOME_MQTT_URL",
        "SMARTHOME_DEVICE_KEY_SECRET",
    ],
)
def test_production_refuses_to_start_without_a_secret_or_service(missing):
    env = production_env()
    del env[missing]
    result = run_python(PROBE, env)
    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr
    assert missing in result.stderr


def test_production_check_deploy_prints_no_issues():
    result = run_manage("check", "--deploy", env=production_env())
    assert result.returncode == 0, result.stderr
    assert "System check identified no issues (0 silenced)." in result.stdout
    assert "WARNINGS" not in result.stdout + result.stderr


def test_test_settings_are_in_use(settings):
    from django.template import engines

    # Templates are compiled once per process (Django's cached loader, on by default).
    assert engines["django"].engine.loaders[0][0] == "django.template.loaders.cached.Loader"
    assert settings.SMS_BACKEND == "accounts.sms.backends.locmem.SmsBackend"
    assert settings.EMAIL_BACKEND == "django.core.mail.backends.locmem.EmailBackend"
    assert settings.PASSWORD_HASHERS == ["django.contrib.auth.hashers.MD5PasswordHasher"]


def test_beat_sweeps_go_to_a_queue_a_procfile_worker_serves_and_deliveries_do_not(settings):
    from accounts.tasks import verification_code_send
    from myspacecore.celery import app

    procfile = (ROOT / "Procfile").read_text()
    served = set(re.findall(r"celery -A myspacecore worker --queues (\S+)", procfile))
    for entry in settings.CELERY_BEAT_SCHEDULE.values():
        queue = app.amqp.router.route({}, entry["task"])["queue"].name
        assert queue == "maintenance", entry["task"]
        assert queue in served
    delivery_queue = app.amqp.router.route({}, verification_code_send.name)["queue"].name
    # Apart from purges and notices (`celery`): a hanging provider holds only its own worker.
    assert delivery_queue == "codes" and delivery_queue in served
    for notice in ("accounts.user_phone_changed_notice_send", "accounts.profile_email_changed_notice_send"):
        assert app.amqp.router.route({}, notice)["queue"].name == "celery"


def test_django_csp_checks_still_run_though_imported_only_when_checks_run(settings):
    from django.core import checks

    settings.CSP_DEFAULT_SRC = ("'self'",)  # a django-csp < 4 setting
    errors = checks.run_checks(tags=[checks.Tags.security])
    assert "csp.E001" in {error.id for error in errors}
