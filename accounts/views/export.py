"""The resident's data (APPI disclosure): a JSON file to download, and the same data as a page
to read and print. Both come from one export (`user_data_export`), so they never differ."""

from __future__ import annotations

import datetime
import re
from dataclasses import dataclass, field

from django.conf import settings
from django.http import HttpResponse, JsonResponse
from django.shortcuts import render
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET

from accounts.services.export import user_data_export
from accounts.views.access import ResidentRequest, resident_required

# What each key of the export is called on the page. A key without a label is shown as is
# (tests/accounts/test_export.py fails on one, so a new key gets its words).
LABELS = {
    "format_version": gettext_lazy("データ形式の版"),
    "exported_at": gettext_lazy("出力日時"),
    "account": gettext_lazy("アカウント"),
    "phone_number": gettext_lazy("電話番号"),
    "attribute": gettext_lazy("ユーザー属性"),
    "language": gettext_lazy("言語"),
    "date_joined": gettext_lazy("登録日時"),
    "profile": gettext_lazy("MySpaceCore プロフィール"),
    "nickname": gettext_lazy("ニックネーム"),
    "birth_year": gettext_lazy("生年"),
    "gender": gettext_lazy("性別"),
    "email": gettext_lazy("メールアドレス"),
    "created_at": gettext_lazy("作成日時"),
    "updated_at": gettext_lazy("更新日時"),
    "leases": gettext_lazy("入居契約"),
    "operator": gettext_lazy("管理会社"),
    "property": gettext_lazy("物件"),
    "unit": gettext_lazy("部屋"),
    "start_date": gettext_lazy("入居開始日"),
    "end_date": gettext_lazy("入居終了日"),
    "smart_home": gettext_lazy("スマートホーム"),
    "devices": gettext_lazy("デバイス"),
    "name": gettext_lazy("名前"),
    "kind": gettext_lazy("種類"),
    "serial_number": gettext_lazy("シリアル番号"),
    "remote_settings": gettext_lazy("リモコン情報"),
    "appliance_type": gettext_lazy("家電の種類"),
    "maker": gettext_lazy("メーカー"),
    "signal_data": gettext_lazy("信号データ"),
    "pin_codes": gettext_lazy("暗証番号"),
    "label": gettext_lazy("名前"),
    "pin": gettext_lazy("暗証番号"),
    "valid_from": gettext_lazy("有効開始日時"),
    "valid_until": gettext_lazy("有効終了日時"),
    "state": gettext_lazy("状態"),
}
# Values the file keeps as codes, said in words on the page.
VALUE_NAMES = {"language": dict(settings.LANGUAGES)}
_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_ISO_DATETIME = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}")


@dataclass
class Item:
    """One line of the page: a label and its text, or a group of items (a dict, a list's entry)."""

    label: str
    text: str = ""
    groups: list[list[Item]] = field(default_factory=list)
    empty: bool = False


def export_text(value: object) -> str:
    """A scalar of the export as a person reads it (dates in the page's format)."""
    if isinstance(value, bool):
        return _("はい") if value else _("いいえ")
    if isinstance(value, str) and _ISO_DATETIME.match(value):
        return date_format(timezone.localtime(datetime.datetime.fromisoformat(value)), "DATETIME_FORMAT")
    if isinstance(value, str) and _ISO_DATE.match(value):
        return date_format(datetime.date.fromisoformat(value), "DATE_FORMAT")
    return str(value)


def export_items(data: dict) -> list[Item]:
    """The export as labelled items, in its own order: nothing added, nothing left out."""
    return [_item(key, value) for key, value in data.items()]


def _item(key: str, value: object) -> Item:
    label = str(LABELS.get(key, key))
    if value is None or value == "" or value == []:
        return Item(label=label, text=_("なし"), empty=True)
    if isinstance(value, dict):
        return Item(label=label, groups=[export_items(value)])
    if isinstance(value, list):
        groups = [
            export_items(entry) if isinstance(entry, dict) else [Item(label=str(number), text=export_text(entry))]
            for number, entry in enumerate(value, start=1)
        ]
        return Item(label=label, groups=groups)
    names = VALUE_NAMES.get(key, {})
    return Item(label=label, text=str(names[value]) if value in names else export_text(value))


@resident_required
@require_GET
def data_download(request: ResidentRequest) -> JsonResponse:
    """データのダウンロード: profile, roster entries and smart-home settings (PINs masked)."""
    response = JsonResponse(user_data_export(user=request.user), json_dumps_params={"ensure_ascii": False, "indent": 2})
    filename = f"myspacecore-data-{timezone.localdate():%Y%m%d}.json"
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


@resident_required
@require_GET
def data_view(request: ResidentRequest) -> HttpResponse:
    """データの表示: the same export as a page to read and print (PINs masked, as in the file)."""
    return render(request, "accounts/data.html", {"items": export_items(user_data_export(user=request.user))})
