"""Profile rules (SPEC "Registration wizard", "Editing"): nickname, birth year, gender, e-mail."""

from __future__ import annotations

import datetime

import pytest
import time_machine
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, connection
from django.test.utils import CaptureQueriesContext
from django.utils import translation

from accounts.forms.profile import NicknameForm, ProfileBasicsForm
from accounts.models import Profile, User, UserAttribute
from accounts.services.profile import (
    nickname_clean,
    profile_email_change,
    profile_nickname_change,
    profile_register,
)
from tests.factories import ProfileFactory, ResidentFactory, attribute

FAMILY = "👨‍👩‍👧"  # five code points, one grapheme cluster
GA_DECOMPOSED = "か\u3099"


def basics(**overrides) -> dict:
    data = {"nickname": "さくら", "birth_year": "1990", "gender": Profile.Gender.FEMALE}
    data.update(overrides)
    return data


# Nickname: 1–10 grapheme clusters, trimmed, no control characters
# ------------------------------------------------------------------------------


def test_nickname_of_ten_family_emoji_is_accepted():
    assert nickname_clean(FAMILY * 10) == FAMILY * 10


def test_nickname_of_eleven_family_emoji_is_refused():
    with pytest.raises(ValidationError) as excinfo:
        nickname_clean(FAMILY * 11)
    assert excinfo.value.code == "max_length"


def test_nickname_counts_ga_as_one_character():
    assert nickname_clean("が" * 10) == "が" * 10
    with pytest.raises(ValidationError):
        nickname_clean("が" * 11)


def test_nickname_counts_decomposed_ga_as_one_character_and_stores_it_composed():
    assert nickname_clean(GA_DECOMPOSED * 10) == "が" * 10
    with pytest.raises(ValidationError):
        nickname_clean(GA_DECOMPOSED * 11)


def test_nickname_counts_a_letter_with_combining_marks_as_one_character():
    accented = "e\u0301\u0323"  # e + acute + dot below: one cluster, no single precomposed form
    assert nickname_clean(accented * 10)
    with pytest.raises(ValidationError):
        nickname_clean(accented * 11)


def test_nickname_with_too_many_stacked_marks_is_refused_not_a_database_error():
    zalgo = "a" + "\u0301" * 100
    with pytest.raises(ValidationError) as excinfo:
        nickname_clean(zalgo)
    assert excinfo.value.code == "max_code_points"


def test_nickname_of_ten_ascii_letters_is_accepted_and_eleven_refused():
    assert nickname_clean("abcdefghij") == "abcdefghij"
    with pytest.raises(ValidationError):
        nickname_clean("abcdefghijk")


def test_nickname_is_trimmed_including_full_width_spaces():
    assert nickname_clean("\u3000 さくら \u3000") == "さくら"


@pytest.mark.parametrize("raw", ["", "   ", "\u3000\u3000"])
def test_nickname_empty_after_trim_is_refused(raw):
    with pytest.raises(ValidationError) as excinfo:
        nickname_clean(raw)
    assert excinfo.value.code == "required"


@pytest.mark.parametrize(
    "raw",
    ["さく\x00ら", "さく\nら", "さく\tら", "さく\x7fら", "さく\u200bら", "さく\u202eら", "\ufeffさくら"],
    ids=["nul", "newline", "tab", "delete", "zero-width-space", "rtl-override", "bom"],
)
def test_nickname_with_control_characters_is_refused(raw):
    with pytest.raises(ValidationError) as excinfo:
        nickname_clean(raw)
    assert excinfo.value.code == "control"


@pytest.mark.parametrize("raw", ["👍🏽", "❤️", "🏴󠁧󠁢󠁳󠁣󠁴󠁿", "👩‍💻"], ids=["skin-tone", "variation-selector", "tag-flag", "zwj"])
def test_nickname_keeps_the_format_characters_emoji_need(raw):
    assert nickname_clean(raw) == raw


def test_nickname_form_refuses_nul_with_a_message_not_an_error():
    form = NicknameForm({"nickname": "a\x00b"})
    assert not form.is_valid()
    assert form.errors["nickname"]


# Birth year and gender
# ------------------------------------------------------------------------------


@time_machine.travel(datetime.datetime(2026, 6, 1, 12, tzinfo=datetime.UTC))
def test_birth_year_select_runs_from_current_year_back_120_years():
    years = [value for value, _label in ProfileBasicsForm().fields["birth_year"].choices if value != ""]
    assert years[0] == 2026
    assert years[-1] == 1906
    assert len(years) == 121


@time_machine.travel(datetime.datetime(2026, 6, 1, 12, tzinfo=datetime.UTC))
@pytest.mark.parametrize(
    ("year", "valid"), [("2026", True), ("1906", True), ("2027", False), ("1905", False), ("x", False)]
)
def test_birth_year_must_be_in_the_select(year, valid):
    form = ProfileBasicsForm(basics(birth_year=year))
    assert form.is_valid() is valid


@pytest.mark.parametrize("gender", ["male", "female", "other", "unanswered"])
def test_gender_accepts_the_four_choices(gender):
    assert ProfileBasicsForm(basics(gender=gender)).is_valid()


def test_gender_labels_are_the_articles_words():
    assert [label for _value, label in Profile.Gender.choices] == ["男性", "女性", "その他", "回答しない"]


def test_gender_outside_the_choices_is_refused():
    form = ProfileBasicsForm(basics(gender="robot"))
    assert not form.is_valid()
    assert "gender" in form.errors


# Services
# ------------------------------------------------------------------------------


@pytest.mark.django_db
def test_profile_register_creates_the_profile():
    user = ResidentFactory()
    profile = profile_register(user=user, nickname=" さくら ", birth_year=1990, gender="female", email=None)
    assert profile.nickname == "さくら"
    assert Profile.objects.filter(user=user).count() == 1


@pytest.mark.django_db
def test_profile_register_twice_answers_the_existing_profile():
    user = ResidentFactory()
    first = profile_register(user=user, nickname="さくら", birth_year=1990, gender="female", email=None)
    second = profile_register(user=user, nickname="別人", birth_year=2000, gender="male", email=None)
    assert second.pk == first.pk
    assert Profile.objects.get(user=user).nickname == "さくら"


@pytest.mark.django_db
def test_profile_register_refuses_an_address_when_the_attribute_has_none():
    user = ResidentFactory(attribute=attribute("managed"))
    with pytest.raises(PermissionDenied):
        profile_register(user=user, nickname="さくら", birth_year=1990, gender="female", email="a@example.jp")
    assert not Profile.objects.filter(user=user).exists()


@pytest.mark.django_db
def test_profile_register_refuses_a_birth_year_outside_the_range():
    user = ResidentFactory()
    with pytest.raises(ValidationError):
        profile_register(user=user, nickname="さくら", birth_year=1800, gender="female", email=None)
    assert not Profile.objects.filter(user=user).exists()


@pytest.mark.django_db
def test_profile_nickname_change_validates_like_the_form():
    profile = ProfileFactory(nickname="前")
    with pytest.raises(ValidationError):
        profile_nickname_change(user=profile.user, nickname=FAMILY * 11)
    profile_nickname_change(user=profile.user, nickname=FAMILY * 10)
    profile.refresh_from_db()
    assert profile.nickname == FAMILY * 10


@pytest.mark.django_db
def test_profile_nickname_change_reads_and_writes_only_the_profile_row():
    """The nickname is validated alone: no uniqueness query for the account or the address."""
    profile = ProfileFactory(nickname="前", email="saki@example.jp")
    user = User.objects.select_related("profile").get(pk=profile.user.pk)  # as the session loads it
    with CaptureQueriesContext(connection) as queries:
        profile_nickname_change(user=user, nickname="後")
    statements = [q["sql"] for q in queries if not q["sql"].startswith(("SAVEPOINT", "RELEASE"))]
    assert len(statements) == 1, statements
    assert statements[0].startswith("UPDATE") and "email" not in statements[0]
    profile.refresh_from_db()
    assert (profile.nickname, profile.email) == ("後", "saki@example.jp")


@pytest.mark.django_db
def test_profile_nickname_change_writes_only_the_nickname_over_a_concurrent_change():
    """The profile read with the session's user may be older than the row: only the nickname
    (and its time) is written, never the address someone else just set."""
    profile = ProfileFactory(nickname="前", email=None)
    user = User.objects.select_related("profile").get(pk=profile.user.pk)
    Profile.objects.filter(pk=profile.pk).update(email="new@example.jp")
    profile_nickname_change(user=user, nickname="後")
    profile.refresh_from_db()
    assert (profile.nickname, profile.email) == ("後", "new@example.jp")


# E-mail: unique among accounts, case-insensitively
# ------------------------------------------------------------------------------


@pytest.mark.django_db
def test_email_taken_by_another_account_in_other_case_is_refused_at_registration():
    ProfileFactory(email="Sakura@Example.jp")
    user = ResidentFactory()
    with pytest.raises(ValidationError):
        profile_register(user=user, nickname="さくら", birth_year=1990, gender="female", email="sakura@example.JP")
    assert not Profile.objects.filter(user=user).exists()


@pytest.mark.django_db
def test_email_taken_by_another_account_in_other_case_is_refused_at_change():
    ProfileFactory(email="sakura@example.jp")
    profile = ProfileFactory(email=None)
    with pytest.raises(ValidationError) as excinfo:
        profile_email_change(user=profile.user, email="SAKURA@example.jp")
    assert "使用できません" in str(excinfo.value)
    profile.refresh_from_db()
    assert profile.email is None


@pytest.mark.django_db
def test_email_unique_constraint_ignores_case_in_the_database():
    ProfileFactory(email="sakura@example.jp")
    with pytest.raises(IntegrityError):
        ProfileFactory(email="SAKURA@EXAMPLE.JP")


@pytest.mark.django_db
def test_email_change_to_the_own_address_in_other_case_is_allowed():
    profile = ProfileFactory(email="sakura@example.jp")
    profile_email_change(user=profile.user, email="Sakura@example.jp")
    profile.refresh_from_db()
    assert profile.email == "Sakura@example.jp"


@pytest.mark.django_db
def test_email_change_refused_when_the_attribute_has_no_email():
    profile = ProfileFactory(user__attribute=attribute("managed"))
    with pytest.raises(PermissionDenied):
        profile_email_change(user=profile.user, email="new@example.jp")
    profile.refresh_from_db()
    assert profile.email is None


@pytest.mark.django_db
def test_email_change_notifies_the_old_address(django_capture_on_commit_callbacks, mailoutbox):
    profile = ProfileFactory(email="old@example.jp")
    with django_capture_on_commit_callbacks(execute=True):
        profile_email_change(user=profile.user, email="new@example.jp")
    assert [message.to for message in mailoutbox] == [["old@example.jp"]]
    assert "new@example.jp" not in mailoutbox[0].body


@pytest.mark.django_db
def test_profile_register_losing_a_race_answers_the_winners_profile(monkeypatch):
    """Two requests pass the "no profile yet" check; the database keeps one, both answer it."""
    from accounts.services import profile as profile_services

    user = ResidentFactory()

    def competing_request_saves_first(year):
        ProfileFactory(user=user, nickname="先")

    monkeypatch.setattr(profile_services, "birth_year_validate", competing_request_saves_first)
    # The model's own unique check would see the winner; the race is between check and INSERT.
    monkeypatch.setattr(Profile, "full_clean", lambda self, **kwargs: None)
    profile = profile_register(user=user, nickname="後", birth_year=1990, gender="female", email=None)
    assert profile.nickname == "先"
    assert Profile.objects.filter(user=user).count() == 1


@pytest.mark.django_db
def test_a_user_attribute_is_named_in_the_language_of_the_page():
    owner = UserAttribute.objects.get(code="owner")
    assert str(owner) == "オーナー（デバイス購入者）"
    with translation.override("en"):
        assert str(owner) == "Owner (bought a device)"
        owner.name_en = ""
        assert str(owner) == "オーナー（デバイス購入者）"  # no English name: the name
