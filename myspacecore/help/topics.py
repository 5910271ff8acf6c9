"""The help centre's topics: a registry in code, the content in translatable templates.

Each topic is one page (`templates/help/topics/<slug>.html`) written in our own words
from the help-centre article. The index groups the topics by category; the search is
done on the server over each topic's title, summary, keywords and rendered text in the
current language, so it works without JavaScript and finds what a resident sees.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from django.template.loader import render_to_string
from django.utils.html import strip_tags
from django.utils.translation import gettext_lazy as _

if TYPE_CHECKING:
    from django_stubs_ext import StrOrPromise

# Longest query the search looks at; anything longer is cut, never an error.
QUERY_MAX_LENGTH = 100


@dataclass(frozen=True)
class HelpCategory:
    slug: str
    # Lazy translations: the registry is built at import, the text is read in the request's language.
    title: StrOrPromise


@dataclass(frozen=True)
class HelpTopic:
    slug: str
    category: str
    title: StrOrPromise
    summary: StrOrPromise
    # Words a resident may type that the text itself does not contain.
    keywords: tuple[StrOrPromise, ...] = field(default=())

    @property
    def template_name(self) -> str:
        return f"help/topics/{self.slug}.html"


CATEGORIES: tuple[HelpCategory, ...] = (
    HelpCategory("start", _("はじめに")),
    HelpCategory("registration", _("登録")),
    HelpCategory("editing", _("登録内容の変更")),
    HelpCategory("deletion", _("削除")),
    HelpCategory("trouble", _("困ったときは")),
)

TOPICS: tuple[HelpTopic, ...] = (
    HelpTopic(
        slug="about",
        category="start",
        title=_("MySpaceCore とは"),
        summary=_("MySpaceCore の役割と、ユーザー属性によってできることが違う理由。"),
        keywords=(_("会員"), _("ユーザー属性"), _("属性")),
    ),
    HelpTopic(
        slug="registration",
        category="registration",
        title=_("MySpaceCore の登録のしかた"),
        summary=_("ニックネーム・生年・性別の入力から、メールアドレスの認証、「利用開始」までの手順。"),
        keywords=(_("登録"), _("新規"), _("ニックネーム"), _("はじめて")),
    ),
    HelpTopic(
        slug="editing",
        category="editing",
        title=_("登録内容を変更する"),
        summary=_("ニックネーム、電話番号、メールアドレスの変更のしかた。"),
        keywords=(_("変更"), _("編集"), _("機種変更"), _("電話番号"), _("メールアドレス")),
    ),
    HelpTopic(
        slug="change-availability",
        category="editing",
        title=_("変更できる項目（ユーザー属性による違い）"),
        summary=_("項目ごとに、変更できるかどうかの一覧。電話番号を変更できない場合の連絡先。"),
        keywords=(_("変更可否"), _("変更できない"), _("管理会社"), _("生年"), _("性別")),
    ),
    HelpTopic(
        slug="deletion",
        category="deletion",
        title=_("設定情報を削除する"),
        summary=_("MySpaceCore とスマートホームの設定情報を削除する手順と、削除される情報。"),
        keywords=(_("削除"), _("退会"), _("解約"), _("リセット")),
    ),
    HelpTopic(
        slug="code-not-arriving",
        category="trouble",
        title=_("認証コードが届かない・使えない"),
        summary=_("メールや SMS の認証コードが届かないとき、期限切れや入力間違いのときにすること。"),
        keywords=(_("届かない"), _("迷惑メール"), _("SMS"), _("30秒"), _("5分"), _("有効期限")),
    ),
)

_BY_SLUG = {topic.slug: topic for topic in TOPICS}


def help_topic_get(*, slug: str) -> HelpTopic | None:
    return _BY_SLUG.get(slug)


def help_topics_by_category() -> list[tuple[HelpCategory, list[HelpTopic]]]:
    """The index: every category that has topics, in registry order."""
    return [
        (category, [topic for topic in TOPICS if topic.category == category.slug])
        for category in CATEGORIES
        if any(topic.category == category.slug for topic in TOPICS)
    ]


def _normalise(text: str) -> str:
    # Full-width letters and digits (ＳＭＳ, ３０秒) match their half-width forms; case is ignored.
    return unicodedata.normalize("NFKC", str(text)).casefold()


def _searchable_text(topic: HelpTopic) -> str:
    body = strip_tags(render_to_string(topic.template_name, {"operator": None, "searching": True}))
    return _normalise(" ".join([str(topic.title), str(topic.summary), *map(str, topic.keywords), body]))


def help_topics_search(*, query: str) -> list[HelpTopic]:
    """Topics containing every word of the query (spaces, full-width too, separate words)."""
    words = _normalise(query[:QUERY_MAX_LENGTH]).split()
    if not words:
        return []
    return [topic for topic in TOPICS if all(word in _searchable_text(topic) for word in words)]
