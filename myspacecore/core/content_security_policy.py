"""django-csp's middleware, with the policy of a response that brings none of its own built once.

django-csp builds both headers (the policy and the report-only one) from the settings for every
response: ~0.06 ms of CPU, ~6 % of a bare signed-in request (bench/README.md, loadtest.py). No
view of ours brings policy parts of its own (no `@csp_update` / `@csp_replace` / `@csp` /
`@csp_exempt`, no `request.csp_nonce` in a template), so for nearly every response the headers
are the settings' alone, the same each time. Those are built once per settings change and set
exactly as django-csp sets them; a request that used its nonce, or a response that carries any
part of its own, goes through django-csp's own code unchanged.
"""

from __future__ import annotations

from csp.constants import HEADER, HEADER_REPORT_ONLY
from csp.middleware import CheckableLazyObject
from csp.middleware import CSPMiddleware as DjangoCSPMiddleware
from csp.utils import build_policy
from django.conf import settings
from django.core.signals import setting_changed

# What the decorators of csp.decorators leave on a response.
OWN_PARTS = (
    "_csp_config",
    "_csp_update",
    "_csp_replace",
    "_csp_exempt",
    "_csp_config_ro",
    "_csp_update_ro",
    "_csp_replace_ro",
    "_csp_exempt_ro",
)
SETTINGS = {HEADER: "CONTENT_SECURITY_POLICY", HEADER_REPORT_ONLY: "CONTENT_SECURITY_POLICY_REPORT_ONLY"}

# header -> (value, excluded path prefixes), as django-csp reads them from the settings.
_from_settings: dict[str, tuple[str, tuple[str, ...]]] = {}


def _settings_changed(*, setting: str, **_kwargs) -> None:
    if setting in SETTINGS.values():
        _from_settings.clear()


setting_changed.connect(_settings_changed, dispatch_uid="content_security_policy")


def _headers() -> dict[str, tuple[str, tuple[str, ...]]]:
    if not _from_settings:
        for header, setting in SETTINGS.items():
            policy = getattr(settings, setting, None) or {}
            value = build_policy(report_only=header == HEADER_REPORT_ONLY)
            _from_settings[header] = (value, tuple(policy.get("EXCLUDE_URL_PREFIXES", None) or ()))
    return _from_settings


class CSPMiddleware(DjangoCSPMiddleware):
    def process_response(self, request, response):
        if getattr(request, "_csp_nonce", None) is not None or any(hasattr(response, name) for name in OWN_PARTS):
            return super().process_response(request, response)
        if settings.DEBUG and response.status_code in (500, 404):  # django-csp leaves Django's debug pages alone
            return response
        for header, (value, excluded) in _headers().items():
            if value and header not in response and not request.path_info.startswith(excluded):
                response[header] = value
        # As django-csp: a nonce asked for after the header is written is an error, not a silent gap.
        request.csp_nonce = CheckableLazyObject(self._csp_nonce_post_response)
        return response
