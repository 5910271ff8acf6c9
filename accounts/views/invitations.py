"""An operator's roster entries waiting for the resident: accept, or "this is not me"."""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from accounts.services.invitations import lease_invitation_answer
from accounts.views.access import ResidentRequest, resident_required
from myspacecore.tenancy.selectors import lease_invitations_for


class InvitationAnswerForm(forms.Form):
    lease = forms.IntegerField(min_value=1)
    answer = forms.ChoiceField(choices=[("accept", "accept"), ("decline", "decline")])


@resident_required
@require_http_methods(["GET", "HEAD", "POST"])
def invitations(request: ResidentRequest) -> HttpResponse:
    """The pending entries naming the account's number; an answer to one comes back here."""
    if request.method == "POST":
        form = InvitationAnswerForm(request.POST)
        if not form.is_valid():
            messages.error(request, _("この登録はすでに確認済みか、見つかりません。"))
            return redirect("accounts:invitations")
        accept = form.cleaned_data["answer"] == "accept"
        try:
            lease = lease_invitation_answer(user=request.user, lease_id=form.cleaned_data["lease"], accept=accept)
        except ValidationError as exc:
            messages.error(request, exc.messages[0])
            return redirect("accounts:invitations")
        operator = lease.unit.property.operator.name
        if accept:
            messages.success(
                request,
                _("%(operator)s の %(unit)s の登録を承認しました。住戸のスマートホーム機器を使えます。")
                % {"operator": operator, "unit": lease.unit},
            )
        else:
            messages.success(request, _("%(operator)s の登録を「心当たりがない」としました。") % {"operator": operator})
    leases = lease_invitations_for(phone_number=str(request.user.phone_number))
    if not leases:
        return redirect("accounts:mypage")
    return render(request, "accounts/invitations.html", {"leases": leases})
