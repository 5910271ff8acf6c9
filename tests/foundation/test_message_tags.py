"""`{% status_messages %}` writes the page's messages exactly as the template it replaced did.

The template below is the site's `includes/messages.html` as it was, rendered by Django's own
engine beside the tag for no messages, one, several of every level, escaped and safe texts.
"""

from __future__ import annotations

import pytest
from django.contrib import messages
from django.contrib.messages.storage.base import Message
from django.contrib.messages.storage.fallback import FallbackStorage
from django.template import Context, Engine
from django.test import RequestFactory
from django.utils.safestring import mark_safe

from myspacecore.core.message_tags import status_messages

MESSAGES = """\
{% if messages %}
<div class="messages" role="status">
  {% for message in messages %}
  <p class="message message-{{ message.tags }}">{{ message }}</p>
  {% endfor %}
</div>
{% endif %}
"""

CASES = {
    "missing": None,
    "none": [],
    "one": [Message(messages.SUCCESS, "ニックネームを変更しました。")],
    "every level, escaped and safe": [
        Message(messages.DEBUG, "debug"),
        Message(messages.INFO, "<b>informed</b> & told"),
        Message(messages.SUCCESS, "成功", extra_tags="sticky <x>"),
        Message(messages.WARNING, mark_safe("<em>safe</em>")),
        Message(messages.ERROR, '"quoted"'),
    ],
}


def _template(value) -> str:
    return Engine().from_string(MESSAGES).render(Context({} if value is None else {"messages": value}))


@pytest.mark.parametrize("name", CASES)
def test_the_same_html_as_the_template(name):
    value = CASES[name]
    context = Context({} if value is None else {"messages": value})
    assert status_messages(context) == _template(value)


def test_shown_messages_are_used_up_as_the_template_used_them():
    request = RequestFactory().get("/")
    request.session = {}
    storage = FallbackStorage(request)
    storage.add(messages.SUCCESS, "保存しました。")
    html = status_messages(Context({"messages": storage}))
    assert '<p class="message message-success">保存しました。</p>' in html
    assert storage.used is True
