"""Queries per request of the peer's login by code: `python -m bench.peer.queries EMAIL` (peer venv).

Django's test client in-process with the peer's settings and database, for a known user
(bench.peer.seed): the code page GET, the e-mail POST, the code POST. Prints one JSON line.
"""

import json
import re
import sys
from pathlib import Path

import django


def main() -> None:
    django.setup()
    from django.conf import settings
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    email = sys.argv[1]
    client = Client()
    counts = {}
    with CaptureQueriesContext(connection) as queries:
        assert client.get("/accounts/login/code/").status_code == 200
    counts["page"] = len(queries)
    with CaptureQueriesContext(connection) as queries:
        assert client.post("/accounts/login/code/", {"email": email}).status_code == 302
    counts["code_request"] = len(queries)
    body = (Path(settings.PEER_MAIL_DIR) / f"{email}.txt").read_text(encoding="utf-8").splitlines()[-1]
    code = re.search(r"(?<!\d)\d{6}(?!\d)", body)
    assert code is not None
    with CaptureQueriesContext(connection) as queries:
        assert client.post("/accounts/login/code/confirm/", {"code": code.group(0)}).status_code == 302
    counts["code_verify"] = len(queries)
    print(json.dumps(counts))


if __name__ == "__main__":
    main()
