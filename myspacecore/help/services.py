"""The help centre's one state change: storing an answer to "Was this helpful?"."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from myspacecore.help.models import COMMENT_MAX_LENGTH, HelpFeedback
from myspacecore.help.topics import help_topic_get


@transaction.atomic
def help_feedback_create(*, topic: str, helpful: bool, comment: str = "", language: str = "") -> HelpFeedback:
    """Store one anonymous answer for a topic of the registry; an unknown topic is refused."""
    if help_topic_get(slug=topic) is None:
        raise ValidationError(_("このヘルプページは見つかりません。"), code="unknown_topic")
    comment = comment.strip()
    # TextField's max_length only sizes the form field; the model does not check it.
    if len(comment) > COMMENT_MAX_LENGTH:
        raise ValidationError(
            _("コメントは%(limit_value)s文字以内で入力してください。") % {"limit_value": COMMENT_MAX_LENGTH},
            code="max_length",
        )
    feedback = HelpFeedback(topic=topic, helpful=helpful, comment=comment, language=language[:8])
    feedback.full_clean()
    feedback.save()
    return feedback
