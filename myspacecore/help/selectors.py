"""Reads of the help centre: nothing here changes data."""

from __future__ import annotations

from typing import TypedDict

from django.db.models import Count, Q

from myspacecore.help.models import HelpFeedback


class HelpFeedbackCounts(TypedDict):
    topic: str
    yes: int
    no: int
    comments: int


def help_feedback_summary() -> list[HelpFeedbackCounts]:
    """Per help topic: how many answered yes, no, and left a comment (for platform staff)."""
    return list(
        HelpFeedback.objects.values("topic")
        .annotate(
            yes=Count("pk", filter=Q(helpful=True)),
            no=Count("pk", filter=Q(helpful=False)),
            comments=Count("pk", filter=~Q(comment="")),
        )
        .order_by("topic")
    )
