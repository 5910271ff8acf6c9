"""The help centre: index, search, topic pages, links from the steps, feedback and its admin."""

from __future__ import annotations

import re
from http import HTTPStatus

import pytest
from django.contrib.admin.sites import site as admin_site
from django.core.exceptions import ValidationError
from django.test import Client, RequestFactory
from django.urls import reverse

from myspacecore.help.admin import HelpFeedbackAdmin
from myspacecore.help.models import HelpFeedback
from myspacecore.help.services import help_feedback_create
from myspacecore.help.topics import TOPICS, help_topics_search
from tests.factories import (
    LeaseFactory,
    OperatorFactory,
    ProfileFactory,
    ResidentFactory,
    StaffFactory,
    UnitFactory,
    attribute,
)

pytestmark = pytest.mark.django_db

TOPIC_LINK = re.compile(r'href="/help/([a-z-]+)/"')


def topic_links(response) -> list[str]:
    return TOPIC_LINK.findall(response.content.decode())


def test_help_index_lists_every_topic_by_category(client, django_assert_max_num_queries):
    with django_assert_max_num_queries(2):
        response = client.get(reverse("help:index"))
    assert response.status_code == HTTPStatus.OK
    assert set(topic_links(response)) == {topic.slug for topic in TOPICS}
    content = response.content.decode()
    for heading in ("はじめに", "登録", "登録内容の変更", "削除", "困ったときは"):
        assert f">{heading}</h2>" in content


def test_every_topic_page_renders_for_an_anonymous_visitor(client):
    for topic in TOPICS:
        response = client.get(reverse("help:topic", kwargs={"slug": topic.slug}))
        assert response.status_code == HTTPStatus.OK, topic.slug
        assert "このページは役に立ちましたか？" in response.content.decode()


def test_unknown_topic_is_404(client):
    assert client.get("/help/no-such-topic/").status_code == HTTPStatus.NOT_FOUND
    assert client.post("/help/no-such-topic/feedback/", {"helpful": "yes"}).status_code == HTTPStatus.NOT_FOUND


def test_search_finds_the_code_help_by_words_of_its_text(client):
    response = client.get(reverse("help:index"), {"q": "迷惑メール"})
    assert response.status_code == HTTPStatus.OK
    content = response.content.decode()
    assert "「迷惑メール」の検索結果" in content
    results = content.split("検索結果", 1)[1].split("</section>", 1)[0]
    assert "/help/code-not-arriving/" in results
    assert "/help/deletion/" not in results


def test_search_needs_every_word_and_ignores_width_and_case():
    assert [topic.slug for topic in help_topics_search(query="ｓｍｓ　受信拒否")] == ["code-not-arriving"]
    assert help_topics_search(query="生年 変更できません")[0].slug == "change-availability"
    assert help_topics_search(query="生年 宇宙旅行") == []
    assert help_topics_search(query="   ") == []


def test_search_in_english_searches_the_english_text(client):
    client.cookies["django_language"] = "en"
    response = client.get(reverse("help:index"), {"q": "spam"})
    assert response.status_code == HTTPStatus.OK
    assert "/help/code-not-arriving/" in response.content.decode()


def test_search_with_nothing_found_says_so_and_keeps_the_query(client):
    response = client.get(reverse("help:index"), {"q": "<script>宇宙旅行"})
    content = response.content.decode()
    assert response.status_code == HTTPStatus.OK
    assert "該当するヘルプが見つかりませんでした" in content
    assert "<script>宇宙旅行" not in content and "&lt;script&gt;宇宙旅行" in content


def test_search_with_a_very_long_query_is_not_an_error(client):
    assert client.get(reverse("help:index"), {"q": "あ" * 5000}).status_code == HTTPStatus.OK


def test_a_query_over_the_limit_gets_our_message_on_the_styled_page(client):
    response = client.get(reverse("help:index"), {"q": "あ" * 10_000})
    content = response.content.decode()
    assert response.status_code == HTTPStatus.OK
    assert "「ヘルプを検索」は100文字以内で入力してください（入力は10000文字です）。" in content
    assert "Ensure this value" not in content and "文字以下" not in content
    assert 'href="/static/css/site.css"' in content  # the site's page, not a bare error
    assert "検索結果" not in content  # nothing searched; the topics are still listed below
    assert 'href="/help/registration/"' in content


def test_the_search_box_cannot_take_more_than_the_limit(client):
    assert 'maxlength="100"' in client.get(reverse("help:index")).content.decode()


def test_help_is_open_to_a_resident_without_a_profile():
    user = ResidentFactory()
    client = Client()
    client.force_login(user)
    assert client.get(reverse("help:topic", kwargs={"slug": "registration"})).status_code == HTTPStatus.OK


def test_rental_resident_sees_their_management_company_on_the_change_table():
    operator = OperatorFactory(name="さくら管理", contact_phone="0120-111-222")
    resident = ResidentFactory(attribute=attribute("rental_resident"))
    ProfileFactory(user=resident)
    LeaseFactory(unit=UnitFactory(property__operator=operator), phone_number=resident.phone_number, resident=resident)
    client = Client()
    client.force_login(resident)
    content = client.get(reverse("help:topic", kwargs={"slug": "change-availability"})).content.decode()
    assert "項目の変更可否" in content
    assert "さくら管理" in content and 'href="tel:0120-111-222"' in content


def test_anonymous_visitor_is_told_where_to_find_the_company_contact(client):
    content = client.get(reverse("help:topic", kwargs={"slug": "change-availability"})).content.decode()
    assert "入居時の書類" in content


@pytest.mark.parametrize(
    ("url_name", "slug"),
    [
        ("accounts:register", "registration"),
        ("accounts:register_code", "code-not-arriving"),
        ("accounts:profile", "change-availability"),
        ("accounts:profile", "deletion"),
        ("accounts:profile_phone", "editing"),
        ("accounts:signin_code", "code-not-arriving"),
    ],
)
def test_each_step_links_to_the_help_that_explains_it(url_name, slug):
    # Rendered through the templates directly: the steps' views need state the help does not care about.
    from django.template.loader import render_to_string

    template = {
        "accounts:register": "accounts/register/basics.html",
        "accounts:register_code": "accounts/register/code.html",
        "accounts:profile": "accounts/profile/edit.html",
        "accounts:profile_phone": "accounts/profile/phone.html",
        "accounts:signin_code": "accounts/signin_code.html",
    }[url_name]
    request = RequestFactory().get("/")
    request.user = ResidentFactory()
    html = render_to_string(template, {"profile": ProfileFactory(user=request.user), "steps": []}, request=request)
    assert f'href="/help/{slug}/' in html


def test_feedback_is_stored_and_thanked(client):
    response = client.post(
        reverse("help:feedback", kwargs={"slug": "registration"}),
        {"helpful": "no", "comment": "  生年の選び方がわかりにくい  "},
        follow=True,
    )
    assert response.status_code == HTTPStatus.OK
    assert response.redirect_chain[-1][0] == "/help/registration/#feedback"
    assert "ご評価ありがとうございました" in response.content.decode()
    feedback = HelpFeedback.objects.get()
    assert (feedback.topic, feedback.helpful, feedback.comment, feedback.language) == (
        "registration",
        False,
        "生年の選び方がわかりにくい",
        "ja",
    )


def test_feedback_without_yes_or_no_is_refused_with_a_message_and_keeps_the_comment(client):
    response = client.post(
        reverse("help:feedback", kwargs={"slug": "registration"}), {"helpful": "maybe", "comment": "メモ"}
    )
    assert response.status_code == HTTPStatus.BAD_REQUEST
    content = response.content.decode()
    assert "「はい」または「いいえ」を押してください。" in content
    assert "メモ</textarea>" in content
    assert not HelpFeedback.objects.exists()


def test_feedback_comment_too_long_is_refused_next_to_the_field(client):
    response = client.post(
        reverse("help:feedback", kwargs={"slug": "deletion"}), {"helpful": "yes", "comment": "あ" * 1001}
    )
    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert "コメントは1000文字以内で入力してください。" in response.content.decode()
    assert not HelpFeedback.objects.exists()


def test_feedback_is_rate_limited_per_ip(client):
    url = reverse("help:feedback", kwargs={"slug": "about"})
    for _ in range(10):
        assert client.post(url, {"helpful": "yes"}).status_code == HTTPStatus.FOUND
    response = client.post(url, {"helpful": "yes"})
    assert response.status_code == HTTPStatus.TOO_MANY_REQUESTS
    assert "しばらくお待ちください" in response.content.decode()
    assert HelpFeedback.objects.count() == 10
    # Another address is not affected.
    assert client.post(url, {"helpful": "yes"}, REMOTE_ADDR="192.0.2.7").status_code == HTTPStatus.FOUND


def test_feedback_only_by_post(client):
    url = reverse("help:feedback", kwargs={"slug": "about"})
    assert client.get(url).status_code == HTTPStatus.METHOD_NOT_ALLOWED


def test_feedback_service_refuses_an_unknown_topic_and_a_long_comment():
    with pytest.raises(ValidationError):
        help_feedback_create(topic="nope", helpful=True)
    with pytest.raises(ValidationError):
        help_feedback_create(topic="about", helpful=True, comment="あ" * 1001)
    assert not HelpFeedback.objects.exists()


def _admin_request(user):
    request = RequestFactory().get("/admin/help/helpfeedback/")
    request.user = user
    return request


def test_platform_staff_see_the_results_per_help_page(django_assert_max_num_queries):
    for helpful, comment in ((True, ""), (True, "よかった"), (False, "")):
        help_feedback_create(topic="registration", helpful=helpful, comment=comment)
    help_feedback_create(topic="deletion", helpful=False)
    client = Client()
    client.force_login(StaffFactory(is_superuser=True))
    with django_assert_max_num_queries(12):
        response = client.get("/admin/help/helpfeedback/")
    assert response.status_code == HTTPStatus.OK
    rows = {row["topic"]: (row["yes"], row["no"], row["comments"]) for row in response.context["help_summary"]}
    assert rows == {"registration": (2, 1, 1), "deletion": (0, 1, 0)}
    assert "MySpaceCore の登録のしかた" in response.content.decode()


def test_operator_staff_cannot_see_help_feedback():
    staff = StaffFactory(operator=OperatorFactory())
    model_admin = admin_site._registry[HelpFeedback]
    assert isinstance(model_admin, HelpFeedbackAdmin)
    request = _admin_request(staff)
    assert not model_admin.has_module_permission(request)
    assert not model_admin.has_view_permission(request)
    client = Client()
    client.force_login(staff)
    assert client.get("/admin/help/helpfeedback/").status_code in (HTTPStatus.FORBIDDEN, HTTPStatus.FOUND)


def test_nobody_adds_or_edits_feedback_by_hand():
    model_admin = admin_site._registry[HelpFeedback]
    request = _admin_request(StaffFactory(is_superuser=True))
    assert not model_admin.has_add_permission(request)
    assert not model_admin.has_change_permission(request)
    assert model_admin.has_view_permission(request)
