"""The help centre (ヘルプ): index by category with a search box, one page per topic, and
"Was this helpful?" at the foot of each page. Open to everyone, signed in or not (a
resident whose code does not arrive is not signed in yet); a signed-in rental resident
also sees their management company's contact where the article says to call it.
"""

from __future__ import annotations

from http import HTTPStatus

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods
from django_ratelimit.decorators import ratelimit

from accounts.app_settings import app_settings
from myspacecore.core.ratelimits import parse_rate
from myspacecore.core.refusals import ratelimited
from myspacecore.help.forms import HelpFeedbackForm, HelpSearchForm
from myspacecore.help.services import help_feedback_create
from myspacecore.help.topics import HelpTopic, help_topic_get, help_topics_by_category, help_topics_search
from myspacecore.tenancy.selectors import operator_contact_for_user


def _feedback_rate(group: str, request: HttpRequest) -> str:
    """Answers per IP: `help_feedback` of the site's rate table, read at each request."""
    return app_settings.RATE_LIMITS["help_feedback"]


def _topic_or_404(slug: str) -> HelpTopic:
    topic = help_topic_get(slug=slug)
    if topic is None:
        raise Http404
    return topic


def _operator(request: HttpRequest):
    user = request.user
    if user.is_authenticated and getattr(user, "is_resident", False):
        return operator_contact_for_user(user=user)
    return None


@require_GET
def help_index(request: HttpRequest) -> HttpResponse:
    """Topics by category; with `?q=`, the topics that contain every word typed."""
    form = HelpSearchForm(request.GET or None)
    query = form.query() if form.is_bound else ""
    context = {
        "form": form,
        "query": query,
        "results": help_topics_search(query=query) if query else None,
        "categories": help_topics_by_category(),
    }
    return render(request, "help/index.html", context)


def _topic_page(request: HttpRequest, topic: HelpTopic, form: HelpFeedbackForm, status: int = HTTPStatus.OK):
    context = {"topic": topic, "form": form, "operator": _operator(request)}
    return render(request, "help/topic.html", context, status=status)


@require_GET
def help_topic(request: HttpRequest, slug: str) -> HttpResponse:
    return _topic_page(request, _topic_or_404(slug), HelpFeedbackForm())


@require_http_methods(["POST"])
@ratelimit(key="ip", rate=_feedback_rate, method="POST", block=False, group="accounts.help_feedback")
def help_feedback(request: HttpRequest, slug: str) -> HttpResponse:
    """「はい」 / 「いいえ」 (+ optional comment) -> stored, thanked, back to the page."""
    topic = _topic_or_404(slug)
    if getattr(request, "limited", False):
        # At most one window away (django-ratelimit does not say how much of it is left).
        _count, window = parse_rate(app_settings.RATE_LIMITS["help_feedback"])
        return ratelimited(request, retry_after=window)
    form = HelpFeedbackForm(request.POST)
    if form.is_valid():
        try:
            help_feedback_create(
                topic=topic.slug,
                helpful=form.cleaned_data["helpful"],
                comment=form.cleaned_data["comment"],
                language=get_language() or "",
            )
        except ValidationError as exc:
            form.add_error(None, exc)
        else:
            messages.success(request, _("ご評価ありがとうございました。いただいたご意見は、ヘルプの改善に役立てます。"))
            return redirect(reverse("help:topic", kwargs={"slug": topic.slug}) + "#feedback")
    return _topic_page(request, topic, form, status=HTTPStatus.BAD_REQUEST)
