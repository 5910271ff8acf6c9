"""My page (マイページ): the hub a signed-in resident lands on, and sign-out."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth import logout
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from accounts.views.access import ResidentRequest, resident_required
from myspacecore.tenancy.selectors import lease_invitations_exist, lease_invitations_for


@resident_required
@require_GET
def mypage(request: ResidentRequest) -> HttpResponse:
    """The resident's hub (a staff account has none: 403, as on every resident page)."""
    user = request.user
    phone_number = user.phone_number
    # Nearly every visit has none: the cheap question first, the leases with their operator only then.
    invitations = (
        lease_invitations_for(phone_number=phone_number) if lease_invitations_exist(phone_number=phone_number) else []
    )
    return render(request, "accounts/mypage.html", {"profile": user.profile, "invitations": invitations})


@require_POST
def signout(request: HttpRequest) -> HttpResponse:
    """Sign out (POST only, so a link or an image cannot sign anybody out)."""
    logout(request)
    messages.success(request, _("サインアウトしました。"))
    return redirect("accounts:signin")
