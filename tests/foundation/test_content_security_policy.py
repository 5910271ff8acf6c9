"""Our CSP middleware sets exactly the headers django-csp's would, building the settings' policy once."""

from __future__ import annotations

import pytest
from csp.constants import HEADER, HEADER_REPORT_ONLY
from csp.decorators import csp_exempt, csp_replace, csp_update
from csp.exceptions import CSPNonceError
from csp.middleware import CSPMiddleware as DjangoCSPMiddleware
from django.http import HttpResponse
from django.test import RequestFactory, override_settings

from myspacecore.core import content_security_policy
from myspacecore.core.content_security_policy import CSPMiddleware

REPORT_ONLY = {"DIRECTIVES": {"default-src": ["'self'"], "script-src": ["'self'", "https://cdn.example"]}}
EXCLUDING = {"EXCLUDE_URL_PREFIXES": ["/excluded/"], "DIRECTIVES": {"default-src": ["'none'"]}}


def plain(request):
    return HttpResponse("ok")


@csp_update({"img-src": ["https://img.example"]})
def updated(request):
    return HttpResponse("ok")


@csp_replace({"script-src": ["https://js.example"]})
def replaced(request):
    return HttpResponse("ok")


@csp_exempt()
def exempt(request):
    return HttpResponse("ok")


def with_nonce(request):
    return HttpResponse(f"<script nonce='{request.csp_nonce}'></script>")


def already_set(request):
    response = HttpResponse("ok")
    response[HEADER] = "default-src 'self' https://own.example"
    return response


def headers(middleware_class, view, path="/page/"):
    request = RequestFactory().get(path)
    response = middleware_class(view)(request)
    return {name: response.get(name) for name in (HEADER, HEADER_REPORT_ONLY)}, request


SETTINGS = [
    {},
    {"CONTENT_SECURITY_POLICY_REPORT_ONLY": REPORT_ONLY},
    {"CONTENT_SECURITY_POLICY": EXCLUDING},
    {"CONTENT_SECURITY_POLICY": None, "CONTENT_SECURITY_POLICY_REPORT_ONLY": REPORT_ONLY},
]


@pytest.mark.parametrize("overrides", SETTINGS, ids=["site", "report-only too", "excluded prefix", "report-only alone"])
@pytest.mark.parametrize("view", [plain, updated, replaced, exempt, with_nonce, already_set])
@pytest.mark.parametrize("path", ["/page/", "/excluded/page/"])
def test_the_same_headers_as_django_csp(overrides, view, path):
    with override_settings(**overrides):
        ours, _ = headers(CSPMiddleware, view, path)
        theirs, _ = headers(DjangoCSPMiddleware, view, path)
    assert ours == theirs


def test_the_site_policy_is_set_on_a_plain_page():
    ours, _ = headers(CSPMiddleware, plain)
    assert "default-src 'self'" in ours[HEADER]
    assert "frame-ancestors 'none'" in ours[HEADER]


def test_a_settings_change_is_seen_at_the_next_response():
    headers(CSPMiddleware, plain)  # builds the site's
    with override_settings(CONTENT_SECURITY_POLICY={"DIRECTIVES": {"default-src": ["https://new.example"]}}):
        changed, _ = headers(CSPMiddleware, plain)
    after, _ = headers(CSPMiddleware, plain)
    assert changed[HEADER] == "default-src https://new.example"
    assert "default-src 'self'" in after[HEADER]


def test_the_policy_is_built_once_for_plain_responses(monkeypatch):
    headers(CSPMiddleware, plain)
    calls = []
    monkeypatch.setattr(content_security_policy, "build_policy", lambda **kw: calls.append(kw) or "x")
    for _ in range(3):
        headers(CSPMiddleware, plain)
    assert calls == []


def test_a_nonce_asked_for_after_the_header_is_an_error():
    _, request = headers(CSPMiddleware, plain)
    with pytest.raises(CSPNonceError):
        str(request.csp_nonce)
