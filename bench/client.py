"""A resident's browser, for the load test and the integration drills: cookies, CSRF, no redirects followed."""

from __future__ import annotations

import re
import time
from pathlib import Path

import requests

CODE_RE = re.compile(r"(?<!\d)(\d{6})(?!\d)")


class Resident:
    """One cookie jar; each call may target another server (`base`), as behind a load balancer."""

    def __init__(self, base: str, *, ip: str = "10.0.0.1", timeout: float = 30) -> None:
        self.base = base
        self.http = requests.Session()
        self.http.headers["X-Forwarded-For"] = ip
        self.timeout = timeout

    def get(self, path: str, *, base: str | None = None) -> requests.Response:
        return self.http.get((base or self.base) + path, allow_redirects=False, timeout=self.timeout)

    def post(self, path: str, data: dict, *, base: str | None = None) -> requests.Response:
        if "csrftoken" not in self.http.cookies:
            # The sign-in page renders a form, so it sets the CSRF cookie.
            self.get("/signin/", base=base)
        token = self.http.cookies.get("csrftoken")
        return self.http.post(
            (base or self.base) + path, data={"csrfmiddlewaretoken": token, **data},
            allow_redirects=False, timeout=self.timeout,
        )


def code_from_inbox(inbox: Path, e164: str, *, after: int = 0, timeout: float = 30) -> str:
    """The newest code sent to `e164` by bench.sms.InboxSmsBackend, once more than `after` arrived."""
    path = Path(inbox) / f"{e164.lstrip('+')}.txt"
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if path.exists():
            lines = path.read_text(encoding="utf-8").splitlines()
            if len(lines) > after:
                return CODE_RE.search(lines[-1]).group(1)
        time.sleep(0.1)
    raise TimeoutError(f"no SMS to {e164} within {timeout} s")


def sms_count(inbox: Path, e164: str) -> int:
    path = Path(inbox) / f"{e164.lstrip('+')}.txt"
    return len(path.read_text(encoding="utf-8").splitlines()) if path.exists() else 0
