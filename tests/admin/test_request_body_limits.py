"""Bodies larger than their page takes are refused with a 413 page before anything reads them."""

from __future__ import annotations

from http import HTTPStatus

import pytest
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from accounts.models import VerificationCode
from myspacecore.tenancy.services.roster import MAX_BYTES

pytestmark = pytest.mark.django_db

IMPORT_URL = reverse("admin:tenancy_lease_import")
TWENTY_MB = str(20 * 1024 * 1024)


def test_a_form_announcing_a_huge_body_gets_the_413_page_and_nothing_happens(client):
    response = client.post(reverse("accounts:signin"), {"phone_number": "090-1234-5678"}, CONTENT_LENGTH=TWENTY_MB)
    assert response.status_code == HTTPStatus.REQUEST_ENTITY_TOO_LARGE
    assert "送信されたデータが大きすぎます" in response.content.decode()
    assert response["Connection"] == "close"
    assert not VerificationCode.objects.exists()


def test_a_file_part_on_a_form_that_takes_no_file_is_refused(client):
    big = SimpleUploadedFile("photo.jpg", b"x" * (settings.REQUEST_BODY_MAX_BYTES + 1), "image/jpeg")
    response = client.post(reverse("accounts:signin"), {"phone_number": "090-1234-5678", "photo": big})
    assert response.status_code == HTTPStatus.REQUEST_ENTITY_TOO_LARGE


def test_an_ordinary_form_is_not_affected(client):
    response = client.post(reverse("accounts:signin"), {"phone_number": "090-1234-5678"})
    assert response.status_code != HTTPStatus.REQUEST_ENTITY_TOO_LARGE


def test_a_garbage_content_length_is_no_error(client):
    response = client.post(reverse("accounts:signin"), {"phone_number": "090-1234-5678"}, CONTENT_LENGTH="lots")
    assert response.status_code < HTTPStatus.INTERNAL_SERVER_ERROR


def test_the_roster_import_takes_its_own_files_and_refuses_larger(client, tenants):
    a, _b = tenants
    client.force_login(a.admin)
    assert settings.REQUEST_BODY_MAX_BYTES_BY_URL_NAME["admin:tenancy_lease_import"] > MAX_BYTES + 16 * 1024
    # A file just over the roster's own limit still reaches the form, which says why next to the field.
    over = SimpleUploadedFile("roster.csv", b"x" * (MAX_BYTES + 1), "text/csv")
    response = client.post(IMPORT_URL, {"file": over})
    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert "ファイルが大きすぎます" in response.content.decode()
    huge = client.post(IMPORT_URL, {"file": over}, CONTENT_LENGTH=TWENTY_MB)
    assert huge.status_code == HTTPStatus.REQUEST_ENTITY_TOO_LARGE
