"""The pages' CSRF token (myspacecore.core.csrf_tokens) is Django's: same secret, same checks, a fresh mask."""

from __future__ import annotations

from collections import Counter
from http import HTTPStatus

import pytest
from django.middleware.csrf import (
    CSRF_ALLOWED_CHARS,
    CSRF_TOKEN_LENGTH,
    CsrfViewMiddleware,
    _check_token_format,
    _unmask_cipher_token,
    get_token,
)
from django.template import engines
from django.test import Client, RequestFactory

from myspacecore.core.csrf_tokens import csrf_token, masked

SECRET = "a" * 16 + "Z9" * 8


def test_a_token_unmasks_to_its_secret_in_djangos_format():
    for _ in range(200):
        token = masked(SECRET)
        _check_token_format(token)
        assert len(token) == CSRF_TOKEN_LENGTH
        assert _unmask_cipher_token(token) == SECRET


def test_each_token_has_a_fresh_mask_over_every_character():
    tokens = {masked(SECRET) for _ in range(2000)}
    assert len(tokens) == 2000
    counts = Counter(char for token in tokens for char in token[:32])
    assert set(counts) == set(CSRF_ALLOWED_CHARS)
    expected = 2000 * 32 / len(CSRF_ALLOWED_CHARS)  # ~1,032 each
    assert all(0.8 * expected < count < 1.2 * expected for count in counts.values())


def test_the_cookie_is_renewed_as_get_token_renews_it():
    ours, django = RequestFactory().get("/"), RequestFactory().get("/")
    for request in (ours, django):
        request.META["CSRF_COOKIE"] = SECRET
    token = csrf_token(ours)
    get_token(django)
    csrf_keys = {key for key in {*ours.META, *django.META} if key.startswith("CSRF_")}
    assert {key: ours.META[key] for key in csrf_keys} == {key: django.META[key] for key in csrf_keys}
    assert _unmask_cipher_token(token) == SECRET


def test_without_a_secret_django_makes_one():
    request = RequestFactory().get("/")
    token = csrf_token(request)
    assert request.META["CSRF_COOKIE_NEEDS_UPDATE"] is True
    assert _unmask_cipher_token(token) == request.META["CSRF_COOKIE"]


def test_the_template_tag_renders_our_token():
    request = RequestFactory().get("/")
    request.META["CSRF_COOKIE"] = SECRET
    html = engines["django"].from_string("{% csrf_token %}").render({}, request)
    value = html.split('value="')[1].split('"')[0]
    assert _unmask_cipher_token(value) == SECRET


@pytest.mark.django_db
def test_a_form_posted_with_the_pages_token_is_accepted_and_a_forged_one_refused():
    client = Client(enforce_csrf_checks=True)
    page = client.get("/signin/").content.decode()
    token = page.split('name="csrfmiddlewaretoken" value="')[1].split('"')[0]
    assert client.post("/text-size/", {"csrfmiddlewaretoken": token, "size": "large"}).status_code == HTTPStatus.FOUND
    forged = masked("b" * 32)
    assert client.post("/text-size/", {"csrfmiddlewaretoken": forged, "size": "large"}).status_code == (
        HTTPStatus.FORBIDDEN
    )


def test_the_middleware_accepts_what_it_would_have_accepted():
    request = RequestFactory().post("/", {"csrfmiddlewaretoken": masked(SECRET)})
    request.COOKIES["csrftoken"] = SECRET
    middleware = CsrfViewMiddleware(lambda r: None)
    middleware.process_request(request)
    assert middleware.process_view(request, lambda r: None, (), {}) is None


def test_the_lazy_token_draws_once_when_used_and_not_before():
    from myspacecore.core.csrf_tokens import LazyToken

    request = RequestFactory().get("/")
    request.META["CSRF_COOKIE"] = SECRET
    token = LazyToken(request)
    assert "CSRF_COOKIE_NEEDS_UPDATE" not in request.META  # a page without a form renews nothing
    text = str(token)
    assert request.META["CSRF_COOKIE_NEEDS_UPDATE"] is True
    assert _unmask_cipher_token(text) == SECRET
    assert token == text and token != "NOTPROVIDED" and bool(token)
    assert hash(token) == hash(text) and len(token) == CSRF_TOKEN_LENGTH and token.__html__() == text


def test_every_form_of_a_page_gets_the_one_token_and_the_variable_renders_it():
    request = RequestFactory().get("/")
    request.META["CSRF_COOKIE"] = SECRET
    html = engines["django"].from_string("{% csrf_token %}|{% csrf_token %}|{{ csrf_token }}").render({}, request)
    first, second, variable = html.split("|")
    assert first == second == f'<input type="hidden" name="csrfmiddlewaretoken" value="{variable}">'
    assert _unmask_cipher_token(variable) == SECRET
