"""The resident's forms speak our words (issue 16, point 7): the current address sends no code,
length errors name the field, the birth-year list shows 和暦, the PIN is typed masked, and
remote signal data has a limit."""

from __future__ import annotations

from http import HTTPStatus

import pytest
from django.core import mail
from django.test import Client
from django.urls import reverse
from django.utils import translation

from accounts.forms.japanese_era import birth_year_label
from accounts.forms.profile import CodeForm, ProfileBasicsForm
from accounts.models import VerificationCode
from smarthome.forms import SIGNAL_DATA_MAX_LENGTH, PinCodeForm
from smarthome.models import PinCode, RemoteControlSetting
from tests.accounts.profile_helpers import post_on_commit, signed_in
from tests.factories import ProfileFactory, ResidentFactory
from tests.smarthome.factories import DeviceFactory, SmartLockFactory

pytestmark = pytest.mark.django_db

STOCK = ("Ensure this value", "文字以下でなければなりません", "文字以下にしてください")


@pytest.mark.parametrize("typed", ["hanako@example.jp", "  Hanako@Example.JP "])
def test_the_current_address_again_sends_no_code_and_says_so(typed, django_capture_on_commit_callbacks):
    client = signed_in(ProfileFactory(email="hanako@example.jp").user)

    response = post_on_commit(
        django_capture_on_commit_callbacks, client, reverse("accounts:profile_email"), {"email": typed}
    )

    assert response.status_code == HTTPStatus.OK
    assert "現在のメールアドレスと同じです。認証コードは送信していません。" in response.content.decode()
    assert mail.outbox == []
    assert not VerificationCode.objects.exists()


def test_a_first_address_is_not_compared_with_anything(django_capture_on_commit_callbacks):
    client = signed_in(ProfileFactory(email=None).user)
    response = post_on_commit(
        django_capture_on_commit_callbacks, client, reverse("accounts:profile_email"), {"email": "a@example.jp"}
    )
    assert response["Location"] == reverse("accounts:profile_email_verify")


@pytest.mark.parametrize(
    ("language", "expected"),
    [
        ("ja", "「メールアドレス」は254文字以内で入力してください（入力は266文字です）。"),
        ("en", "“E-mail address” can be at most 254 characters (you entered 266)."),
    ],
)
def test_a_too_long_address_gets_our_wording_naming_the_field(language, expected):
    client = signed_in(ProfileFactory().user)
    client.cookies["django_language"] = language
    address = "a" * 255 + "@example.jp"

    content = client.post(reverse("accounts:profile_email"), {"email": address}).content.decode()

    assert expected in content
    assert not any(stock in content for stock in STOCK)
    assert address in content  # what was typed stays in the box


def test_a_too_long_code_gets_our_wording():
    form = CodeForm({"code": "1" * 40})
    assert not form.is_valid()
    assert form.errors["code"] == ["「認証コード」は32文字以内で入力してください（入力は40文字です）。"]


@pytest.mark.parametrize(
    ("year", "label"),
    [
        (1980, "1980（昭和55年）"),
        (1926, "1926（大正15年／昭和元年）"),
        (1912, "1912（明治45年／大正元年）"),
        (1989, "1989（昭和64年／平成元年）"),
        (1990, "1990（平成2年）"),
        (2019, "2019（平成31年／令和元年）"),
        (2020, "2020（令和2年）"),
        (1906, "1906（明治39年）"),
    ],
)
def test_a_birth_year_shows_its_japanese_era_and_a_changeover_year_both(year, label):
    assert birth_year_label(year) == label


def test_the_birth_year_list_shows_japanese_eras_in_english_too():
    with translation.override("en"):
        assert birth_year_label(1989) == "1989 (Showa 64 / Heisei 1)"
        assert birth_year_label(1980) == "1980 (Showa 55)"
    choices = dict(ProfileBasicsForm().fields["birth_year"].choices)
    assert choices[1980] == "1980（昭和55年）"


def test_the_birth_year_list_keeps_the_year_as_the_value():
    content = signed_in(ResidentFactory()).get(reverse("accounts:register")).content.decode()
    assert '<option value="1980">1980（昭和55年）</option>' in content


# Smart-home form fields (the PIN input and the signal data limit)
# ------------------------------------------------------------------------------


def test_the_pin_is_typed_masked_and_kept_after_an_error_elsewhere():
    user = ProfileFactory().user
    lock = SmartLockFactory(owner_user=user)
    client = signed_in(user)
    url = reverse("smarthome:pin_code_create", args=[lock.pk])

    page = client.get(url).content.decode()
    assert 'type="password"' in page and 'name="pin"' in page and 'inputmode="numeric"' in page
    assert 'data-reveal-show="暗証番号を表示"' in page

    response = client.post(url, {"label": "", "pin": "583920"})
    content = response.content.decode()
    assert "名前を入力してください" in content
    assert 'value="583920"' in content  # nothing typed is lost
    assert not PinCode.objects.exists()


def test_signal_data_over_the_limit_is_refused_with_our_words_and_kept():
    user = ProfileFactory().user
    hub = DeviceFactory(owner_user=user)
    client = signed_in(user)
    data = {"name": "エアコン", "appliance_type": "air_conditioner", "maker": "", "signal_data": "0" * 4001}

    response = client.post(reverse("smarthome:remote_setting_create", args=[hub.pk]), data)

    content = response.content.decode()
    assert response.status_code == HTTPStatus.OK
    assert "信号データは4000文字以内で入力してください（入力は4001文字です）。" in content
    assert not RemoteControlSetting.objects.exists()
    assert SIGNAL_DATA_MAX_LENGTH == 4000
    assert f'maxlength="{SIGNAL_DATA_MAX_LENGTH}"' in content


def test_the_pin_form_still_normalises_what_was_typed():
    form = PinCodeForm({"label": "家族", "pin": "５８３９２０"})
    assert form.is_valid(), form.errors
    assert form.cleaned_data["pin"] == "583920"


def test_an_anonymous_visitor_is_not_shown_the_pin_form(client: Client):
    lock = SmartLockFactory()
    assert client.get(reverse("smarthome:pin_code_create", args=[lock.pk])).status_code == HTTPStatus.FOUND
