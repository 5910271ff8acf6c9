"""The MySpaceCore registration wizard (登録): five steps, one session-held state machine.

Steps: 1 nickname / birth year / gender -> 2 e-mail (only if the attribute allows) ->
3 e-mail code -> 4 summary, 「設定完了」 creates the profile -> 5 「利用開始」.

Why not django-formtools: its wizards assume a fixed list of forms posted in order and
keep their own storage per wizard instance. Here steps 2 and 3 exist or not depending
on the account's attribute, step 3 is a call to the code engine (a failure burns the
code and sends the user back to step 2 after a wait) rather than a form to store, and
the state must survive reloads, the back button and a second tab of the same session.
So the state is a small dict in the session, each step checks what it needs and
redirects to the right step otherwise, and every change bumps a revision number that
the summary form carries, so a summary that another tab has made stale is shown again
instead of being submitted. Nothing touches the Profile before step 4, and step 4 goes
through the idempotent `profile_register` service.
"""

from __future__ import annotations

import functools
from http import HTTPStatus

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods

from accounts.forms.profile import CodeForm, ProfileBasicsForm, RegisterEmailForm
from accounts.models import Profile, VerificationCode
from accounts.selectors import email_in_use
from accounts.services.profile import profile_register
from accounts.services.verification import VerificationFailed, VerificationLocked
from accounts.views.access import attribute_allows, can_set_email, resident_required
from accounts.views.code_pages import code_context, code_failure_message, code_send, code_verify, wait_context

SESSION_KEY = "accounts.register"
BASICS = ("nickname", "birth_year", "gender")


class WizardState:
    """The wizard's state in the session, bound to the account that started it.

    Keys: nickname, birth_year, gender (step 1); email_draft, code_id (steps 2–3);
    email (verified address or None) and email_done (verified or skipped); rev.
    """

    def __init__(self, request: HttpRequest) -> None:
        self.session = request.session
        data = self.session.get(SESSION_KEY)
        if not isinstance(data, dict) or data.get("user_id") != request.user.pk:
            data = {"user_id": request.user.pk, "rev": 0}
        self.data = data

    def get(self, key: str, default=None):
        return self.data.get(key, default)

    def update(self, **values) -> None:
        self.data.update(values)
        self.data["rev"] = self.data.get("rev", 0) + 1
        self.session[SESSION_KEY] = self.data

    def clear(self) -> None:
        self.session.pop(SESSION_KEY, None)

    @property
    def rev(self) -> int:
        return self.data.get("rev", 0)

    @property
    def has_basics(self) -> bool:
        return all(self.data.get(key) not in (None, "") for key in BASICS)

    def basics(self) -> dict:
        return {key: self.data.get(key) for key in BASICS}


def wizard_step(view):
    """A resident without a profile; with a profile, the wizard is over: go to the edit page."""

    @resident_required
    @functools.wraps(view)
    def wrapper(request: HttpRequest, *args, **kwargs):
        if Profile.objects.filter(user=request.user).exists():
            return redirect("accounts:register_done" if request.method == "POST" else "accounts:profile")
        return view(request, WizardState(request), *args, **kwargs)

    return wrapper


def _step_after_basics(request: HttpRequest, state: WizardState) -> str:
    if can_set_email(request.user) and not state.get("email_done"):
        return "accounts:register_email"
    return "accounts:register_confirm"


def _steps(request: HttpRequest, current: int) -> dict:
    """The progress list: which steps this account has, and where it is."""
    labels = [(1, _("基本情報"))]
    if can_set_email(request.user):
        labels += [(2, _("メールアドレス")), (3, _("認証コード"))]
    labels += [(4, _("確認")), (5, _("完了"))]
    return {"steps": labels, "current_step": current}


@wizard_step
@require_http_methods(["GET", "POST"])
def register_basics(request: HttpRequest, state: WizardState) -> HttpResponse:
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
def register_email(request: HttpRequest, state: WizardState) -> HttpResponse:
    """Step 2 (only if the attribute allows): address -> 「送信」 sends an e-mail code."""
    if not state.has_basics:
        return redirect("accounts:register")
    draft = state.get("email_draft") or ""
    if request.method == "POST" and "skip" in request.POST:
        state.update(email=None, email_done=True, code_id=None)
        return redirect("accounts:register_confirm")
    if request.method == "POST":
        form = RegisterEmailForm(request.POST)
        if form.is_valid():
            draft = form.cleaned_data["email"]
            code = code_send(
                request,
                form=form,
                field="email",
                purpose=VerificationCode.Purpose.EMAIL,
                channel=VerificationCode.Channel.EMAIL,
                target=draft.lower(),
            )
            if code is not None:
                state.update(email_draft=draft, code_id=code.pk)
                messages.success(request, _("入力したメールアドレスに認証コードを送信しました。"))
                return redirect("accounts:register_code")
        else:
            # Keep what was typed, even when it is not an address yet.
            draft = request.POST.get("email", "")[:254]
        if draft.lower() != (state.get("email_draft") or "").lower():
            # A code still pending for the previous address must not be offered for this one.
            state.update(email_draft=draft, code_id=None)
    else:
        form = RegisterEmailForm(initial={"email": draft or state.get("email") or ""})
    context = {
        "form": form,
        "verified_email": state.get("email"),
        "pending_code": bool(state.get("code_id")),
        **wait_context(target=draft.lower() if "@" in draft else None, button_id="send-button"),
        **_steps(request, 2),
    }
    return render(request, "accounts/register/email.html", context)


@wizard_step
@attribute_allows(can_set_email)
@require_http_methods(["GET", "POST"])
def register_code(request: HttpRequest, state: WizardState) -> HttpResponse:
    """Step 3: code -> 「認証する」. One try: wrong or expired -> wait, back to step 2 (address kept)."""
    if not state.has_basics:
        return redirect("accounts:register")
    code_id, draft = state.get("code_id"), state.get("email_draft")
    if not code_id or not draft:
        return redirect("accounts:register_email")
    form = CodeForm(request.POST) if request.method == "POST" else CodeForm()
    if request.method == "POST" and form.is_valid():
        try:
            code_verify(
                request,
                code_id=code_id,
                purpose=VerificationCode.Purpose.EMAIL,
                target=draft.lower(),
                raw_code=form.cleaned_data["code"],
            )
        except (VerificationFailed, VerificationLocked) as exc:
            state.update(code_id=None)
            messages.error(request, code_failure_message(exc))
            return redirect("accounts:register_email")
        if email_in_use(email=draft, exclude_user=request.user):
            # Said only now, to whoever proved they receive mail at the address.
            messages.error(request, _("このメールアドレスは使用できません。別のアドレスを入力してください。"))
            return redirect("accounts:register_email")
        state.update(email=draft, email_done=True, code_id=None)
        messages.success(request, _("メールアドレスを認証しました。"))
        return redirect("accounts:register_confirm")
    context = {"form": form, "email": draft, **code_context(code_id=code_id), **_steps(request, 3)}
    return render(request, "accounts/register/code.html", context)


@wizard_step
@require_http_methods(["GET", "POST"])
def register_confirm(request: HttpRequest, state: WizardState) -> HttpResponse:
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
                profile_register(user=request.user, email=email, **state.basics())
            except ValidationError as exc:
                messages.error(request, " ".join(exc.messages))
                status = HTTPStatus.BAD_REQUEST
            else:
                state.clear()
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
def register_done(request: HttpRequest) -> HttpResponse:
    """Step 5: 「利用開始」 -> My page. Only once the profile exists."""
    profile = Profile.objects.filter(user=request.user).first()
    if profile is None:
        return redirect("accounts:register")
    return render(request, "accounts/register/done.html", {"profile": profile, **_steps(request, 5)})
