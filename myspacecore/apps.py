"""App configurations of third-party apps, where theirs costs every start-up for nothing."""

from __future__ import annotations

from django.apps import AppConfig
from django.core import checks


def anymail_deprecated_settings_check(app_configs, **kwargs):
    from anymail.checks import check_deprecated_settings

    return check_deprecated_settings(app_configs, **kwargs)


def anymail_insecure_settings_check(app_configs, **kwargs):
    from anymail.checks import check_insecure_settings

    return check_insecure_settings(app_configs, **kwargs)


class AnymailConfig(AppConfig):
    """django-anymail, with its two system checks imported when checks run.

    Anymail's own config imports them at start-up, and with them `requests` and urllib3 (~60
    modules) that only its HTTP backends use, when a message is sent.
    """

    name = "anymail"
    verbose_name = "Anymail"

    def ready(self) -> None:
        checks.register(anymail_deprecated_settings_check)
        checks.register(anymail_insecure_settings_check)


def csp_settings_outdated_check(app_configs, **kwargs):
    from csp.checks import check_django_csp_lt_4_0

    return check_django_csp_lt_4_0(app_configs, **kwargs)


def csp_exclude_prefixes_check(app_configs, **kwargs):
    from csp.checks import check_exclude_url_prefixes_is_not_string

    return check_exclude_url_prefixes_is_not_string(app_configs, **kwargs)


class CspConfig(AppConfig):
    """django-csp, with its two system checks imported when checks run.

    django-csp's own config imports them at start-up, and with them `importlib.metadata` and
    `packaging` (~30 ms of every process's start, by -X importtime) to compare its version.
    """

    name = "csp"
    verbose_name = "CSP"

    def ready(self) -> None:
        checks.register(csp_settings_outdated_check, checks.Tags.security)
        checks.register(csp_exclude_prefixes_check, checks.Tags.security)
