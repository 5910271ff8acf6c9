"""E-mail for the peer: one file per recipient under PEER_MAIL_DIR, newest message last.

The peer's twin of bench.sms.InboxSmsBackend: allauth keeps the login code in the session,
which the benchmark cannot read, so it reads the code from the message allauth sends.
"""

from pathlib import Path

from django.conf import settings
from django.core.mail.backends.base import BaseEmailBackend


class InboxEmailBackend(BaseEmailBackend):
    """Appends each message's body (one line) to <PEER_MAIL_DIR>/<recipient>.txt."""

    def send_messages(self, email_messages):
        folder = Path(settings.PEER_MAIL_DIR)
        for message in email_messages:
            for recipient in message.recipients():
                with (folder / f"{recipient}.txt").open("a", encoding="utf-8") as f:
                    f.write(message.body.replace("\n", " ") + "\n")
        return len(email_messages)
