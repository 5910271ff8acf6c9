"""The "download my data" view: the account's data as a JSON attachment (APPI disclosure)."""

from __future__ import annotations

from django.http import JsonResponse
from django.utils import timezone
from django.views.decorators.http import require_GET

from accounts.services.export import user_data_export
from accounts.views.access import ResidentRequest, resident_required


@resident_required
@require_GET
def data_download(request: ResidentRequest) -> JsonResponse:
    """データのダウンロード: profile, roster entries and smart-home settings (PINs masked)."""
    response = JsonResponse(user_data_export(user=request.user), json_dumps_params={"ensure_ascii": False, "indent": 2})
    filename = f"myspacecore-data-{timezone.localdate():%Y%m%d}.json"
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response
