"""Deleting MySpaceCore (SPEC "Deletion"): about → 「同意します」 → 「設定情報の削除」 → 「削除」 → done → 「OK」.

The tick is remembered in the session for a few minutes, so the confirm page (and its
POST) is reachable only right after agreeing; without it nothing is deleted. The done
page is shown after the account is gone, to an anonymous session: the logout leaves a
short-lived flag in the new session, and the page needs nothing else.
"""

from __future__ import annotations

import time
from http import HTTPStatus

from django.contrib import messages
from django.contrib.auth import logout
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods

from accounts.forms.deletion import DeletionAgreeForm
from accounts.services.deletion import account_delete
from accounts.views.access import ResidentRequest, resident_required

SESSION_AGREED = "accounts.deletion.agreed_at"
SESSION_DONE = "accounts.deletion.done_at"
# Long enough to read the confirm page, short enough that an old tick never deletes.
AGREEMENT_SECONDS = 10 * 60
DONE_PAGE_SECONDS = 10 * 60


def _fresh(stamp, seconds: int) -> bool:
    return isinstance(stamp, int | float) and 0 <= time.time() - stamp <= seconds


def _about_page(request: HttpRequest, form: DeletionAgreeForm, status: int = HTTPStatus.OK) -> HttpResponse:
    return render(request, "accounts/deletion/about.html", {"form": form}, status=status)


@resident_required
@require_http_methods(["GET", "POST"])
def deletion_about(request: ResidentRequest) -> HttpResponse:
    """「設定情報の削除」について: what goes, what stays; tick 「同意します」 → 「設定情報の削除」."""
    if request.method == "GET":
        return _about_page(request, DeletionAgreeForm())
    form = DeletionAgreeForm(request.POST)
    if not form.is_valid():
        request.session.pop(SESSION_AGREED, None)
        return _about_page(request, form, status=HTTPStatus.BAD_REQUEST)
    request.session[SESSION_AGREED] = time.time()
    return redirect("accounts:deletion_confirm")


@resident_required
@require_http_methods(["GET", "POST"])
def deletion_confirm(request: ResidentRequest) -> HttpResponse:
    """The last question: 「削除」 deletes, ends every session and shows the done page."""
    if not _fresh(request.session.get(SESSION_AGREED), AGREEMENT_SECONDS):
        messages.error(request, _("「同意します」にチェックを入れてから「設定情報の削除」を押してください。"))
        return redirect("accounts:deletion")
    if request.method == "GET":
        return render(request, "accounts/deletion/confirm.html")
    account_delete(user=request.user)
    # flush(): this browser's session row goes too; the new, anonymous one carries the flag.
    logout(request)
    request.session[SESSION_DONE] = time.time()
    return redirect("accounts:deletion_done")


@never_cache
@require_GET
def deletion_done(request: HttpRequest) -> HttpResponse:
    """ユーザー情報の削除が完了しました → 「OK」 → the sign-in page. Only right after a deletion."""
    if request.user.is_authenticated or not _fresh(request.session.get(SESSION_DONE), DONE_PAGE_SECONDS):
        return redirect("accounts:signin")
    return render(request, "accounts/deletion/done.html")
