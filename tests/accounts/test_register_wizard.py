"""The registration wizard (SPEC "Registration wizard"): steps, code failures, reload, back, tabs."""

from __future__ import annotations

import datetime
import re
from http import HTTPStatus

import pytest
import time_machine
from django.core import mail
from django.test import Client
from django.urls import reverse

from accounts.models import Profile, VerificationCode
from tests.accounts.profile_helpers import last_email_code, post_on_commit, signed_in, wrong_code
from tests.factories import ProfileFactory, ResidentFactory, StaffFactory, attribute

pytestmark = pytest.mark.django_db

BASICS = {"nickname": "さくら", "birth_year": "1990", "gender": "female"}
START = datetime.datetime(2026, 11, 25, 3, 0, tzinfo=datetime.UTC)


@pytest.fixture
def clock():
    with time_machine.travel(START, tick=False) as traveller:
        yield traveller


def url(name: str) -> str:
    return reverse(f"accounts:{name}")


def send_email(capture, client, address="sakura@example.jp"):
    return post_on_commit(capture, client, url("register_email"), {"email": address})


def confirm(client):
    page = client.get(url("register_confirm"))
    return client.post(url("register_confirm"), {"rev": page.context["rev"]})


# Entry and guards
# ------------------------------------------------------------------------------


def test_resident_without_profile_is_sent_to_the_wizard():
    client = signed_in(ResidentFactory())
    response = client.get(url("mypage"))
    assert response.status_code == HTTPStatus.FOUND
    assert response["Location"] == url("register")


def test_resident_with_profile_going_to_the_wizard_gets_the_edit_page():
    client = signed_in(ProfileFactory().user)
    for name in ("register", "register_email", "register_code", "register_confirm"):
        response = client.get(url(name))
        assert response.status_code == HTTPStatus.FOUND
        assert response["Location"] == url("profile")


def test_anonymous_visitor_cannot_open_the_wizard():
    for name in ("register", "register_email", "register_code", "register_confirm", "register_done"):
        response = Client().get(url(name))
        assert response.status_code == HTTPStatus.FOUND
        assert response["Location"].startswith(reverse("accounts:signin"))


def test_staff_account_cannot_open_the_wizard():
    response = signed_in(StaffFactory()).get(url("register"))
    assert response.status_code == HTTPStatus.FORBIDDEN


def test_later_steps_without_step_one_go_back_to_step_one():
    client = signed_in(ResidentFactory())
    for name in ("register_email", "register_code", "register_confirm"):
        response = client.get(url(name))
        assert response["Location"] == url("register"), name


def test_done_page_without_profile_goes_back_to_the_wizard():
    response = signed_in(ResidentFactory()).get(url("register_done"))
    assert response["Location"] == url("register")


# Step 1
# ------------------------------------------------------------------------------


def test_step_one_shows_the_articles_fields_and_next_button():
    response = signed_in(ResidentFactory()).get(url("register"))
    content = response.content.decode()
    assert "次へ" in content
    assert 'name="nickname"' in content
    assert 'name="birth_year"' in content
    assert "回答しない" in content


def test_step_one_errors_keep_what_was_typed():
    client = signed_in(ResidentFactory())
    response = client.post(url("register"), {**BASICS, "nickname": "あ" * 11})
    assert response.status_code == HTTPStatus.OK
    content = response.content.decode()
    assert "10文字以内" in content
    assert "あ" * 11 in content
    assert '<option value="1990" selected>' in content


def test_step_one_goes_to_email_step_when_the_attribute_allows():
    client = signed_in(ResidentFactory(attribute=attribute("owner")))
    response = client.post(url("register"), BASICS)
    assert response["Location"] == url("register_email")


def test_step_one_goes_to_summary_when_the_attribute_has_no_email():
    client = signed_in(ResidentFactory(attribute=attribute("managed")))
    response = client.post(url("register"), BASICS)
    assert response["Location"] == url("register_confirm")


# Whole walks
# ------------------------------------------------------------------------------


def test_registration_with_email_creates_the_profile_only_at_step_four(django_capture_on_commit_callbacks):
    user = ResidentFactory(attribute=attribute("owner"))
    client = signed_in(user)
    client.post(url("register"), BASICS)
    response = send_email(django_capture_on_commit_callbacks, client)
    assert response["Location"] == url("register_code")
    message = mail.outbox[-1]
    assert message.subject == "SpaceCore 認証コードのご案内"
    assert message.from_email == "noreply@my.space-core.net"
    code = VerificationCode.objects.get()
    assert code.purpose == VerificationCode.Purpose.EMAIL
    assert code.target == "sakura@example.jp"

    page = client.get(url("register_code"))
    content = page.content.decode()
    assert "認証する" in content
    assert "noreply@my.space-core.net" in content
    assert "SpaceCore 認証コードのご案内" in content
    assert "迷惑メール" in content
    assert "他のメールアドレス" in content
    assert "data-countdown=" in content

    response = client.post(url("register_code"), {"code": last_email_code("sakura@example.jp")})
    assert response["Location"] == url("register_confirm")
    assert not Profile.objects.filter(user=user).exists()

    summary = client.get(url("register_confirm"))
    assert "設定完了" in summary.content.decode()
    assert "sakura@example.jp" in summary.content.decode()
    assert not Profile.objects.filter(user=user).exists()

    response = client.post(url("register_confirm"), {"rev": summary.context["rev"]})
    assert response["Location"] == url("register_done")
    profile = Profile.objects.get(user=user)
    assert (profile.nickname, profile.birth_year, profile.gender, profile.email) == (
        "さくら",
        1990,
        "female",
        "sakura@example.jp",
    )
    done = client.get(url("register_done"))
    assert "利用開始" in done.content.decode()
    assert reverse("accounts:mypage") in done.content.decode()
    assert client.get(url("mypage")).status_code == HTTPStatus.OK


def test_registration_without_email_step_for_managed_account():
    user = ResidentFactory(attribute=attribute("managed"))
    client = signed_in(user)
    client.post(url("register"), BASICS)
    summary = client.get(url("register_confirm"))
    assert "メールアドレス" not in summary.content.decode()
    client.post(url("register_confirm"), {"rev": summary.context["rev"]})
    assert Profile.objects.get(user=user).email is None


def test_email_step_can_be_skipped_when_email_is_optional():
    user = ResidentFactory(attribute=attribute("owner"))
    client = signed_in(user)
    client.post(url("register"), BASICS)
    response = client.post(url("register_email"), {"skip": "1"})
    assert response["Location"] == url("register_confirm")
    confirm(client)
    assert Profile.objects.get(user=user).email is None


# E-mail step: availability, wait, code failures
# ------------------------------------------------------------------------------


def test_email_used_by_another_account_is_refused_only_after_its_code_without_saying_whose(
    django_capture_on_commit_callbacks,
):
    other = ProfileFactory(email="taken@example.jp")
    client = signed_in(ResidentFactory())
    client.post(url("register"), BASICS)
    # Sending answers as for any address: the page does not tell that an account uses it.
    response = send_email(django_capture_on_commit_callbacks, client, "TAKEN@example.jp")
    assert response.status_code == HTTPStatus.FOUND
    assert response["Location"] == url("register_code")

    response = client.post(url("register_code"), {"code": last_email_code("TAKEN@example.jp")}, follow=True)
    assert response.redirect_chain[-1][0] == url("register_email")
    content = response.content.decode()
    assert "このメールアドレスは使用できません" in content
    assert other.nickname not in content
    assert client.get(url("register_confirm"))["Location"] == url("register_email")


def test_invalid_email_keeps_what_was_typed():
    client = signed_in(ResidentFactory())
    client.post(url("register"), BASICS)
    response = client.post(url("register_email"), {"email": "sakura@"})
    assert response.status_code == HTTPStatus.OK
    assert 'value="sakura@"' in response.content.decode()
    assert 'value="sakura@"' in client.get(url("register_email")).content.decode()


def test_wrong_code_forces_30s_wait_and_back_to_email_step_with_address_kept(django_capture_on_commit_callbacks, clock):
    user = ResidentFactory()
    client = signed_in(user)
    client.post(url("register"), BASICS)
    send_email(django_capture_on_commit_callbacks, client)
    code = last_email_code("sakura@example.jp")

    response = client.post(url("register_code"), {"code": wrong_code(code)}, follow=True)
    assert response.redirect_chain[-1][0] == url("register_email")
    content = response.content.decode()
    assert "認証コードが正しくありません" in content
    assert "30秒" in content
    assert 'value="sakura@example.jp"' in content
    assert 'data-countdown="30"' in content
    assert 'data-enable="#send-button"' in content
    assert 'data-countdown-done="認証コードを再送信できます。"' in content
    # The burned code cannot be retried, even with the right digits.
    assert client.get(url("register_code"))["Location"] == url("register_email")

    clock.shift(10)
    refused = send_email(django_capture_on_commit_callbacks, client)
    assert refused.status_code == HTTPStatus.OK
    assert "お待ちください" in refused.content.decode()

    clock.shift(21)
    response = send_email(django_capture_on_commit_callbacks, client)
    assert response["Location"] == url("register_code")
    client.post(url("register_code"), {"code": last_email_code("sakura@example.jp")})
    assert client.get(url("register_confirm")).status_code == HTTPStatus.OK
    assert not Profile.objects.filter(user=user).exists()


def test_expired_code_forces_wait_and_back_to_email_step(django_capture_on_commit_callbacks, clock):
    client = signed_in(ResidentFactory())
    client.post(url("register"), BASICS)
    send_email(django_capture_on_commit_callbacks, client)
    code = last_email_code("sakura@example.jp")
    clock.shift(5 * 60)
    response = client.post(url("register_code"), {"code": code}, follow=True)
    assert response.redirect_chain[-1][0] == url("register_email")
    content = response.content.decode()
    assert "有効期限が切れています" in content
    assert 'value="sakura@example.jp"' in content


def test_code_page_countdown_shows_time_left(django_capture_on_commit_callbacks, clock):
    client = signed_in(ResidentFactory())
    client.post(url("register"), BASICS)
    send_email(django_capture_on_commit_callbacks, client)
    clock.shift(60)
    content = client.get(url("register_code")).content.decode()
    assert 'data-countdown="240"' in content
    assert "4:00" in content


# Reload, back button, double submit, second tab
# ------------------------------------------------------------------------------


def test_reload_of_each_step_keeps_what_was_typed(django_capture_on_commit_callbacks):
    client = signed_in(ResidentFactory())
    client.post(url("register"), BASICS)
    send_email(django_capture_on_commit_callbacks, client)
    for _ in range(2):
        assert client.get(url("register_code")).status_code == HTTPStatus.OK
    # Back button to step 1 and step 2: both prefilled.
    step_one = client.get(url("register")).content.decode()
    assert 'value="さくら"' in step_one
    assert '<option value="1990" selected>' in step_one
    assert re.search(r'value="female"[^>]*checked', step_one)
    assert 'value="sakura@example.jp"' in client.get(url("register_email")).content.decode()


def test_back_to_step_one_after_email_verified_skips_the_email_step(django_capture_on_commit_callbacks):
    user = ResidentFactory()
    client = signed_in(user)
    client.post(url("register"), BASICS)
    send_email(django_capture_on_commit_callbacks, client)
    client.post(url("register_code"), {"code": last_email_code("sakura@example.jp")})
    response = client.post(url("register"), {**BASICS, "nickname": "さくら2"})
    assert response["Location"] == url("register_confirm")
    confirm(client)
    profile = Profile.objects.get(user=user)
    assert (profile.nickname, profile.email) == ("さくら2", "sakura@example.jp")


def test_double_submit_of_summary_creates_one_profile_and_answers_it():
    user = ResidentFactory(attribute=attribute("managed"))
    client = signed_in(user)
    client.post(url("register"), BASICS)
    rev = client.get(url("register_confirm")).context["rev"]
    first = client.post(url("register_confirm"), {"rev": rev})
    second = client.post(url("register_confirm"), {"rev": rev})
    assert first["Location"] == url("register_done")
    assert second.status_code == HTTPStatus.FOUND
    assert second["Location"] == url("register_done")
    assert Profile.objects.filter(user=user).count() == 1
    assert client.get(second["Location"]).status_code == HTTPStatus.OK


def test_summary_made_stale_by_a_second_tab_is_shown_again_not_submitted():
    user = ResidentFactory(attribute=attribute("managed"))
    tab_a = signed_in(user)
    tab_a.post(url("register"), BASICS)
    stale_rev = tab_a.get(url("register_confirm")).context["rev"]
    # Tab B shares the session (same cookie) and changes the nickname.
    tab_a.post(url("register"), {**BASICS, "nickname": "もも"})
    response = tab_a.post(url("register_confirm"), {"rev": stale_rev})
    assert response.status_code == HTTPStatus.CONFLICT
    assert "別の画面で入力内容が変更されました" in response.content.decode()
    assert "もも" in response.content.decode()
    assert not Profile.objects.filter(user=user).exists()
    tab_a.post(url("register_confirm"), {"rev": response.context["rev"]})
    assert Profile.objects.get(user=user).nickname == "もも"


def test_second_tab_starting_over_after_finish_never_creates_a_second_profile():
    user = ResidentFactory(attribute=attribute("managed"))
    client = signed_in(user)
    client.post(url("register"), BASICS)
    confirm(client)
    response = client.post(url("register"), {**BASICS, "nickname": "別人"})
    assert response.status_code == HTTPStatus.FOUND
    assert Profile.objects.filter(user=user).count() == 1
    assert Profile.objects.get(user=user).nickname == "さくら"


def test_wizard_state_of_another_account_is_not_reused():
    first = ResidentFactory(attribute=attribute("managed"))
    client = signed_in(first)
    client.post(url("register"), BASICS)
    second = ResidentFactory(attribute=attribute("managed"))
    client.force_login(second)
    assert client.get(url("register_confirm"))["Location"] == url("register")


def test_back_to_email_step_and_resend_too_soon_keeps_the_sent_code_usable(django_capture_on_commit_callbacks, clock):
    user = ResidentFactory()
    client = signed_in(user)
    client.post(url("register"), BASICS)
    send_email(django_capture_on_commit_callbacks, client)
    clock.shift(5)
    refused = send_email(django_capture_on_commit_callbacks, client)
    assert "お待ちください" in refused.content.decode()
    assert url("register_code") in refused.content.decode()
    response = client.post(url("register_code"), {"code": last_email_code("sakura@example.jp")})
    assert response["Location"] == url("register_confirm")


def test_address_taken_by_another_account_before_finish_is_refused_with_a_message(
    django_capture_on_commit_callbacks,
):
    user = ResidentFactory()
    client = signed_in(user)
    client.post(url("register"), BASICS)
    send_email(django_capture_on_commit_callbacks, client)
    client.post(url("register_code"), {"code": last_email_code("sakura@example.jp")})
    ProfileFactory(email="SAKURA@example.jp")
    response = confirm(client)
    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert "このメールアドレスは使用できません" in response.content.decode()
    assert not Profile.objects.filter(user=user).exists()


def test_empty_address_on_send_asks_to_type_one_or_skip():
    client = signed_in(ResidentFactory())
    client.post(url("register"), BASICS)
    response = client.post(url("register_email"), {"email": "  "})
    assert response.status_code == HTTPStatus.OK
    assert "メールアドレスを登録しない" in response.content.decode()
    assert "メールアドレスを入力するか" in response.content.decode()
