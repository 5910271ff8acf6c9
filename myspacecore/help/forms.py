"""The help centre's forms: the search box and "Was this helpful?"."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from myspacecore.help.models import COMMENT_MAX_LENGTH
from myspacecore.help.topics import QUERY_MAX_LENGTH


class HelpSearchForm(forms.Form):
    q = forms.CharField(
        label=_("ヘルプを検索"),
        required=False,
        # Longer input is cut by the search, not refused: nothing a resident types is an error here.
        help_text=_("例: 認証コード 届かない"),
        widget=forms.TextInput(attrs={"type": "search", "autocomplete": "off", "enterkeyhint": "search"}),
    )

    def query(self) -> str:
        return (self.cleaned_data.get("q") or "")[:QUERY_MAX_LENGTH] if self.is_valid() else ""


class HelpFeedbackForm(forms.Form):
    # Set by the button pressed (「はい」 / 「いいえ」), so it is not drawn as a field.
    helpful = forms.TypedChoiceField(
        choices=[("yes", _("はい")), ("no", _("いいえ"))],
        coerce=lambda value: value == "yes",
        error_messages={
            "required": _("「はい」または「いいえ」を押してください。"),
            "invalid_choice": _("「はい」または「いいえ」を押してください。"),
        },
        widget=forms.HiddenInput,
    )
    comment = forms.CharField(
        label=_("コメント（任意）"),
        required=False,
        max_length=COMMENT_MAX_LENGTH,
        error_messages={"max_length": _("コメントは%(limit_value)s文字以内で入力してください。")},
        widget=forms.Textarea(attrs={"rows": 3}),
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # Interpolated per request, in the language of the page.
        self.fields["comment"].help_text = _(
            "わかりにくかった点などをお書きください（%(max)s文字以内）。個人情報は書かないでください。"
        ) % {"max": COMMENT_MAX_LENGTH}
