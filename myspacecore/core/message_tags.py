"""`{% load site_messages %}`: the page's messages ("ニックネームを変更しました。"), written in Python.

    {% status_messages %}      the messages of `django.contrib.messages`, in a role="status" box

It replaces `{% include "includes/messages.html" %}`, which every page rendered, almost always
for no message (the include with its storage read: 0.04-0.06 ms of a resident page's CPU; the
storage is still read here, the template lookup, context push and nodes are gone). Same
bytes, escaped as the template escaped them, and the messages are marked as shown the same
way (by iterating over them): tests/foundation/test_message_tags.py renders the template it
replaces beside it.
"""

from __future__ import annotations

from django import template
from django.utils.html import conditional_escape
from django.utils.safestring import SafeString

register = template.Library()


@register.simple_tag(takes_context=True)
def status_messages(context) -> SafeString:
    messages = context.get("messages")
    if not messages:
        return SafeString("\n")
    parts = ['\n<div class="messages" role="status">\n  ']
    for message in messages:
        # As `{{ message }}`: str() keeps a safe text safe (Message.__str__ returns it as it is).
        parts += ['\n  <p class="message message-', conditional_escape(str(message.tags)), '">']
        parts += [conditional_escape(str(message)), "</p>\n  "]
    parts.append("\n</div>\n\n")
    return SafeString("".join(parts))
