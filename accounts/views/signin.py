"""Resident sign-in: phone number → SMS code → signed in (SPEC "Sign-in"); the flow is `accounts.flows.signin`.

Views bind a form, call the flow and respond (a rate limit or an outage raised on the way
becomes the 429 / 503 page in `RefusalPagesMiddleware`).
"""

from __future__ import annotations

from http import HTTPStatus

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods, require_safe
from phonenumber_field.phonenumber import PhoneNumber

from accounts.flows.code_delivery import code_delivery, code_delivery_status
from accounts.flows.signin import (
    SESSION_PENDING,
    SESSION_PHONE,
    signin_complete,
    signin_phone,
    signin_resume,
    signin_start,
    signin_wait_seconds,
)
from accounts.forms.signin import SignInCodeForm, SignInPhoneForm
from accounts.notices import support_contact
from accounts.views.code_pages import countdown_text
from accounts.views.language import language_cookie_set
from myspacecore.core.masking import mask_phone_national

# The session keys, also here for the security tests and the benchmark fixtures that set them.
__all__ = ["SESSION_PENDING", "SESSION_PHONE", "signin", "signin_code", "signin_code_status"]


def _has_repeated_fields(request: HttpRequest, *names: str) -> bool:
    """A field sent more than once is not something a person typed into our form."""
    return any(len(request.POST.getlist(name)) > 1 for name in names)


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
        phone = signin_phone(request)
        # Shown as the person types it (090-1234-5678), not in E.164.
        form = SignInPhoneForm(initial={"phone_number": PhoneNumber.from_string(phone).as_national} if phone else None)
        return _phone_page(request, form, wait=signin_wait_seconds(phone))

    form = SignInPhoneForm(request.POST)
    if _has_repeated_fields(request, "phone_number") or not form.is_valid():
        return _phone_page(request, form, status=HTTPStatus.BAD_REQUEST)
    try:
        signin_start(request, phone=form.cleaned_data["phone_number"].as_e164)
    except ValidationError as exc:
        form.add_error(None, exc)
        if exc.code == "locked":
            return _phone_page(request, form, status=HTTPStatus.FORBIDDEN)
        # The other refusal is "wait", whose params carry the seconds (flows.messages.wait_error).
        wait = exc.params["seconds"] if exc.params else 0
        return _phone_page(request, form, wait=wait, status=HTTPStatus.TOO_MANY_REQUESTS)
    return redirect("accounts:signin_code")


@never_cache
@require_http_methods(["GET", "POST"])
def signin_code(request: HttpRequest) -> HttpResponse:
    """Step 2: the 6-digit code from the SMS. One try; then back to step 1 after the wait."""
    pending = signin_resume(request)
    if pending is None:
        return redirect("accounts:signin")
    form = SignInCodeForm(request.POST if request.method == "POST" else None)
    status = HTTPStatus.OK
    if request.method == "POST":
        if _has_repeated_fields(request, "code") or not form.is_valid():
            status = HTTPStatus.BAD_REQUEST
        else:
            try:
                user = signin_complete(request, pending, raw_code=form.cleaned_data["code"])
            except ValidationError as exc:
                messages.error(request, " ".join(exc.messages))
                return redirect("accounts:signin")
            # The account's language again, on this device too (chosen on another, say).
            return language_cookie_set(redirect("accounts:mypage"), user.language)
    delivery = code_delivery(code_id=pending.code_id, wait_seconds=lambda: signin_wait_seconds(pending.value))
    context = {
        "form": form,
        "masked_phone": mask_phone_national(pending.value),
        "delivery": delivery,
        "support": support_contact(),
        # The code form's countdown (includes/code_form.html).
        "code_seconds_left": delivery.seconds_left,
        "code_left_text": countdown_text(delivery.seconds_left),
    }
    return render(request, "accounts/signin_code.html", context, status=status)


@never_cache
@require_safe
def signin_code_status(request: HttpRequest) -> HttpResponse:
    """The delivery of this session's pending code, as JSON for the code page's script (no personal data)."""
    pending = signin_resume(request)
    if pending is None:
        return JsonResponse({"delivery": None}, status=HTTPStatus.NOT_FOUND)
    delivery = code_delivery_status(
        request, code_id=pending.code_id, wait_seconds=lambda: signin_wait_seconds(pending.value)
    )
    return JsonResponse(delivery.as_json())
