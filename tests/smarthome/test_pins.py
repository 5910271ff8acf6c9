"""PIN rules: what a resident may type and which PINs are refused."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError

from smarthome.pins import pin_is_trivial, pin_normalize, pin_validate


@pytest.mark.parametrize("trivial", ["1111", "0000000000", "1234", "0123", "9876", "3210", "7890", "0987", "123456"])
def test_trivial_pins_are_refused(trivial):
    assert pin_is_trivial(trivial)
    with pytest.raises(ValidationError) as caught:
        pin_validate(trivial)
    assert caught.value.code == "trivial"


@pytest.mark.parametrize("fine", ["2580", "1235", "4829", "1122", "13579"])
def test_ordinary_pins_are_not_trivial(fine):
    assert not pin_is_trivial(fine)
    pin_validate(fine)


@pytest.mark.parametrize(
    ("pin", "accepted"), [("482", False), ("4829", True), ("4829173056", True), ("48291730561", False)]
)
def test_pin_length_is_4_to_10_digits(pin, accepted):
    if accepted:
        pin_validate(pin)
    else:
        with pytest.raises(ValidationError) as caught:
            pin_validate(pin)
        assert caught.value.code == "length"


def test_full_width_digits_spaces_and_hyphens_are_normalised():
    assert pin_normalize("４８２９") == "4829"
    assert pin_normalize(" 48-29 ") == "4829"
    assert pin_normalize("４８－２９") == "4829"
    # The long-vowel mark a Japanese IME gives for "-".
    assert pin_normalize("４８ー２９") == "4829"
    pin_validate(pin_normalize("４８　２９"))


@pytest.mark.parametrize("bad", ["48a9", "ABCD", "４８ニ９", "٤٨٢٩", "48.9", ""])
def test_letters_and_other_scripts_digits_are_refused(bad):
    with pytest.raises(ValidationError) as caught:
        pin_validate(pin_normalize(bad))
    assert caught.value.code == "not_digits"
