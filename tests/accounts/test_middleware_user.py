"""The profile gate (accounts.middleware.ProfileRequiredMiddleware) hands the view the user itself:
the two lazy proxies around it (the session's, django-otp's) are read through once, not on every
attribute a page reads."""

from __future__ import annotations

from http import HTTPStatus

import pytest
from django.contrib.auth.models import AnonymousUser
from django.test import RequestFactory
from django.urls import reverse
from django.utils.functional import LazyObject, SimpleLazyObject

from accounts.middleware import ProfileRequiredMiddleware, lazy_unwrapped
from accounts.models import User
from tests.factories import ProfileFactory, ResidentFactory

pytestmark = pytest.mark.django_db


def test_lazy_unwrapped_reads_through_nested_lazy_objects_and_leaves_the_rest():
    calls = []
    inner = SimpleLazyObject(lambda: calls.append("inner") or "the user")
    outer = SimpleLazyObject(lambda: calls.append("outer") or inner)

    assert lazy_unwrapped(outer) == "the user" and type(lazy_unwrapped(outer)) is str
    assert calls == ["outer", "inner"]  # each evaluated once
    assert lazy_unwrapped(AnonymousUser()).is_anonymous


def seen_by_the_view(request):
    seen = []

    def view(request):
        seen.append(request.user)
        return None

    ProfileRequiredMiddleware(view)(request)
    return seen


def test_a_page_gets_the_user_itself_with_what_django_otp_set_on_it(client, monkeypatch):
    user = ResidentFactory()
    ProfileFactory(user=user)
    client.force_login(user)
    seen = []
    real = ProfileRequiredMiddleware.__call__

    def spy(self, request):
        response = real(self, request)
        seen.append(request.user)
        return response

    monkeypatch.setattr(ProfileRequiredMiddleware, "__call__", spy)
    assert client.get(reverse("accounts:mypage")).status_code == HTTPStatus.OK

    (page_user,) = seen
    assert type(page_user) is User and not isinstance(page_user, LazyObject)
    assert page_user.pk == user.pk and page_user.is_verified() is False  # django-otp's, still there


def test_an_allowed_path_leaves_the_lazy_user_unread(django_assert_num_queries):
    request = RequestFactory().get("/healthz")
    request.user = SimpleLazyObject(lambda: pytest.fail("the user was read"))

    with django_assert_num_queries(0):
        (user,) = seen_by_the_view(request)
    assert isinstance(user, LazyObject)


def test_a_resident_without_a_profile_is_still_sent_to_the_wizard(client):
    client.force_login(ResidentFactory())

    response = client.get(reverse("accounts:mypage"))

    assert response.status_code == HTTPStatus.FOUND and response.url == reverse("accounts:register")
