"""The edit page (マイページ > MySpaceCore): nickname, read-only basics, phone and e-mail changes.

What the account may change is asked of its attribute (`can_change_phone`,
`can_set_email`); a refused page or POST changes nothing: the phone pages then say whom to
ask (the management company, or SpaceCore support) with the contact, and so do the e-mail pages. A phone or
e-mail change is: new value -> 「送信する」 (a code is sent) -> code -> 「認証する」; the
flows are `accounts.flows.phone_change` and `accounts.flows.email_change`.
"""

from __future__ import annotations

from collections.abc import Callable
from http import HTTPStatus

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods
from phonenumber_field.phonenumber import to_python as phone_to_python

from accounts.flows.code_delivery import code_delivery
from accounts.flows.email_change import (
    email_change_confirm,
    email_change_draft,
    email_change_resume,
    email_change_start,
    email_change_wait_seconds,
)
from accounts.flows.phone_change import (
    phone_change_confirm,
    phone_change_draft,
    phone_change_resume,
    phone_change_start,
    phone_change_wait_seconds,
)
from accounts.forms.profile import CodeForm, EmailForm, NicknameForm, PhoneForm
from accounts.models import Profile
from accounts.notices import resident_contact, support_contact
from accounts.services.profile import profile_nickname_change
from accounts.views.access import (
    ResidentRequest,
    attribute_allows,
    can_change_phone,
    can_set_email,
    resident_required,
)
from accounts.views.code_pages import code_context, countdown_text, wait_context
from myspacecore.core.masking import mask_phone_national

# The edit page
# ------------------------------------------------------------------------------


# get_gender_display() builds the choices' dict at each call.
GENDER_LABELS = dict(Profile.Gender.choices)


def _edit_page(request: ResidentRequest, *, form: NicknameForm, status: int = HTTPStatus.OK) -> HttpResponse:
    user = request.user
    profile = user.profile
    allowed_phone = can_change_phone(user)
    context = {
        "form": form,
        "profile": profile,
        # The read-only items' texts: a {% blocktranslate %} (the same msgid) and get_gender_display
        # were ~0.05 ms of the page's own CPU (bench/README.md, pages.py).
        "birth_year": _("%(year)s年") % {"year": profile.birth_year},
        "gender": GENDER_LABELS.get(profile.gender, profile.gender),
        "can_set_email": can_set_email(user),
        "can_change_phone": allowed_phone,
        "contact": None if allowed_phone else resident_contact(user=user),
    }
    return render(request, "accounts/profile/edit.html", context, status=status)


@resident_required
@require_http_methods(["GET", "POST"])
def profile_edit(request: ResidentRequest) -> HttpResponse:
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


def _unavailable_page(template: str) -> Callable[[ResidentRequest], HttpResponse]:
    """The page a refused attribute gets instead of a bare 403: what it cannot do, whom to ask,
    with the contact. A GET (opened from a bookmark or a link) is answered 200; a POST is
    refused (403) and changes nothing."""

    def refused(request: ResidentRequest) -> HttpResponse:
        status = HTTPStatus.OK if request.method in ("GET", "HEAD") else HTTPStatus.FORBIDDEN
        context = {"contact": resident_contact(user=request.user)}
        return render(request, template, context, status=status)

    return refused


# The attribute does not let the resident change the number.
_phone_change_unavailable = _unavailable_page("accounts/profile/phone_unavailable.html")


@resident_required
@attribute_allows(can_change_phone, refused=_phone_change_unavailable)
@require_http_methods(["GET", "POST"])
def profile_phone(request: ResidentRequest) -> HttpResponse:
    """New number -> 「送信する」: an SMS code goes to the new number."""
    draft = phone_change_draft(request)
    # A PhoneNumber (not the E.164 string) so the field shows the national format.
    initial = {"phone_number": phone_to_python(draft) if draft else ""}
    form = PhoneForm(request.POST if request.method == "POST" else None, initial=initial, user=request.user)
    if form.is_valid():
        draft = form.cleaned_data["phone_number"].as_e164
        try:
            phone_change_start(request, phone=draft)
        except ValidationError as exc:
            form.add_error("phone_number", exc)
        else:
            return redirect("accounts:profile_phone_verify")
    context = {"form": form, **wait_context(seconds=phone_change_wait_seconds(draft), button_id="send-button")}
    return render(request, "accounts/profile/phone.html", context)


@resident_required
@attribute_allows(can_change_phone, refused=_phone_change_unavailable)
@require_http_methods(["GET", "POST"])
def profile_phone_verify(request: ResidentRequest) -> HttpResponse:
    """Code -> 「認証する」: the number changes, other sessions end, the old number is told."""
    pending = phone_change_resume(request)
    if pending is None:
        return redirect("accounts:profile_phone")
    form = CodeForm(request.POST if request.method == "POST" else None)
    if form.is_valid():
        try:
            phone_change_confirm(request, pending, raw_code=form.cleaned_data["code"])
        except ValidationError as exc:
            messages.error(request, " ".join(exc.messages))
            return redirect("accounts:profile_phone")
        return redirect("accounts:profile")
    # Where the SMS to the new number stands (sent, late, failed), as on the sign-in code page.
    delivery = code_delivery(code_id=pending.code_id, wait_seconds=lambda: phone_change_wait_seconds(pending.value))
    context = {
        "form": form,
        "phone": pending.value,
        "masked_phone": mask_phone_national(pending.value),
        "delivery": delivery,
        "support": support_contact(),
        "code_seconds_left": delivery.seconds_left,
        "code_left_text": countdown_text(delivery.seconds_left),
    }
    return render(request, "accounts/profile/phone_verify.html", context)


# E-mail address set / change (e-mail code)
# ------------------------------------------------------------------------------


# The attribute has no e-mail.
_email_change_unavailable = _unavailable_page("accounts/profile/email_unavailable.html")


@resident_required
@attribute_allows(can_set_email, refused=_email_change_unavailable)
@require_http_methods(["GET", "POST"])
def profile_email(request: ResidentRequest) -> HttpResponse:
    """Address -> 「送信する」: an e-mail code goes to the new address."""
    draft = email_change_draft(request)
    form = EmailForm(
        request.POST if request.method == "POST" else None,
        initial={"email": draft or ""},
        current=request.user.profile.email,
    )
    if form.is_valid():
        draft = form.cleaned_data["email"]
        try:
            email_change_start(request, email=draft)
        except ValidationError as exc:
            form.add_error("email", exc)
        else:
            return redirect("accounts:profile_email_verify")
    context = {
        "form": form,
        "profile": request.user.profile,
        **wait_context(seconds=email_change_wait_seconds(draft), button_id="send-button"),
    }
    return render(request, "accounts/profile/email.html", context)


@resident_required
@attribute_allows(can_set_email, refused=_email_change_unavailable)
@require_http_methods(["GET", "POST"])
def profile_email_verify(request: ResidentRequest) -> HttpResponse:
    """Code -> 「認証する」: the address is set; the old one (if any) is told."""
    pending = email_change_resume(request)
    if pending is None:
        return redirect("accounts:profile_email")
    form = CodeForm(request.POST if request.method == "POST" else None)
    if form.is_valid():
        try:
            email_change_confirm(request, pending, raw_code=form.cleaned_data["code"])
        except ValidationError as exc:
            messages.error(request, " ".join(exc.messages))
            return redirect("accounts:profile_email")
        return redirect("accounts:profile")
    context = {"form": form, "email": pending.value, **code_context(code_id=pending.code_id)}
    return render(request, "accounts/profile/email_verify.html", context)
