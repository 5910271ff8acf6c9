"""The help centre's forms: the search box and "Was this helpful?"."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from myspacecore.core.forms import LengthMessages
from myspacecore.help.models import COMMENT_MAX_LENGTH
from myspacecore.help.topics import QUERY_MAX_LENGTH


class HelpSearchForm(LengthMessages, forms.Form):
    q = forms.CharField(
        label=_("ヘルプを検索"),
        required=False,
        # maxlength on the box: a browser never builds a longer query, whose URL a server in
        # front of Django would refuse unstyled (runserver: 414 past 65,536 bytes in the request
        # line; gunicorn: 400 past 4,094). One that arrives anyway gets our message on the page.
        max_length=QUERY_MAX_LENGTH,
        help_text=_("例: 認証コード 届かない"),
        widget=forms.TextInput(attrs={"type": "search", "autocomplete": "off", "enterkeyhint": "search"}),
    )

    def query(self) -> str:
        """The words to search for ("" when the box is empty or too long)."""
        return (self.cleaned_data.get("q") or "") if self.is_valid() else ""


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
