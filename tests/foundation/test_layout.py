"""The base layout, the language and text-size switches, security headers, the health endpoint."""

from __future__ import annotations

from http import HTTPStatus

import pytest
from django.urls import reverse

pytestmark = pytest.mark.django_db


def test_home_renders_in_japanese_by_default(client):
    response = client.get(reverse("home"))
    assert response.status_code == HTTPStatus.OK
    html = response.content.decode()
    assert '<html lang="ja" class="text-standard">' in html
    assert "電話番号でサインイン" in html
    assert "導入事業者様向けログイン" in html
    assert 'href="#main"' in html  # skip link


def test_home_renders_in_english_after_the_language_switch(client):
    response = client.post(reverse("set_language"), {"language": "en", "next": "/"})
    assert response.status_code == HTTPStatus.FOUND
    html = client.get(reverse("home")).content.decode()
    assert '<html lang="en"' in html
    assert "Sign in with your phone number" in html
    assert "Operator login" in html


@pytest.mark.parametrize("size", ["small", "standard", "large"])
def test_text_size_switch_is_remembered_without_javascript(client, size):
    response = client.post(reverse("text_size"), {"size": size, "next": "/"})
    assert response.status_code == HTTPStatus.FOUND
    assert response["Location"] == "/"
    assert response.cookies["text_size"].value == size
    html = client.get(reverse("home")).content.decode()
    assert f'class="text-{size}"' in html
    assert f'value="{size}" aria-pressed="true"' in html


def test_text_size_switch_ignores_unknown_sizes(client):
    response = client.post(reverse("text_size"), {"size": "<script>", "next": "/"})
    assert "text_size" not in response.cookies
    client.cookies["text_size"] = "huge"
    assert 'class="text-standard"' in client.get(reverse("home")).content.decode()


def test_text_size_switch_never_redirects_to_another_site(client):
    response = client.post(reverse("text_size"), {"size": "large", "next": "https://evil.example/"})
    assert response["Location"] == "/"


def test_text_size_switch_refuses_get(client):
    assert client.get(reverse("text_size")).status_code == HTTPStatus.METHOD_NOT_ALLOWED


def test_pages_send_a_strict_content_security_policy(client):
    response = client.get(reverse("home"))
    policy = response["Content-Security-Policy"]
    assert "unsafe-inline" not in policy
    for directive in ("default-src 'self'", "object-src 'none'", "base-uri 'none'", "frame-ancestors 'none'"):
        assert directive in policy
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["X-Frame-Options"] == "DENY"
    assert response["Cross-Origin-Opener-Policy"] == "same-origin"
    assert response["Referrer-Policy"] == "same-origin"


def test_healthz_reports_each_service(client):
    response = client.get(reverse("healthz"))
    assert response.status_code == HTTPStatus.OK
    assert response.json() == {"status": "ok", "database": "ok", "cache": "ok", "broker": "eager"}


def test_healthz_reports_a_stopped_redis_cache_as_unhealthy(client, settings):
    # Nothing listens on port 1: the same as a stopped Redis.
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": "redis://127.0.0.1:1/0",
            "OPTIONS": {"socket_connect_timeout": 0.5, "socket_timeout": 0.5},
        }
    }
    response = client.get(reverse("healthz"))
    assert response.status_code == HTTPStatus.SERVICE_UNAVAILABLE
    assert response.json()["status"] == "unhealthy"
    assert response.json()["cache"] == "unavailable"
    assert response.json()["database"] == "ok"


def test_healthz_reports_a_stopped_redis_broker_as_unhealthy(client, settings):
    settings.CELERY_TASK_ALWAYS_EAGER = False
    settings.CELERY_BROKER_URL = "redis://127.0.0.1:1/0"
    response = client.get(reverse("healthz"))
    assert response.status_code == HTTPStatus.SERVICE_UNAVAILABLE
    assert response.json()["broker"] == "unavailable"


def test_every_page_title_names_the_page_then_the_site(client):
    html = client.get(reverse("accounts:signin")).content.decode()
    assert "<title>サインイン | MySpaceCore</title>" in html
    html = client.get("/no-such-page/").content.decode()
    assert "<title>ページが見つかりません | MySpaceCore</title>" in html
