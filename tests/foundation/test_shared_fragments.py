"""`{% shared %}`: the page chrome rendered once per language and display values, never with anybody's data."""

from __future__ import annotations

import re
from http import HTTPStatus

import pytest
from django.conf import settings
from django.template import TemplateSyntaxError, engines
from django.test import Client
from django.urls import reverse
from django.utils import translation

from myspacecore.core.shared_fragments import SharedNode
from tests.factories import ProfileFactory, attribute
from tests.smarthome.factories import DeviceFactory

RESIDENT_PAGES = ["accounts:mypage", "accounts:profile", "smarthome:device_list"]


def render(source: str, **context) -> str:
    return engines["django"].from_string("{% load i18n shared %}" + source).render(context)


def test_a_shared_part_never_sees_the_pages_context():
    page = "{% shared %}[{{ secret }}]{% unshared %}({{ secret }}){% endunshared %}{% endshared %}"
    template = engines["django"].from_string("{% load shared %}" + page)
    assert template.render({"secret": "A"}) == "[](A)"
    assert template.render({"secret": "B"}) == "[](B)"


def test_a_shared_part_varies_by_language():
    template = engines["django"].from_string(
        '{% load i18n shared %}{% shared %}{% translate "マイページ" %}{% endshared %}'
    )
    assert template.render({}) == "マイページ"
    with translation.override("en"):
        assert template.render({}) == "My page"
    assert template.render({}) == "マイページ"


def test_a_shared_part_varies_by_the_values_it_names():
    template = engines["django"].from_string("{% load shared %}{% shared size=text_size %}{{ size }}{% endshared %}")
    assert [template.render({"text_size": size}) for size in ("small", "large", "small")] == ["small", "large", "small"]


def test_an_unshared_part_inside_a_shared_if_follows_the_named_value():
    source = "{% shared on=on %}{% if on %}<{% unshared %}{{ secret }}{% endunshared %}>{% endif %}.{% endshared %}"
    assert render(source, on=True, secret="A") == "<A>."
    assert render(source, on=False, secret="A") == "."
    assert render(source, on=True, secret="B") == "<B>."


@pytest.mark.parametrize(
    "inner",
    [
        "{% csrf_token %}",
        "{% block content %}{% endblock %}",
        "{% if x %}{% csrf_token %}{% endif %}",
        "{% for x in xs %}{% unshared %}{{ x }}{% endunshared %}{% endfor %}",
        "{% with x=1 %}{% unshared %}{{ x }}{% endunshared %}{% endwith %}",
    ],
)
def test_per_request_parts_outside_unshared_are_refused_when_the_template_compiles(inner):
    with pytest.raises(TemplateSyntaxError):
        render("{% shared %}" + inner + "{% endshared %}")


def test_the_parts_kept_beyond_the_cap_are_rendered_each_time():
    template = engines["django"].from_string("{% load shared %}{% shared n=n %}{{ n }}{% endshared %}")
    (node,) = template.template.nodelist.get_nodes_by_type(SharedNode)
    for n in range(SharedNode.MAX_VARIANTS + 10):
        assert template.render({"n": n}) == str(n)
    assert len(node.rendered) == SharedNode.MAX_VARIANTS


# Each template's shared parts: its fixed text, and on the edit page the company's contact panel.
SHARED_TEMPLATES = {
    "base.html": 1,
    "accounts/mypage.html": 1,
    "accounts/profile/edit.html": 2,
    "smarthome/device_list.html": 1,
}


def _shared_texts() -> str:
    """Everything the shared parts of the layout and the resident pages keep in this process."""
    engine = engines["django"].engine
    nodes = [
        node for name in SHARED_TEMPLATES for node in engine.get_template(name).nodelist.get_nodes_by_type(SharedNode)
    ]
    assert len(nodes) == sum(SHARED_TEMPLATES.values()), "each renders its fixed text through its {% shared %}"
    return "".join(text for node in nodes for texts, _ in node.rendered.values() for text in texts)


def _resident_client(nickname: str, *, code: str, email: str | None = None) -> tuple[Client, object]:
    user = ProfileFactory(nickname=nickname, email=email, user__attribute=attribute(code)).user
    client = Client()
    client.force_login(user)
    return client, user


@pytest.mark.django_db
def test_the_shared_parts_hold_no_residents_data_and_each_page_its_own_token():
    alice, alice_user = _resident_client("アリス秘密", code="owner", email="alice-secret@example.jp")
    bob, bob_user = _resident_client("ボブ秘密", code="rental_resident")
    DeviceFactory(owner_user=alice_user, name="アリスのハブ")
    for client, own, others in (
        (alice, ["アリス秘密", "alice-secret@example.jp"], ["ボブ秘密"]),
        (bob, ["ボブ秘密"], ["アリス秘密", "alice-secret@example.jp", "アリスのハブ"]),
    ):
        for name in RESIDENT_PAGES:
            response = client.get(reverse(name))
            assert response.status_code == HTTPStatus.OK
            html = response.content.decode()
            assert not [secret for secret in others if secret in html]
            if name == "accounts:profile":
                assert [secret for secret in own if secret in html] == own
            if client is alice and name == "smarthome:device_list":
                assert "アリスのハブ" in html
            assert response["Cache-Control"] == "max-age=0, no-cache, no-store, must-revalidate, private"
            tokens = re.findall(r'name="csrfmiddlewaretoken" value="([^"]+)"', html)
            assert len(tokens) >= 3  # sign-out, text size, language (and the nickname form)
            assert f'name="next" value="{reverse(name)}"' in html
    shared = _shared_texts()
    personal = ["アリス秘密", "ボブ秘密", "alice-secret@example.jp", "アリスのハブ", "csrfmiddlewaretoken"]
    personal += [user.phone_number.as_national for user in (alice_user, bob_user)]
    assert not [secret for secret in personal if secret in shared]


@pytest.mark.django_db
def test_the_shared_chrome_follows_each_requests_language_text_size_and_sign_in():
    resident, _ = _resident_client("住人", code="owner")
    resident.cookies["text_size"] = "large"
    japanese = resident.get(reverse("accounts:mypage")).content.decode()
    resident.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    resident.cookies["text_size"] = "small"
    english = resident.get(reverse("accounts:mypage")).content.decode()
    anonymous = Client().get(reverse("home")).content.decode()

    assert '<html lang="ja" class="text-large">' in japanese
    assert "サインアウト" in japanese and 'value="large" aria-pressed="true"' in japanese
    assert '<html lang="en" class="text-small">' in english
    assert "Sign out" in english and "サインアウト" not in english
    assert 'value="small" aria-pressed="true"' in english and 'value="large" aria-pressed="true"' not in english
    assert '<html lang="ja" class="text-standard">' in anonymous
    assert "サインアウト" not in anonymous and reverse("accounts:signout") not in anonymous


def test_a_shared_part_gives_the_nodes_of_each_type_as_node_does():
    """Its walk is made once per node type (ExtendsNode asks for the base's blocks at every
    render); what it gives is Node's own walk, as a new list each time."""
    from django.template.base import Node, VariableNode
    from django.template.loader_tags import BlockNode

    source = (
        "{% load shared %}{% shared %}<p>{{ a }}</p>"
        "{% unshared %}{% block b %}{{ c }}{% endblock %}{% endunshared %}{% endshared %}"
    )
    template = engines["django"].from_string(source).template
    (shared,) = template.nodelist.get_nodes_by_type(SharedNode)
    for nodetype in (BlockNode, VariableNode):
        walked = Node.get_nodes_by_type(shared, nodetype)
        first = shared.get_nodes_by_type(nodetype)
        assert first == walked and shared.get_nodes_by_type(nodetype) == walked
        first.clear()  # the caller's list: the kept walk is not changed
        assert shared.get_nodes_by_type(nodetype) == walked
    assert [block.name for block in template.nodelist.get_nodes_by_type(BlockNode)] == ["b"]
    assert len(shared.get_nodes_by_type(VariableNode)) == 2
