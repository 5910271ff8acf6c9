"""The deletion flow's one form: the 「同意します」 tick."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _


class DeletionAgreeForm(forms.Form):
    agree = forms.BooleanField(
        label=_("同意します"),
        required=True,
        error_messages={
            "required": _("設定情報を削除するには、上の内容を確認のうえ「同意します」にチェックを入れてください。"),
        },
    )
