"""The operator console's admin site: Django's admin with a throttled sign-in.

Installed as the default site (`OperatorAdminConfig` in INSTALLED_APPS replaces
"django.contrib.admin"), so `admin.site` and every `@admin.register` use it and
`myspacecore/urls.py` keeps `admin.site.urls`.

Failed sign-ins are counted per IP and per username on the shared cache (django-ratelimit,
rates `admin_login_*` of `app_settings.RATE_LIMITS`); once either is over its rate, the sign-in
answers 429 without checking the password, so a guesser learns nothing more until the
window ends.
"""

from __future__ import annotations

from http import HTTPStatus

from django.contrib import admin
from django.contrib.admin.apps import AdminConfig
from django.core import checks
from django.db import transaction
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.utils.translation import gettext_lazy as _

from accounts.app_settings import app_settings
from myspacecore.core.masking import PIN_MASK
from myspacecore.core.ratelimits import BY_IP, failures_retry_after


def admin_login_retry_after(request: HttpRequest, *, increment: bool) -> int:
    """Count (or only look at) the failed sign-ins of this IP and username; seconds to wait, 0 if none."""
    rates = app_settings.RATE_LIMITS
    limits: list[tuple[str, str, object]] = [("admin_login_ip", rates["admin_login_ip"], BY_IP)]
    username = request.POST.get("username", "").strip().casefold()
    if username:
        limits.append(("admin_login_username", rates["admin_login_username"], username))
    return failures_retry_after(request, limits, increment=increment)


class OperatorAdminSite(admin.AdminSite):
    site_header = _("MySpaceCore 導入事業者様向け管理画面")
    site_title = _("MySpaceCore 管理画面")
    index_title = _("管理メニュー")

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
        from myspacecore.core.refusals import ratelimited

        retry_after = admin_login_retry_after(request, increment=False)
        if retry_after:
            return ratelimited(request, retry_after=retry_after)
        response = super().login(request, extra_context)
        # A redirect is a successful sign-in; the form shown again is a failed one.
        if response.status_code != 302:
            admin_login_retry_after(request, increment=True)
            return response
        return admin_otp_step_redirect(request) or response


class OperatorAdminConfig(AdminConfig):
    default_site = "myspacecore.console.site.OperatorAdminSite"

    def ready(self) -> None:
        super().ready()
        # Autodiscovery registered django-otp's own TOTPDevice and StaticDevice admins, which
        # see every tenant's devices, secrets and recovery codes: staff enrol and issue their
        # codes on myspacecore.console.otp's pages instead.
        from django_otp.plugins.otp_static.models import StaticDevice
        from django_otp.plugins.otp_totp.models import TOTPDevice

        for model in (TOTPDevice, StaticDevice):
            if admin.site.is_registered(model):
                admin.site.unregister(model)
