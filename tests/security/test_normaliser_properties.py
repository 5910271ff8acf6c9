"""Property-based tests (hypothesis) of the input normalisers: phone number, code, nickname, PIN.

For any input: no exception other than a validation error; normalising twice changes
nothing; and the canonical form, typed again, comes back unchanged.
"""

from __future__ import annotations

import unicodedata

import pytest
import regex
from django.core.exceptions import ValidationError
from hypothesis import example, given, settings
from hypothesis import strategies as st

from accounts.forms.profile import PhoneForm
from accounts.forms.signin import SignInPhoneForm
from accounts.services.profile import NICKNAME_MAX_GRAPHEMES, nickname_clean
from accounts.services.verification import normalize_code
from smarthome.forms import PinCodeForm
from smarthome.pins import pin_normalize, pin_validate

FULL_WIDTH = str.maketrans("0123456789", "０１２３４５６７８９")
# What each normaliser documents as a separator: the code's also takes the IME's long-vowel mark.
CODE_SEPARATORS = st.sampled_from([" ", "-", "\u3000", "\u2010", "\u2212", "\u30fc", "\t"])
PIN_SEPARATORS = st.sampled_from([" ", "-", "\u3000", "\u2010", "\u2212", "\t"])
# Text as hostile as hypothesis makes it, plus the characters our normalisers care about.
ANY_TEXT = st.text(
    alphabet=st.one_of(
        st.characters(codec="utf-8"),
        st.sampled_from("0123456789０１２３４５６７８９٠١٢٣٤٥٦٧٨٩+-‐－ー ()\u3000\u200d\u0301\u3099"),
    ),
    max_size=40,
)
six_digits = st.text(alphabet="0123456789", min_size=6, max_size=6)


def decorate(draw, digits: str, separators=CODE_SEPARATORS) -> str:
    """The digits as a person might type them: some full-width, separators between, spaces around."""
    typed = []
    for digit in digits:
        typed.append(digit.translate(FULL_WIDTH) if draw(st.booleans()) else digit)
        if draw(st.integers(0, 4)) == 0:
            typed.append(draw(separators))
    return draw(st.sampled_from(["", " "])) + "".join(typed) + draw(st.sampled_from(["", " "]))


# Verification code
# ------------------------------------------------------------------------------


@given(st.one_of(ANY_TEXT, st.none(), st.integers(), st.lists(st.text(max_size=6)), st.binary(max_size=8)))
@example("١٢٣٤٥٦")
@example("1" * 10_000)
def test_code_normaliser_never_raises_and_is_idempotent(raw):
    code = normalize_code(raw)
    assert code is None or (len(code) == 6 and code.isascii() and code.isdigit())
    if code is not None:
        assert normalize_code(code) == code


@given(st.data(), six_digits)
def test_code_typed_any_forgiving_way_round_trips_to_its_digits(data, digits):
    assert normalize_code(decorate(data.draw, digits)) == digits


# Phone number (the form fields of the sign-in and the phone change)
# ------------------------------------------------------------------------------

def phone_form(kind: str, value: str):
    if kind == "sign_in":
        return SignInPhoneForm({"phone_number": value})
    return PhoneForm({"phone_number": value}, user=_Nobody())


class _Nobody:
    """A user without a number, so the phone-change form's "same number" rule never applies."""

    pk = None
    phone_number = None


@pytest.mark.django_db
@settings(deadline=None)
@given(kind=st.sampled_from(["sign_in", "change"]), raw=ANY_TEXT)
@example(kind="change", raw="9" * 300)
@example(kind="sign_in", raw="+81 90 1234 5678 ext. 99")
def test_phone_field_never_raises_and_its_canonical_form_round_trips(kind, raw):
    form = phone_form(kind, raw)
    if not form.is_valid():
        assert "phone_number" in form.errors
        return
    number = form.cleaned_data["phone_number"]
    for canonical in (number.as_e164, number.as_national):
        again = phone_form(kind, canonical)
        assert again.is_valid(), (canonical, again.errors)
        assert again.cleaned_data["phone_number"].as_e164 == number.as_e164


@pytest.mark.django_db
@settings(deadline=None)
@given(
    data=st.data(),
    prefix=st.sampled_from(["070", "080", "090"]),
    # 0x0-0 ranges are not allocated to mobiles: the fourth digit is 1–9.
    first=st.sampled_from("123456789"),
    rest=st.text("0123456789", min_size=7, max_size=7),
)
def test_japanese_mobile_typed_any_usual_way_is_one_e164_number(data, prefix, first, rest):
    national = prefix + first + rest
    style = data.draw(st.sampled_from(["plain", "hyphens", "international", "decorated"]))
    typed = {
        "plain": national,
        "hyphens": f"{national[:3]}-{national[3:7]}-{national[7:]}",
        "international": f"+81 {national[1:3]} {national[3:7]} {national[7:]}",
        "decorated": national.translate(FULL_WIDTH),
    }[style]
    form = phone_form("sign_in", typed)
    assert form.is_valid(), (typed, form.errors)
    assert form.cleaned_data["phone_number"].as_e164 == "+81" + national[1:]


# Nickname
# ------------------------------------------------------------------------------


@given(ANY_TEXT)
@example("  \u200b ")
@example("か\u3099")
@example("👨\u200d👩\u200d👧")
def test_nickname_normaliser_never_raises_is_idempotent_and_canonical(raw):
    try:
        nickname = nickname_clean(raw)
    except ValidationError:
        return
    assert nickname == nickname.strip()
    assert unicodedata.is_normalized("NFC", nickname)
    assert 1 <= len(regex.findall(r"\X", nickname)) <= NICKNAME_MAX_GRAPHEMES
    assert nickname_clean(nickname) == nickname
    assert nickname_clean(f" {nickname}\u3000") == nickname


# Smart-lock PIN
# ------------------------------------------------------------------------------


@given(ANY_TEXT)
@example("1234")
@example("٥٨٣٩٢٠")
@example("e-\u0301")  # the hyphen's removal joins e and the accent: é
@example("ｶ-ﾞ")
def test_pin_normaliser_never_raises_other_than_validation_and_is_idempotent(raw):
    pin = pin_normalize(raw)
    assert pin_normalize(pin) == pin
    try:
        pin_validate(pin)
    except ValidationError:
        return
    assert pin.isascii() and pin.isdigit()


@given(st.data(), st.text(alphabet="0123456789", min_size=4, max_size=10))
def test_pin_typed_any_forgiving_way_round_trips_through_the_form(data, digits):
    try:
        pin_validate(digits)
    except ValidationError:
        return  # a trivial PIN: refused in every spelling, checked by the property above
    typed = decorate(data.draw, digits, PIN_SEPARATORS)
    form = PinCodeForm({"label": "家族", "pin": typed})
    assert form.is_valid(), (typed, form.errors)
    assert form.cleaned_data["pin"] == digits
