"""Query budgets of the sign-in requests and the resident pages (issue 18), on the real flows.

Counted as in production: no test transaction around the request (`transactional_db`, so each
commit is a real one), sessions in `myspacecore.sessions` (database behind a cache). The
code's delivery is a Celery task in a worker there, so it is not counted here: the number
POST's publish is replaced by a stub. On PostgreSQL the code's save is one statement (a CTE)
where SQLite takes three; the budgets hold on both.
"""

from __future__ import annotations

from http import HTTPStatus

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from accounts.models import VerificationCode
from tests.accounts.verification_helpers import last_sms_code
from tests.factories import LeaseFactory, ProfileFactory, ResidentFactory, attribute

# serialized_rollback like the team's other transactional tests (their flush must not re-run post_migrate).
pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)

SIGNIN = reverse("accounts:signin")
SIGNIN_CODE = reverse("accounts:signin_code")
PHONE, NATIONAL = "+819012345678", "090-1234-5678"

NUMBER_POST_BUDGET = 8
RETURNING_CODE_POST_BUDGET = 8
FIRST_SIGN_IN_BUDGET = 12
RESIDENT_PAGE_BUDGET = 6


@pytest.fixture(autouse=True)
def _production_sessions(settings):
    settings.SESSION_ENGINE = "myspacecore.sessions"


def browser() -> Client:
    return Client(HTTP_X_FORWARDED_FOR="203.0.113.7")


def code_requested(client: Client) -> str:
    """POST the number (the code delivered eagerly, uncounted); the code sent."""
    assert client.post(SIGNIN, {"phone_number": NATIONAL}).status_code == HTTPStatus.FOUND
    return last_sms_code(PHONE)


def returning_resident():
    user = ResidentFactory(phone_number=PHONE, attribute=attribute("rental_resident"))
    ProfileFactory(user=user)
    LeaseFactory(phone_number=PHONE, resident=user)
    return user


def test_the_number_post_stays_within_its_query_budget(monkeypatch, django_assert_max_num_queries):
    published = []
    monkeypatch.setattr(
        "accounts.tasks.verification_code_send.apply_async", lambda *args, **kwargs: published.append(args)
    )
    client = browser()
    client.get(SIGNIN)
    with django_assert_max_num_queries(NUMBER_POST_BUDGET):
        response = client.post(SIGNIN, {"phone_number": NATIONAL})
    assert response.status_code == HTTPStatus.FOUND
    assert len(published) == 1
    assert VerificationCode.objects.filter(target=PHONE, state=VerificationCode.State.PENDING).count() == 1


def test_a_new_code_supersedes_the_pending_one_within_the_same_budget(
    monkeypatch, django_assert_max_num_queries, time_machine
):
    monkeypatch.setattr("accounts.tasks.verification_code_send.apply_async", lambda *args, **kwargs: None)
    time_machine.move_to(timezone.now(), tick=False)
    client = browser()
    client.post(SIGNIN, {"phone_number": NATIONAL})
    time_machine.shift(60)  # past the resend wait
    with django_assert_max_num_queries(NUMBER_POST_BUDGET):
        response = client.post(SIGNIN, {"phone_number": NATIONAL})
    assert response.status_code == HTTPStatus.FOUND
    states = sorted(VerificationCode.objects.filter(target=PHONE).values_list("state", flat=True))
    assert states == [VerificationCode.State.PENDING, VerificationCode.State.SUPERSEDED]


def test_a_returning_residents_code_post_stays_within_its_query_budget(django_assert_max_num_queries):
    user = returning_resident()
    client = browser()
    code = code_requested(client)
    with django_assert_max_num_queries(RETURNING_CODE_POST_BUDGET):
        response = client.post(SIGNIN_CODE, {"code": code})
    assert response.status_code == HTTPStatus.FOUND
    assert response["Location"] == reverse("accounts:mypage")
    assert int(client.session["_auth_user_id"]) == user.pk
    assert VerificationCode.objects.get(target=PHONE).state == VerificationCode.State.USED


def test_a_first_sign_in_stays_within_its_query_budget(django_assert_max_num_queries):
    LeaseFactory(phone_number=PHONE)  # an operator's entry waiting for the answer
    client = browser()
    code = code_requested(client)
    with django_assert_max_num_queries(FIRST_SIGN_IN_BUDGET):
        response = client.post(SIGNIN_CODE, {"code": code})
    assert response.status_code == HTTPStatus.FOUND
    assert client.session["accounts.invitations_pending"] is True
    assert client.session["_auth_user_id"]


def test_a_number_post_is_one_commit_with_the_session_that_keeps_the_code(monkeypatch):
    """The code stored and the new session that keeps it pending: one commit, nothing written after it."""
    monkeypatch.setattr("accounts.tasks.verification_code_send.apply_async", lambda *args, **kwargs: None)
    client = browser()
    with CaptureQueriesContext(connection) as captured:
        assert client.post(SIGNIN, {"phone_number": NATIONAL}).status_code == HTTPStatus.FOUND
    statements = [query["sql"].split(" ", 1)[0].upper() for query in captured.captured_queries]

    assert statements.count("COMMIT") == 1
    assert statements[-1] == "COMMIT"
    assert client.session["accounts_signin"]["code_id"] == VerificationCode.objects.get(target=PHONE).pk


@pytest.mark.parametrize("first_time", [False, True], ids=["returning", "first"])
def test_a_sign_in_is_one_commit_with_its_new_session(first_time):
    """The code used, the account, the old session's row, the last sign-in time, the new session: one commit."""
    if not first_time:
        returning_resident()
    client = browser()
    code = code_requested(client)
    with CaptureQueriesContext(connection) as captured:
        assert client.post(SIGNIN_CODE, {"code": code}).status_code == HTTPStatus.FOUND
    sqls = [query["sql"] for query in captured.captured_queries]
    statements = [sql.split(" ", 1)[0].upper() for sql in sqls]

    assert statements.count("COMMIT") == 1
    assert statements[0] == "BEGIN" and statements[-1] == "COMMIT"
    # The new session's row, before the commit (on PostgreSQL inside the WITH that deletes the old one).
    assert any('INSERT INTO "accounts_session"' in sql for sql in sqls[:-1]), sqls


@pytest.mark.parametrize("name", ["accounts:mypage", "accounts:profile", "smarthome:device_list"])
def test_every_resident_page_stays_within_its_query_budget(django_assert_max_num_queries, name):
    client = browser()
    client.force_login(returning_resident())
    assert client.get(reverse(name)).status_code == HTTPStatus.OK  # warm: templates, translations
    with django_assert_max_num_queries(RESIDENT_PAGE_BUDGET):
        assert client.get(reverse(name)).status_code == HTTPStatus.OK
