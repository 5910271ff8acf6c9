"""Resident sign-in: phone number → SMS code → signed in (SPEC "Sign-in").

Views bind a form, call the rate limits and the services, and respond (a rate limit or an
outage raised on the way becomes the 429 / 503 page in `RefusalPagesMiddleware`). Known and unknown
numbers go through exactly the same steps, so the answers never tell them apart.
"""

from __future__ import annotations

from http import HTTPStatus

from django.contrib import messages
from django.contrib.auth import SESSION_KEY, login
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import translation
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods
from phonenumber_field.phonenumber import PhoneNumber

from accounts.forms.signin import SignInCodeForm, SignInPhoneForm
from accounts.models import VerificationCode
from accounts.ratelimits import check_code_send, check_code_verify
from accounts.services.signin import SignInRefused, resident_sign_in
from accounts.services.verification import (
    VerificationFailed,
    VerificationLocked,
    VerificationWait,
    target_wait_seconds,
    verification_code_issue,
    verification_code_verify,
)
from accounts.views.code_pages import code_context
from myspacecore.core.masking import mask_phone

# {"code_id": int, "phone": E.164}: the code being entered, between the two pages.
SESSION_PENDING = "accounts_signin"
# The number to show again in the phone field after a failure.
SESSION_PHONE = "accounts_signin_phone"
AUTH_BACKEND = "accounts.backends.SessionUserBackend"


def _has_repeated_fields(request: HttpRequest, *names: str) -> bool:
    """A field sent more than once is not something a person typed into our form."""
    return any(len(request.POST.getlist(name)) > 1 for name in names)


def _wait_message(seconds: int) -> str:
    return _("新しい認証コードを送信できるまで、あと%(seconds)s秒お待ちください。") % {"seconds": seconds}


def _locked_message() -> str:
    return _("この電話番号は、認証の失敗が続いたため利用を停止しています。サポート窓口にお問い合わせください。")


def _phone_page(request: HttpRequest, form: SignInPhoneForm, *, wait: int = 0, status: int = HTTPStatus.OK):
    response = render(request, "accounts/signin.html", {"form": form, "wait_seconds": wait}, status=status)
    if wait:
        response["Retry-After"] = str(wait)
    return response


@never_cache
@require_http_methods(["GET", "POST"])
def signin(request: HttpRequest) -> HttpResponse:
    """Step 1: the phone number. A valid Japanese mobile number gets an SMS code."""
    if request.method == "GET":
        phone = request.session.get(SESSION_PHONE)
        # Shown as the person types it (090-1234-5678), not in E.164.
        form = SignInPhoneForm(initial={"phone_number": PhoneNumber.from_string(phone).as_national} if phone else None)
        return _phone_page(request, form, wait=target_wait_seconds(target=phone) if phone else 0)

    form = SignInPhoneForm(request.POST)
    if _has_repeated_fields(request, "phone_number") or not form.is_valid():
        return _phone_page(request, form, status=HTTPStatus.BAD_REQUEST)
    phone = form.cleaned_data["phone_number"].as_e164
    # A refusal by the wait costs no rate-limit allowance.
    wait = target_wait_seconds(target=phone)
    if not wait:
        check_code_send(request, target=phone)
        try:
            code = verification_code_issue(
                purpose=VerificationCode.Purpose.SIGN_IN,
                target=phone,
                channel=VerificationCode.Channel.SMS,
                language=translation.get_language() or "ja",
            )
        except VerificationWait as exc:
            wait = exc.retry_after
        except VerificationLocked:
            form.add_error(None, _locked_message())
            return _phone_page(request, form, status=HTTPStatus.FORBIDDEN)
        else:
            request.session[SESSION_PENDING] = {"code_id": code.pk, "phone": phone}
            request.session[SESSION_PHONE] = phone
            messages.success(request, _("SMS で認証コードを送信しました。"))
            return redirect("accounts:signin_code")
    form.add_error(None, _wait_message(wait))
    return _phone_page(request, form, wait=wait, status=HTTPStatus.TOO_MANY_REQUESTS)


def _back_to_phone_page(request: HttpRequest, phone: str, message: str) -> HttpResponse:
    request.session.pop(SESSION_PENDING, None)
    request.session[SESSION_PHONE] = phone
    messages.error(request, message)
    return redirect("accounts:signin")


@never_cache
@require_http_methods(["GET", "POST"])
def signin_code(request: HttpRequest) -> HttpResponse:
    """Step 2: the 6-digit code from the SMS. One try; then back to step 1 after the wait."""
    pending = request.session.get(SESSION_PENDING)
    if not isinstance(pending, dict) or not {"code_id", "phone"} <= pending.keys():
        return redirect("accounts:signin")
    code_id, phone = pending["code_id"], pending["phone"]

    form = SignInCodeForm(request.POST if request.method == "POST" else None)
    status = HTTPStatus.OK
    if request.method == "POST":
        if _has_repeated_fields(request, "code") or not form.is_valid():
            status = HTTPStatus.BAD_REQUEST
        else:
            check_code_verify(request, target=phone)
            try:
                verification_code_verify(
                    code_id=code_id,
                    purpose=VerificationCode.Purpose.SIGN_IN,
                    target=phone,
                    raw_code=form.cleaned_data["code"],
                )
            except VerificationFailed as exc:
                if exc.reason == "used":
                    message = _("この認証コードは使用できません。新しい認証コードを送信してください。")
                else:
                    message = _(
                        "認証コードが正しくないか、有効期限が切れています。"
                        "%(seconds)s秒お待ちいただき、新しい認証コードを送信してください。"
                    ) % {"seconds": max(exc.retry_after, 1)}
                return _back_to_phone_page(request, phone, message)
            except VerificationLocked:
                return _back_to_phone_page(request, phone, _locked_message())
            try:
                user = resident_sign_in(phone_number=phone, language=translation.get_language())
            except SignInRefused:
                return _back_to_phone_page(
                    request, phone, _("このアカウントは現在ご利用いただけません。サポート窓口にお問い合わせください。")
                )
            request.session.pop(SESSION_PENDING, None)
            request.session.pop(SESSION_PHONE, None)
            if SESSION_KEY in request.session:
                # login() keeps the key of a session already signed in to this account; SPEC
                # wants a new key at every sign-in. (A session of another account is flushed.)
                request.session.cycle_key()
            # A new session key and a new CSRF token.
            login(request, user, backend=AUTH_BACKEND)
            messages.success(request, _("サインインしました。"))
            return redirect("accounts:mypage")

    context = {"form": form, "masked_phone": mask_phone(phone), **code_context(code_id=code_id)}
    return render(request, "accounts/signin_code.html", context, status=status)
