"""The help centre's one table: answers to "Was this helpful?" at the foot of each help page.

The table keeps the name it had in `accounts` (`db_table`; migration help 0001 moved state only).
"""

from __future__ import annotations

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

# TextField's max_length only sizes the form field; the service checks it (help_feedback_create).
COMMENT_MAX_LENGTH = 1000


class HelpFeedback(models.Model):
    """One answer to "Was this helpful?" on a help page; anonymous (no account, no IP kept)."""

    # The slug of a topic in myspacecore.help.topics (the registry is code, not a table).
    topic = models.CharField(_("ヘルプ項目"), max_length=64, db_index=True)
    helpful = models.BooleanField(_("役に立った"))
    comment = models.TextField(_("コメント"), max_length=COMMENT_MAX_LENGTH, blank=True)
    language = models.CharField(_("言語"), max_length=8, blank=True)
    created_at = models.DateTimeField(_("日時"), default=timezone.now, db_index=True)

    class Meta:
        db_table = "accounts_helpfeedback"
        verbose_name = _("ヘルプの評価")
        verbose_name_plural = pgettext_lazy("plural", "ヘルプの評価")
        ordering = ["-created_at", "-pk"]

    def __str__(self) -> str:
        return f"{self.topic}: {'👍' if self.helpful else '👎'}"
