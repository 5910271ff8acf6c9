"""The MySpaceCore registration wizard (登録): five steps over one session-held state machine.

Steps: 1 nickname / birth year / gender -> 2 e-mail (only if the attribute allows) ->
3 e-mail code -> 4 summary, 「設定完了」 creates the profile -> 5 「利用開始」. The state and
the code flow are `accounts.flows.registration`.

Why not django-formtools: its wizards assume a fixed list of forms posted in order and
keep their own storage per wizard instance. Here steps 2 and 3 exist or not depending
on the account's attribute, step 3 is a call to the code engine (a failure burns the
code and sends the user back to step 2 after a wait) rather than a form to store, and
the state must survive reloads, the back button and a second tab of the same session.
So each step checks what it needs and redirects to the right step otherwise.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from http import HTTPStatus
from typing import Concatenate, ParamSpec

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods

from accounts.flows.registration import (
    WizardState,
    registration_complete,
    registration_email_confirm,
    registration_email_draft,
    registration_email_resume,
    registration_email_skip,
    registration_email_start,
    registration_email_typed,
    registration_email_wait_seconds,
)
from accounts.forms.profile import CodeForm, ProfileBasicsForm, RegisterEmailForm
from accounts.models import Profile
from accounts.views.access import ResidentRequest, attribute_allows, can_set_email, resident_required
from accounts.views.code_pages import code_context, wait_context

P = ParamSpec("P")


def wizard_step(
    view: Callable[Concatenate[ResidentRequest, WizardState, P], HttpResponseBase],
) -> Callable[Concatenate[HttpRequest, P], HttpResponseBase]:
    """A resident without a profile; with a profile, the wizard is over: go to the edit page."""

    @resident_required
    @functools.wraps(view)
    def wrapper(request: ResidentRequest, *args: P.args, **kwargs: P.kwargs) -> HttpResponseBase:
        if Profile.objects.filter(user=request.user).exists():
            return redirect("accounts:register_done" if request.method == "POST" else "accounts:profile")
        return view(request, WizardState(request), *args, **kwargs)

    return wrapper


def _step_after_basics(request: ResidentRequest, state: WizardState) -> str:
    if can_set_email(request.user) and not state.get("email_done"):
        return "accounts:register_email"
    return "accounts:register_confirm"


def _steps(request: ResidentRequest, current: int) -> dict:
    """The progress list: which steps this account has, and where it is."""
    labels = [(1, _("基本情報"))]
    if can_set_email(request.user):
        labels += [(2, _("メールアドレス")), (3, _("認証コード"))]
    labels += [(4, _("確認")), (5, _("完了"))]
    return {"steps": labels, "current_step": current}


@wizard_step
@require_http_methods(["GET", "POST"])
def register_basics(request: ResidentRequest, state: WizardState) -> HttpResponse:
    """Step 1: nickname, birth year, gender -> 「次へ」. What was typed before is prefilled."""
    if request.method == "POST":
        form = ProfileBasicsForm(request.POST)
        if form.is_valid():
            state.update(**form.cleaned_data)
            return redirect(_step_after_basics(request, state))
    else:
        form = ProfileBasicsForm(initial=state.basics())
    return render(request, "accounts/register/basics.html", {"form": form, **_steps(request, 1)})


@wizard_step
@attribute_allows(can_set_email)
@require_http_methods(["GET", "POST"])
def register_email(request: ResidentRequest, state: WizardState) -> HttpResponse:
    """Step 2 (only if the attribute allows): address -> 「送信」 sends an e-mail code."""
    if not state.has_basics:
        return redirect("accounts:register")
    if request.method == "POST" and "skip" in request.POST:
        registration_email_skip(state)
        return redirect("accounts:register_confirm")
    draft = registration_email_draft(state)
    initial = {"email": draft or state.get("email") or ""}
    form = RegisterEmailForm(request.POST if request.method == "POST" else None, initial=initial)
    if form.is_valid():
        draft = form.cleaned_data["email"]
        try:
            registration_email_start(request, state, email=draft)
        except ValidationError as exc:
            form.add_error("email", exc)
        else:
            return redirect("accounts:register_code")
    elif form.is_bound:
        # Keep what was typed, even when it is not an address yet.
        draft = request.POST.get("email", "")[:254]
    if form.is_bound:
        registration_email_typed(state, email=draft)
    context = {
        "form": form,
        "verified_email": state.get("email"),
        "pending_code": bool(state.get("code_id")),
        **wait_context(seconds=registration_email_wait_seconds(draft), button_id="send-button"),
        **_steps(request, 2),
    }
    return render(request, "accounts/register/email.html", context)


@wizard_step
@attribute_allows(can_set_email)
@require_http_methods(["GET", "POST"])
def register_code(request: ResidentRequest, state: WizardState) -> HttpResponse:
    """Step 3: code -> 「認証する」. One try: wrong or expired -> wait, back to step 2 (address kept)."""
    if not state.has_basics:
        return redirect("accounts:register")
    pending = registration_email_resume(request, state)
    if pending is None:
        return redirect("accounts:register_email")
    form = CodeForm(request.POST if request.method == "POST" else None)
    if form.is_valid():
        try:
            registration_email_confirm(request, state, pending, raw_code=form.cleaned_data["code"])
        except ValidationError as exc:
            messages.error(request, " ".join(exc.messages))
            return redirect("accounts:register_email")
        return redirect("accounts:register_confirm")
    context = {"form": form, "email": pending.value, **code_context(code_id=pending.code_id), **_steps(request, 3)}
    return render(request, "accounts/register/code.html", context)


@wizard_step
@require_http_methods(["GET", "POST"])
def register_confirm(request: ResidentRequest, state: WizardState) -> HttpResponse:
    """Step 4: the summary -> 「設定完了」 creates the profile (atomically, once)."""
    if not state.has_basics:
        return redirect("accounts:register")
    email_allowed = can_set_email(request.user)
    if email_allowed and not state.get("email_done"):
        return redirect("accounts:register_email")
    email = state.get("email") if email_allowed else None
    status = HTTPStatus.OK
    if request.method == "POST":
        if request.POST.get("rev") != str(state.rev):
            messages.warning(
                request,
                _("別の画面で入力内容が変更されました。内容をご確認のうえ、もう一度「設定完了」を押してください。"),
            )
            status = HTTPStatus.CONFLICT
        else:
            try:
                registration_complete(state, user=request.user, email=email)
            except ValidationError as exc:
                messages.error(request, " ".join(exc.messages))
                status = HTTPStatus.BAD_REQUEST
            else:
                return redirect("accounts:register_done")
    context = {
        "basics": state.basics(),
        "gender_label": Profile.Gender(state.get("gender")).label,
        "email": email,
        "email_allowed": email_allowed,
        "rev": state.rev,
        **_steps(request, 4),
    }
    return render(request, "accounts/register/confirm.html", context, status=status)


@resident_required
@require_GET
def register_done(request: ResidentRequest) -> HttpResponse:
    """Step 5: 「利用開始」 -> My page. Only once the profile exists."""
    profile = Profile.objects.filter(user=request.user).first()
    if profile is None:
        return redirect("accounts:register")
    return render(request, "accounts/register/done.html", {"profile": profile, **_steps(request, 5)})
