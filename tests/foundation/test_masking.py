"""The masks of personal values (myspacecore.core.masking): hidden enough, and still telling two values apart."""

from __future__ import annotations

import pytest

from myspacecore.core.masking import mask_email, mask_phone, mask_text


def test_phone_mask_keeps_the_country_code_and_the_last_four_digits():
    assert mask_phone("+819012345678") == "+81******5678"


def test_two_numbers_differing_only_in_the_last_digits_get_different_masks():
    assert mask_phone("+819012345678") != mask_phone("+819012345679")


@pytest.mark.parametrize("short", ["", "+8190", "+819012"])
def test_a_number_too_short_to_hide_anything_is_hidden_whole(short):
    assert mask_phone(short) == "*" * len(short)


@pytest.mark.parametrize(
    ("address", "masked"),
    [
        ("taro.yamada@example.jp", "t***a@example.jp"),
        ("ab@example.jp", "a***@example.jp"),
        ("a@example.jp", "a***@example.jp"),
        ("not-an-address", "***"),
        ("@example.jp", "***"),
    ],
)
def test_email_mask_keeps_first_and_last_letter_and_the_domain(address, masked):
    assert mask_email(address) == masked


def test_email_masks_tell_two_addresses_of_one_domain_apart():
    assert mask_email("taro@example.jp") != mask_email("hanako@example.jp")


def test_free_text_has_every_number_and_address_masked():
    text = "+819012345678 / 090-8765-4321 / 08011112222 / hanako@example.jp / 101号室"
    assert mask_text(text) == "+81******5678 / 090****4321 / 080****2222 / h***o@example.jp / 101号室"


def test_free_text_already_masked_is_left_as_it_is():
    assert mask_text("+81******5678 h***o@example.jp") == "+81******5678 h***o@example.jp"
