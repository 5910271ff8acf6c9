"""What every page that sends or checks a verification code shows: the countdowns.

The flows themselves (send, verify, their refusals and words) are in `accounts.flows`.
"""

from __future__ import annotations

from accounts.selectors import verification_code_seconds_left


def countdown_text(seconds: int) -> str:
    """The text site.js would show (m:ss), rendered by the server so the page works without JS."""
    return f"{seconds // 60}:{seconds % 60:02d}"


def wait_context(*, seconds: int, button_id: str) -> dict:
    """The countdown shown on a send page while the target must wait (after a failure or a send)."""
    return {"wait_seconds": seconds, "wait_text": countdown_text(seconds), "wait_button_id": button_id}


def code_context(*, code_id: int | None) -> dict:
    """The time left on the code being entered, for `includes/code_form.html`."""
    left = verification_code_seconds_left(code_id=code_id)
    return {"code_seconds_left": left, "code_left_text": countdown_text(left)}
