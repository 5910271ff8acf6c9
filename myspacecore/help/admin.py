"""The help centre's answers to "Was this helpful?" in the admin, for platform staff only.

Kept apart from accounts/admin.py (the operator console): the answers are not any
operator's data, so only superusers see them. The list page starts with the results per
help page (yes / no / comments); the rows below are read-only.
"""

from __future__ import annotations

from django.contrib import admin
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from myspacecore.help.models import HelpFeedback
from myspacecore.help.selectors import help_feedback_summary
from myspacecore.help.topics import TOPICS, help_topic_get
from myspacecore.tenancy.scoped_admin import OperatorScopedAdminMixin


class HelpTopicFilter(admin.SimpleListFilter):
    title = _("ヘルプ項目")
    parameter_name = "topic"

    def lookups(self, request, model_admin):
        return [(topic.slug, topic.title) for topic in TOPICS]

    def queryset(self, request, queryset):
        return queryset.filter(topic=self.value()) if self.value() else queryset


@admin.register(HelpFeedback)
class HelpFeedbackAdmin(OperatorScopedAdminMixin, admin.ModelAdmin):
    # OperatorScopedAdminMixin: no scope rule for this model, so operator staff see nothing.
    change_list_template = "admin/help/helpfeedback/change_list.html"
    list_display = ("created_at", "topic_title", "helpful", "comment", "language")
    list_filter = (HelpTopicFilter, "helpful", "language")
    search_fields = ("comment",)
    date_hierarchy = "created_at"
    readonly_fields = ("topic", "helpful", "comment", "language", "created_at")

    @admin.display(description=_("ヘルプ項目"), ordering="topic")
    def topic_title(self, obj: HelpFeedback) -> str:
        topic = help_topic_get(slug=obj.topic)
        return str(topic.title) if topic else obj.topic

    def _platform_staff(self, request: HttpRequest) -> bool:
        return request.user.is_active and request.user.is_superuser

    def has_module_permission(self, request: HttpRequest) -> bool:
        return self._platform_staff(request)

    def has_view_permission(self, request: HttpRequest, obj=None) -> bool:
        return self._platform_staff(request)

    # Answers are what residents said: nobody adds or edits them by hand.
    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj=None) -> bool:
        return self._platform_staff(request)

    def changelist_view(self, request: HttpRequest, extra_context=None):
        summary = [
            {**row, "title": getattr(help_topic_get(slug=row["topic"]), "title", row["topic"])}
            for row in help_feedback_summary()
        ]
        return super().changelist_view(request, {**(extra_context or {}), "help_summary": summary})
