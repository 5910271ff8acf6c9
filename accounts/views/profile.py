"""The edit page (マイページ > MySpaceCore): nickname, read-only basics, phone and e-mail changes.

What the account may change is asked of its attribute (`can_change_phone`,
`can_set_email`); a refused page or POST answers 403 and changes nothing. A phone or
e-mail change is: new value -> 「送信する」 (a code is sent) -> code -> 「認証する」; the value
waiting for its code lives in the session, never on the account.
"""

from __future__ import annotations

from http import HTTPStatus

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods
from phonenumber_field.phonenumber import to_python as phone_to_python

from accounts.forms.profile import CodeForm, EmailForm, NicknameForm, PhoneForm
from accounts.models import VerificationCode
from accounts.services.profile import profile_email_change, profile_nickname_change, user_phone_change
from accounts.services.verification import VerificationFailed, VerificationLocked
from accounts.views.access import attribute_allows, can_change_phone, can_set_email, resident_required
from accounts.views.code_pages import code_context, code_failure_message, code_send, code_verify, wait_context
from myspacecore.tenancy.selectors import operator_contact_for_user

PHONE_SESSION_KEY = "accounts.profile.phone_change"
EMAIL_SESSION_KEY = "accounts.profile.email_change"


# The edit page
# ------------------------------------------------------------------------------


def _edit_page(request: HttpRequest, *, form: NicknameForm, status: int = HTTPStatus.OK) -> HttpResponse:
    user = request.user
    allowed_phone = can_change_phone(user)
    context = {
        "form": form,
        "profile": user.profile,
        "can_set_email": can_set_email(user),
        "can_change_phone": allowed_phone,
        "operator": None if allowed_phone else operator_contact_for_user(user=user),
    }
    return render(request, "accounts/profile/edit.html", context, status=status)


@resident_required
@require_http_methods(["GET", "POST"])
def profile_edit(request: HttpRequest) -> HttpResponse:
    """Nickname form (「設定情報変更」); birth year and gender shown, never in the form."""
    profile = request.user.profile
    if request.method == "POST":
        form = NicknameForm(request.POST)
        if form.is_valid():
            try:
                profile_nickname_change(user=request.user, nickname=form.cleaned_data["nickname"])
            except ValidationError as exc:
                form.add_error("nickname", exc.messages)
            else:
                messages.success(request, _("ニックネームを変更しました。"))
                return redirect("accounts:profile")
        return _edit_page(request, form=form, status=HTTPStatus.OK)
    return _edit_page(request, form=NicknameForm(initial={"nickname": profile.nickname}))


# Phone number change (SMS code)
# ------------------------------------------------------------------------------


@resident_required
@attribute_allows(can_change_phone)
@require_http_methods(["GET", "POST"])
def profile_phone(request: HttpRequest) -> HttpResponse:
    """New number -> 「送信する」: an SMS code goes to the new number."""
    pending = request.session.get(PHONE_SESSION_KEY) or {}
    if request.method == "POST":
        form = PhoneForm(request.POST, user=request.user)
        if form.is_valid():
            e164 = form.cleaned_data["phone_number"].as_e164
            code = code_send(
                request,
                form=form,
                field="phone_number",
                purpose=VerificationCode.Purpose.PHONE_CHANGE,
                channel=VerificationCode.Channel.SMS,
                target=e164,
            )
            if code is not None:
                request.session[PHONE_SESSION_KEY] = {"phone": e164, "code_id": code.pk}
                messages.success(request, _("新しい電話番号に認証コードを送信しました。"))
                return redirect("accounts:profile_phone_verify")
            pending = {"phone": e164}
    else:
        # A PhoneNumber (not the E.164 string) so the field shows the national format.
        initial = phone_to_python(pending["phone"]) if pending.get("phone") else ""
        form = PhoneForm(initial={"phone_number": initial}, user=request.user)
    context = {"form": form, **wait_context(target=pending.get("phone"), button_id="send-button")}
    return render(request, "accounts/profile/phone.html", context)


@resident_required
@attribute_allows(can_change_phone)
@require_http_methods(["GET", "POST"])
def profile_phone_verify(request: HttpRequest) -> HttpResponse:
    """Code -> 「認証する」: the number changes, other sessions end, the old number is told."""
    pending = request.session.get(PHONE_SESSION_KEY) or {}
    if not pending.get("code_id"):
        return redirect("accounts:profile_phone")
    form = CodeForm(request.POST) if request.method == "POST" else CodeForm()
    if request.method == "POST" and form.is_valid():
        try:
            code_verify(
                request,
                code_id=pending["code_id"],
                purpose=VerificationCode.Purpose.PHONE_CHANGE,
                target=pending["phone"],
                raw_code=form.cleaned_data["code"],
            )
        except (VerificationFailed, VerificationLocked) as exc:
            request.session[PHONE_SESSION_KEY] = {"phone": pending["phone"]}
            messages.error(request, code_failure_message(exc))
            return redirect("accounts:profile_phone")
        request.session.pop(PHONE_SESSION_KEY, None)
        try:
            user_phone_change(user=request.user, new_phone=pending["phone"], acting_user=request.user, keep=request)
        except ValidationError as exc:
            messages.error(request, " ".join(exc.messages))
            return redirect("accounts:profile_phone")
        messages.success(request, _("電話番号を変更しました。ほかの端末ではサインアウトされました。"))
        return redirect("accounts:profile")
    context = {"form": form, "phone": pending["phone"], **code_context(code_id=pending["code_id"])}
    return render(request, "accounts/profile/phone_verify.html", context)


# E-mail address set / change (e-mail code)
# ------------------------------------------------------------------------------


@resident_required
@attribute_allows(can_set_email)
@require_http_methods(["GET", "POST"])
def profile_email(request: HttpRequest) -> HttpResponse:
    """Address -> 「送信する」: an e-mail code goes to the new address."""
    pending = request.session.get(EMAIL_SESSION_KEY) or {}
    if request.method == "POST":
        form = EmailForm(request.POST)
        if form.is_valid():
            email = form.cleaned_data["email"]
            code = code_send(
                request,
                form=form,
                field="email",
                purpose=VerificationCode.Purpose.EMAIL,
                channel=VerificationCode.Channel.EMAIL,
                target=email.lower(),
            )
            if code is not None:
                request.session[EMAIL_SESSION_KEY] = {"email": email, "code_id": code.pk}
                messages.success(request, _("入力したメールアドレスに認証コードを送信しました。"))
                return redirect("accounts:profile_email_verify")
            pending = {"email": email}
    else:
        form = EmailForm(initial={"email": pending.get("email", "")})
    target = pending.get("email", "").lower() or None
    context = {
        "form": form,
        "profile": request.user.profile,
        **wait_context(target=target, button_id="send-button"),
    }
    return render(request, "accounts/profile/email.html", context)


@resident_required
@attribute_allows(can_set_email)
@require_http_methods(["GET", "POST"])
def profile_email_verify(request: HttpRequest) -> HttpResponse:
    """Code -> 「認証する」: the address is set; the old one (if any) is told."""
    pending = request.session.get(EMAIL_SESSION_KEY) or {}
    if not pending.get("code_id"):
        return redirect("accounts:profile_email")
    form = CodeForm(request.POST) if request.method == "POST" else CodeForm()
    if request.method == "POST" and form.is_valid():
        try:
            code_verify(
                request,
                code_id=pending["code_id"],
                purpose=VerificationCode.Purpose.EMAIL,
                target=pending["email"].lower(),
                raw_code=form.cleaned_data["code"],
            )
        except (VerificationFailed, VerificationLocked) as exc:
            request.session[EMAIL_SESSION_KEY] = {"email": pending["email"]}
            messages.error(request, code_failure_message(exc))
            return redirect("accounts:profile_email")
        request.session.pop(EMAIL_SESSION_KEY, None)
        had_email = bool(request.user.profile.email)
        try:
            profile_email_change(user=request.user, email=pending["email"])
        except ValidationError as exc:
            messages.error(request, " ".join(exc.messages))
            return redirect("accounts:profile_email")
        messages.success(
            request, _("メールアドレスを変更しました。") if had_email else _("メールアドレスを設定しました。")
        )
        return redirect("accounts:profile")
    context = {"form": form, "email": pending["email"], **code_context(code_id=pending["code_id"])}
    return render(request, "accounts/profile/email_verify.html", context)
