"""The operator console's admin site: Django's admin with a throttled sign-in.

Installed as the default site (`OperatorAdminConfig` in INSTALLED_APPS replaces
"django.contrib.admin"), so `admin.site` and every `@admin.register` use it and
`myspacecore/urls.py` keeps `admin.site.urls`.

Failed sign-ins are counted by `accounts.services.staff_signin` (per username from one
address first, per address, per username from every address for unknown browsers); once one
is over its rate, the sign-in answers 429 without checking the password, so a guesser learns
nothing more until the window ends. A browser that signed in as a staff member keeps a signed
device cookie naming that username: credential stuffing from many addresses never locks the
staff member out of their own browser (OWASP, "Slow Down Online Guessing Attacks with Device
Cookies").
"""

from __future__ import annotations

import datetime
import threading
from http import HTTPStatus

from django.conf import settings
from django.contrib import admin
from django.contrib.admin.apps import SimpleAdminConfig
from django.core import checks, signing
from django.db import transaction
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.utils.translation import gettext_lazy as _

from myspacecore.core.masking import PIN_MASK

# Imported at start-up (OperatorAdminConfig is in INSTALLED_APPS): what needs models is
# imported inside the functions.

DEVICE_COOKIE = "msc_admin_device"
DEVICE_COOKIE_SALT = "myspacecore.console.site.device"
DEVICE_COOKIE_AGE = datetime.timedelta(days=180)


def device_cookie_name() -> str:
    """The device cookie's name: host-prefixed wherever cookies are Secure (production), as ours all are."""
    return f"__Host-{DEVICE_COOKIE}" if settings.SESSION_COOKIE_SECURE else DEVICE_COOKIE


def _device_username(request: HttpRequest) -> str | None:
    """The username this browser signed in as (the signed device cookie), or None."""
    try:
        value = signing.loads(
            request.COOKIES.get(device_cookie_name(), ""), salt=DEVICE_COOKIE_SALT, max_age=DEVICE_COOKIE_AGE
        )
    except signing.BadSignature:  # also an expired or missing cookie
        return None
    return value if isinstance(value, str) else None


def _device_remember(response: HttpResponse, username: str) -> None:
    """After a right password: this browser is the staff member's, for the username-wide lock."""
    from accounts.services.staff_signin import staff_signin_username_key

    response.set_cookie(
        device_cookie_name(),
        signing.dumps(staff_signin_username_key(username), salt=DEVICE_COOKIE_SALT),
        max_age=int(DEVICE_COOKIE_AGE.total_seconds()),
        # "/" and no Domain: what the __Host- prefix requires.
        path="/",
        secure=settings.SESSION_COOKIE_SECURE,
        httponly=True,
        samesite="Lax",
    )


class OperatorAdminSite(admin.AdminSite):
    site_header = _("MySpaceCore 導入事業者様向け管理画面")
    site_title = _("MySpaceCore 管理画面")
    index_title = _("管理メニュー")

    # Whether the registry still waits for the admin modules (`discover_on_first_use`).
    _discovery_pending = False

    def __init__(self, name: str = "admin") -> None:
        self._discovery_lock = threading.RLock()
        self._discovering = False
        super().__init__(name)

    def discover_on_first_use(self) -> None:
        """Import every app's admin module the first time the registry is read, not at start-up.

        Its URLs (the first request), its checks, a page or a test read it first. Processes
        that never open the console (workers, the cleanup commands) no longer import every
        admin page, form and service behind them (bench/README.md, cleanup).
        """
        self._discovery_pending = True

    @property
    def _registry(self) -> dict:
        if self._discovery_pending:
            self._discover()
        return self._models

    @_registry.setter
    def _registry(self, models: dict) -> None:
        self._models = models

    def _discover(self) -> None:
        # Re-entrant: each register() during the discovery reads the registry. Another
        # thread waits here for the whole registry instead of seeing half of it.
        with self._discovery_lock:
            if not self._discovery_pending or self._discovering:
                return
            self._discovering = True
            try:
                admin.autodiscover()
                self._otp_device_admins_unregister()
                self._discovery_pending = False
            finally:
                self._discovering = False

    def _otp_device_admins_unregister(self) -> None:
        # Autodiscovery registered django-otp's own TOTPDevice and StaticDevice admins, which
        # see every tenant's devices, secrets and recovery codes: staff enrol and issue their
        # codes on myspacecore.console.otp's pages instead.
        from django_otp.plugins.otp_static.models import StaticDevice
        from django_otp.plugins.otp_totp.models import TOTPDevice

        for model in (TOTPDevice, StaticDevice):
            if self.is_registered(model):
                self.unregister(model)

    def check(self, app_configs):
        """Refuse to start with a ModelAdmin that is not operator-scoped: one would leak every tenant."""
        errors = super().check(app_configs)
        for model, model_admin in self._registry.items():
            if not getattr(model_admin, "operator_scoped", False):
                errors.append(
                    checks.Error(
                        f"{type(model_admin).__name__} ({model._meta.label}) does not use OperatorScopedAdminMixin.",
                        hint="Put myspacecore.tenancy.scoped_admin.OperatorScopedAdminMixin first in its bases.",
                        obj=type(model_admin),
                        id="accounts.E101",
                    )
                )
        return errors

    def has_permission(self, request: HttpRequest) -> bool:
        """Active staff who also passed the second factor when they owe one (myspacecore.console.otp)."""
        from myspacecore.console.otp import admin_otp_satisfied

        return super().has_permission(request) and admin_otp_satisfied(request)

    def get_urls(self):
        from myspacecore.console.otp import admin_otp_urls

        return admin_otp_urls(self) + super().get_urls()

    def password_change(self, request: HttpRequest, extra_context=None) -> TemplateResponse:
        """Django's own page, with the change and its audit row in one transaction."""
        from myspacecore.tenancy.models import AuditLogEntry
        from myspacecore.tenancy.scoped_admin import acting_staff
        from myspacecore.tenancy.services.audit import audit_log_record

        with transaction.atomic():
            response = super().password_change(request, extra_context)
            # A redirect is a saved change; the form shown again changed nothing.
            if request.method == "POST" and response.status_code == HTTPStatus.FOUND:
                staff = acting_staff(request)
                audit_log_record(
                    actor=staff,
                    operator=staff.operator,
                    action=AuditLogEntry.Action.STAFF_PASSWORD_CHANGE,
                    target=staff,
                    # Never the password, nor its hash: that it changed is what the row says.
                    old_value=f"password={PIN_MASK}",
                    new_value=f"password={PIN_MASK}",
                )
        return response

    def login(self, request: HttpRequest, extra_context=None) -> HttpResponse:
        from myspacecore.console.otp import admin_otp_step_redirect

        # Signed in with the password but a token (or an enrolment) still owed: that step, not the password form.
        step = admin_otp_step_redirect(request)
        if step is not None:
            return step
        if request.method != "POST":
            return super().login(request, extra_context)
        from accounts.services.staff_signin import (
            staff_signin_failed,
            staff_signin_retry_after,
            staff_signin_username_key,
        )
        from myspacecore.core.refusals import ratelimited

        username = request.POST.get("username", "")
        trusted = bool(username.strip()) and _device_username(request) == staff_signin_username_key(username)
        retry_after = staff_signin_retry_after(request, username=username, trusted=trusted)
        if retry_after:
            return ratelimited(request, retry_after=retry_after)
        response = super().login(request, extra_context)
        # A redirect is a successful sign-in; the form shown again is a failed one.
        if response.status_code != 302:
            staff_signin_failed(request, username=username, trusted=trusted)
            return response
        response = admin_otp_step_redirect(request) or response
        _device_remember(response, username)
        return response


class OperatorAdminConfig(SimpleAdminConfig):
    """Django's admin with the operator console's site, its admin modules discovered on first use."""

    default_site = "myspacecore.console.site.OperatorAdminSite"

    def ready(self) -> None:
        super().ready()  # the admin's system checks; SimpleAdminConfig discovers nothing
        site = admin.site
        assert isinstance(site, OperatorAdminSite)
        site.discover_on_first_use()
