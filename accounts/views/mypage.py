"""My page (マイページ): the hub a signed-in resident lands on, and sign-out."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth import logout
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from accounts.models import User
from myspacecore.tenancy.selectors import lease_invitations_for


@login_required
@require_GET
def mypage(request: HttpRequest) -> HttpResponse:
    user = request.user
    invitations = []
    if isinstance(user, User) and user.is_resident:
        invitations = lease_invitations_for(phone_number=str(user.phone_number))
    return render(
        request, "accounts/mypage.html", {"profile": getattr(user, "profile", None), "invitations": invitations}
    )


@require_POST
def signout(request: HttpRequest) -> HttpResponse:
    """Sign out (POST only, so a link or an image cannot sign anybody out)."""
    logout(request)
    messages.success(request, _("サインアウトしました。"))
    return redirect("accounts:signin")
