"""Deleting MySpaceCore in a real browser, signed in on two devices at once (SPEC "Deletion")."""

from __future__ import annotations

import re

import pytest
from django.test import Client

from accounts.models import Profile, User
from tests.accounts.profile_helpers import attributes_seed, axe_serious_violations
from tests.browser.conftest import browser_page
from tests.factories import ProfileFactory, attribute

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)


@pytest.fixture(autouse=True)
def _seeded_attributes(transactional_db):
    attributes_seed()


def sign_in(context, live_server, user) -> None:
    client = Client()
    client.force_login(user)
    context.add_cookies([{"name": "sessionid", "value": client.cookies["sessionid"].value, "url": live_server.url}])


def test_deletion_flow_logs_out_every_browser_of_the_account(page, browser, live_server, screenshot):
    profile = ProfileFactory(user__attribute=attribute("rental_resident"), nickname="さくら")
    user = profile.user
    sign_in(page.context, live_server, user)
    with browser_page(browser, live_server) as other:
        sign_in(other.context, live_server, user)
        other.goto("/mypage/")
        assert other.get_by_text("さくら さん、こんにちは。").is_visible()

        page.goto("/mypage/")
        page.locator("#main").get_by_role("link", name="MySpaceCore").click()
        page.get_by_role("link", name="「設定情報の削除」について").click()
        page.get_by_role("heading", name="「設定情報の削除」について").wait_for()
        lease_note = "入居契約期間中はスマートホームで設定された情報をリセットすることはできません"
        assert page.get_by_text(lease_note, exact=False).is_visible()
        screenshot(page, "deletion-about")
        assert axe_serious_violations(page) == []

        # Without the tick nothing happens, and the page says why.
        page.get_by_role("button", name="設定情報の削除").click()
        assert page.get_by_text("「同意します」にチェックを入れてください", exact=False).first.is_visible()
        assert User.objects.filter(pk=user.pk).exists()
        screenshot(page, "deletion-about-no-tick")
        assert axe_serious_violations(page) == []

        page.get_by_label("同意します").check()
        page.get_by_role("button", name="設定情報の削除").click()
        page.get_by_role("button", name="削除", exact=True).wait_for()
        screenshot(page, "deletion-confirm")
        assert axe_serious_violations(page) == []
        page.get_by_role("button", name="削除", exact=True).click()

        page.get_by_role("heading", name="ユーザー情報の削除が完了しました。").wait_for()
        screenshot(page, "deletion-done")
        assert axe_serious_violations(page) == []
        assert not User.objects.filter(pk=user.pk).exists()
        assert not Profile.objects.exists()
        page.get_by_role("link", name="OK").click()
        page.wait_for_url(re.compile(r"/signin/$"))

        # The other browser is signed out as well.
        other.goto("/mypage/")
        other.wait_for_url(re.compile(r"/signin/"))
        assert other.get_by_text("さくら").count() == 0
