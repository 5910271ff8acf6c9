"""My page (マイページ): the hub a signed-in resident lands on, and sign-out."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth import logout
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST


@login_required
@require_GET
def mypage(request: HttpRequest) -> HttpResponse:
    return render(request, "accounts/mypage.html", {"profile": getattr(request.user, "profile", None)})


@require_POST
def signout(request: HttpRequest) -> HttpResponse:
    """Sign out (POST only, so a link or an image cannot sign anybody out)."""
    logout(request)
    messages.success(request, _("サインアウトしました。"))
    return redirect("accounts:signin")
