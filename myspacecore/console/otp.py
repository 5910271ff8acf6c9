"""The admin's second factor: a TOTP token (django-otp) after the password, or a recovery code.

Who owes one is data: staff in `ACCOUNTS_ADMIN_OTP_REQUIRED_GROUPS` (and platform staff
when `ACCOUNTS_ADMIN_OTP_REQUIRE_SUPERUSERS`) must enrol before any admin page; anyone
who enrolled, required or not, must enter a token at each sign-in. The admin site's
`has_permission` asks `admin_otp_satisfied`; its sign-in sends a staff member who still
owes the second factor to the page returned by `admin_otp_step_redirect`.

Recovery codes (django-otp's static tokens) stand in for the authenticator app at the
sign-in step, one code per sign-in. A staff member issues their own set on the recovery
codes page, which enrolment leads to; the codes are shown once, in that response only.

Failed tokens and recovery codes are throttled twice: django-otp's per-device backoff,
and django-ratelimit per account and per IP on the shared cache, like failed admin
sign-ins; both kinds count against the same account and IP limits.
"""

from __future__ import annotations

from base64 import b32encode
from functools import partial, wraps
from typing import TYPE_CHECKING, TypeGuard
from urllib.parse import urlencode

import django_otp
import qrcode
import qrcode.image.svg
from django import forms
from django.contrib import messages
from django.contrib.auth import logout as auth_logout
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.safestring import mark_safe
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_protect
from django.views.decorators.http import require_POST
from django_otp.plugins.otp_static.models import StaticDevice
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts.app_settings import app_settings
from accounts.services.staff_otp import (
    staff_otp_confirm,
    staff_otp_device,
    staff_otp_enrol,
    staff_otp_token_normalise,
    staff_otp_verify,
    staff_recovery_codes_generate,
    staff_recovery_codes_remaining,
)
from myspacecore.core.ratelimits import BY_IP, failures_retry_after
from myspacecore.tenancy.scoped_admin import acting_staff

if TYPE_CHECKING:
    from django.contrib.auth.models import AnonymousUser

    from accounts.models import User

# Memo on the request: has_permission runs several times per admin page.
_SATISFIED_ATTR = "_admin_otp_satisfied"


# Policy
# ------------------------------------------------------------------------------


def admin_otp_required(user) -> bool:
    """Whether this staff account must have a second factor to use the admin (settings say who)."""
    if user.is_superuser and app_settings.ADMIN_OTP_REQUIRE_SUPERUSERS:
        return True
    groups = list(app_settings.ADMIN_OTP_REQUIRED_GROUPS)
    return bool(groups) and user.groups.filter(name__in=groups).exists()


def _is_verified(user) -> bool:
    # Right after the password step, request.user is the bare User (auth.login replaces
    # OTPMiddleware's wrapper), which has no is_verified: not verified yet.
    is_verified = getattr(user, "is_verified", None)
    return bool(is_verified and is_verified())


def _signed_in_staff(user: User | AnonymousUser) -> TypeGuard[User]:
    return bool(user.is_authenticated and user.is_active and user.is_staff)


def admin_otp_satisfied(request: HttpRequest) -> bool:
    """True when the session passed the second factor, or the account owes none
    (no confirmed device, and not required to have one)."""
    user = request.user
    if _is_verified(user):
        return True
    if not _signed_in_staff(user):
        return False
    cached = getattr(request, _SATISFIED_ATTR, None)
    if cached is None or cached[0] != user.pk:
        satisfied = staff_otp_device(staff=user) is None and not admin_otp_required(user)
        cached = (user.pk, satisfied)
        setattr(request, _SATISFIED_ATTR, cached)
    return cached[1]


def _next_url(request: HttpRequest) -> str:
    candidate = request.POST.get("next") or request.GET.get("next") or ""
    if candidate and url_has_allowed_host_and_scheme(
        candidate, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return candidate
    return reverse("admin:index")


def _with_next(url: str, next_url: str) -> str:
    return f"{url}?{urlencode({'next': next_url})}"


def admin_otp_step_redirect(request: HttpRequest) -> HttpResponseRedirect | None:
    """For signed-in staff who still owe the second factor: the redirect to enter a token
    (a device is confirmed) or to enrol (required, none yet). None when nothing is owed."""
    if not _signed_in_staff(request.user) or admin_otp_satisfied(request):
        return None
    name = "admin:otp_verify" if staff_otp_device(staff=acting_staff(request)) is not None else "admin:otp_setup"
    return HttpResponseRedirect(_with_next(reverse(name), _next_url(request)))


# Rate limit of failed tokens (django-ratelimit, shared cache)
# ------------------------------------------------------------------------------


def admin_otp_retry_after(request: HttpRequest, *, increment: bool) -> int:
    """Count (or only look at) failed tokens of this account and IP; seconds to wait, 0 if none."""
    rates = app_settings.RATE_LIMITS
    limits = [
        ("admin_otp_ip", rates["admin_otp_ip"], BY_IP),
        ("admin_otp_user", rates["admin_otp_user"], request.user.pk),
    ]
    return failures_retry_after(request, limits, increment=increment)


# Forms and views
# ------------------------------------------------------------------------------


class StaffOtpTokenForm(forms.Form):
    token = forms.RegexField(
        label=gettext_lazy("確認コード（6桁）"),
        regex=r"^\s*[0-9]{6}\s*$",
        max_length=12,
        help_text=gettext_lazy("認証アプリに表示されている6桁の数字を入力してください。"),
        error_messages={
            "required": gettext_lazy("確認コードを入力してください。"),
            "invalid": gettext_lazy("確認コードは6桁の数字で入力してください。"),
        },
        widget=forms.TextInput(
            attrs={"inputmode": "numeric", "autocomplete": "one-time-code", "autofocus": True, "size": 8}
        ),
    )

    def clean_token(self) -> str:
        return self.cleaned_data["token"].strip()


class StaffOtpVerifyForm(forms.Form):
    """The sign-in step: a token from the authenticator app, or one recovery code."""

    token = forms.CharField(
        label=gettext_lazy("確認コード（6桁）またはリカバリーコード"),
        max_length=64,
        help_text=gettext_lazy(
            "認証アプリに表示されている6桁の数字を入力してください。"
            "認証アプリを使えない場合は、リカバリーコード（英数字8文字）を1つ入力してください。"
        ),
        error_messages={"required": gettext_lazy("確認コードを入力してください。")},
        widget=forms.TextInput(
            attrs={
                "autocomplete": "one-time-code",
                "autocapitalize": "none",
                "spellcheck": "false",
                "autofocus": True,
                "size": 12,
            }
        ),
    )

    def clean_token(self) -> str:
        token = staff_otp_token_normalise(self.cleaned_data["token"])
        if token is None:
            raise ValidationError(
                _("確認コードは6桁の数字、リカバリーコードは英数字8文字で入力してください。"), code="invalid"
            )
        return token


def _staff_step(view):
    """The second-factor pages: for a signed-in, active staff account only, never cached."""

    @wraps(view)
    def inner(request: HttpRequest, site, *args, **kwargs):
        if not _signed_in_staff(request.user):
            return HttpResponseRedirect(reverse("admin:login"))
        return view(request, site, *args, **kwargs)

    return never_cache(csrf_protect(inner))


def _ratelimited(request: HttpRequest) -> HttpResponse | None:
    from myspacecore.core.refusals import ratelimited

    retry_after = admin_otp_retry_after(request, increment=False)
    return ratelimited(request, retry_after=retry_after) if retry_after else None


def _qr_svg(device: TOTPDevice) -> str:
    # Our own otpauth:// URL drawn as inline SVG paths on white (readable in the dark theme too):
    # no image library, nothing CSP blocks.
    # The markup is qrcode's, with no text of anyone's in it, so it is safe to inline.
    image = qrcode.make(device.config_url, image_factory=qrcode.image.svg.SvgPathFillImage, box_size=8)
    return mark_safe(image.to_string(encoding="unicode"))  # noqa: S308


def _secret_text(device: TOTPDevice) -> str:
    """The base32 secret as authenticator apps take it when typed, in groups of four."""
    secret = b32encode(device.bin_key).decode().rstrip("=")
    return " ".join(secret[i : i + 4] for i in range(0, len(secret), 4))


@_staff_step
def otp_setup(request: HttpRequest, site) -> HttpResponse:
    """Enrol an authenticator app: secret as text + QR code, confirmed by one token."""
    next_url = _next_url(request)
    if staff_otp_device(staff=acting_staff(request)) is not None:
        if _is_verified(request.user):
            messages.info(request, _("二段階認証はすでに設定されています。"))
            return HttpResponseRedirect(next_url)
        return HttpResponseRedirect(_with_next(reverse("admin:otp_verify"), next_url))
    device = staff_otp_enrol(staff=acting_staff(request))
    form = StaffOtpTokenForm(request.POST or None)
    if request.method == "POST":
        limited = _ratelimited(request)
        if limited is not None:
            return limited
        if form.is_valid():
            try:
                staff_otp_confirm(staff=acting_staff(request), device=device, token=form.cleaned_data["token"])
            except ValidationError as error:
                admin_otp_retry_after(request, increment=True)
                form.add_error(None, error)
            else:
                django_otp.login(request, device)
                messages.success(
                    request, _("二段階認証を設定しました。次回からのサインインでは確認コードの入力が必要です。")
                )
                # Next: the offer of recovery codes, while the staff member still has their phone.
                return HttpResponseRedirect(_with_next(reverse("admin:otp_recovery_codes"), next_url))
    context = {
        **site.each_context(request),
        "title": _("二段階認証の設定"),
        "form": form,
        "next": next_url,
        "required": admin_otp_required(request.user),
        "qr_svg": _qr_svg(device),
        "secret": _secret_text(device),
    }
    return TemplateResponse(request, "admin/otp_setup.html", context)


@_staff_step
def otp_verify(request: HttpRequest, site) -> HttpResponse:
    """The second step of the admin sign-in: a token from the enrolled authenticator app, or one recovery code."""
    next_url = _next_url(request)
    if _is_verified(request.user):
        return HttpResponseRedirect(next_url)
    if staff_otp_device(staff=acting_staff(request)) is None:
        return HttpResponseRedirect(_with_next(reverse("admin:otp_setup"), next_url))
    form = StaffOtpVerifyForm(request.POST or None)
    if request.method == "POST":
        limited = _ratelimited(request)
        if limited is not None:
            return limited
        if form.is_valid():
            try:
                device = staff_otp_verify(staff=acting_staff(request), token=form.cleaned_data["token"])
            except ValidationError as error:
                admin_otp_retry_after(request, increment=True)
                form.add_error(None, error)
            else:
                django_otp.login(request, device)
                if isinstance(device, StaticDevice):
                    remaining = staff_recovery_codes_remaining(staff=acting_staff(request)) or 0
                    message = ngettext(
                        "リカバリーコードでサインインしました。使用したコードはもう使えません（残り %(count)d 件）。"
                        "スマートフォンを紛失した場合は、管理者に二段階認証のリセットを依頼してください。",
                        "リカバリーコードでサインインしました。使用したコードはもう使えません（残り %(count)d 件）。"
                        "スマートフォンを紛失した場合は、管理者に二段階認証のリセットを依頼してください。",
                        remaining,
                    )
                    messages.warning(request, message % {"count": remaining})
                return HttpResponseRedirect(next_url)
    context = {**site.each_context(request), "title": _("二段階認証"), "form": form, "next": next_url}
    return TemplateResponse(request, "admin/otp_verify.html", context)


def _code_text(code: str) -> str:
    """A recovery code as shown, in two groups of four (the sign-in step ignores the hyphen)."""
    return f"{code[:4]}-{code[4:]}"


@_staff_step
def otp_recovery_codes(request: HttpRequest, site) -> HttpResponse:
    """The staff member's own recovery codes: how many are left; a POST issues a new set, shown once."""
    next_url = _next_url(request)
    if not _is_verified(request.user):
        if staff_otp_device(staff=acting_staff(request)) is not None:
            return HttpResponseRedirect(_with_next(reverse("admin:otp_verify"), request.get_full_path()))
        messages.info(request, _("リカバリーコードを発行するには、先に二段階認証を設定してください。"))
        return HttpResponseRedirect(_with_next(reverse("admin:otp_setup"), next_url))
    codes: list[str] = []
    replaced = False
    if request.method == "POST":
        replaced = staff_recovery_codes_remaining(staff=acting_staff(request)) is not None
        try:
            codes = [_code_text(code) for code in staff_recovery_codes_generate(staff=acting_staff(request))]
        except ValidationError as error:
            for message in error.messages:
                messages.error(request, message)
            return HttpResponseRedirect(_with_next(reverse("admin:otp_recovery_codes"), next_url))
    context = {
        **site.each_context(request),
        "title": _("リカバリーコード"),
        "next": next_url,
        "codes": codes,
        "replaced": replaced,
        "remaining": staff_recovery_codes_remaining(staff=acting_staff(request)),
    }
    return TemplateResponse(request, "admin/otp_recovery_codes.html", context)


@require_POST
@_staff_step
def otp_signout(request: HttpRequest, site) -> HttpResponse:
    # The admin's own logout needs has_permission, which a session owing a token lacks.
    auth_logout(request)
    return HttpResponseRedirect(reverse("admin:login"))


def admin_otp_urls(site) -> list:
    """The second-factor pages, outside admin_view (which would send them back to the sign-in)."""
    return [
        path("otp/setup/", partial(otp_setup, site=site), name="otp_setup"),
        path("otp/verify/", partial(otp_verify, site=site), name="otp_verify"),
        path("otp/recovery-codes/", partial(otp_recovery_codes, site=site), name="otp_recovery_codes"),
        path("otp/signout/", partial(otp_signout, site=site), name="otp_signout"),
    ]
