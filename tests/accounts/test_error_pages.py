"""The error pages a resident can meet are in the site's layout and say what to do next."""

from __future__ import annotations

from http import HTTPStatus

import pytest
from django.template.loader import get_template
from django.test import Client

from tests.browser.resident_pages import BAD_REQUEST_PATH

pytestmark = pytest.mark.django_db

LAYOUT = ('class="site-header"', 'href="/help/"', 'id="main"')


def in_layout(content: str) -> bool:
    return all(part in content for part in LAYOUT)


def test_refused_form_csrf_gets_the_sites_403_page_with_what_to_do():
    client = Client(enforce_csrf_checks=True)
    response = client.post("/signin/", {"phone_number": "090-1234-5678"})
    assert response.status_code == HTTPStatus.FORBIDDEN
    content = response.content.decode()
    assert in_layout(content)
    assert "送信できませんでした" in content and "Cookie" in content
    assert "CSRF" not in content


def test_refused_form_page_in_english():
    client = Client(enforce_csrf_checks=True)
    client.cookies["django_language"] = "en"
    content = client.post("/signin/", {"phone_number": "090-1234-5678"}).content.decode()
    assert "Your form could not be sent" in content


def test_not_found_is_in_the_layout(client):
    response = client.get("/no-such-page/")
    assert response.status_code == HTTPStatus.NOT_FOUND
    assert in_layout(response.content.decode())
    assert "ページが見つかりません" in response.content.decode()


def test_bad_request_is_in_the_layout(client):
    response = client.get(BAD_REQUEST_PATH)
    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert in_layout(response.content.decode())


def test_too_many_requests_says_when_to_try_again(client):
    for _ in range(10):
        client.post("/help/about/feedback/", {"helpful": "yes"})
    response = client.post("/help/about/feedback/", {"helpful": "yes"})
    assert response.status_code == HTTPStatus.TOO_MANY_REQUESTS
    assert in_layout(response.content.decode())
    # Why, and from when: a clock time and the time left (the window is an hour).
    assert "短い時間に操作が続いたため、一時的に受け付けを止めています。" in response.content.decode()
    assert "以降にもう一度お試しください（あと1時間）。" in response.content.decode()
    assert response["Retry-After"] == "3600"


def test_server_error_page_renders_without_any_context():
    content = get_template("500.html").render()
    assert 'class="site-header"' in content and "エラーが発生しました" in content and 'lang="en"' in content
