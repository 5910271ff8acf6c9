"""The peer's requests in-process: `python -m bench.peer.inprocess FIRST COUNT` (peer venv, peer settings).

Django's test client with the peer's settings and database, known users user<FIRST>… (bench.peer.seed),
each in a fresh client: the code page GET, the e-mail POST, the code POST. For each, the queries of one
warm request and the median CPU time (`time.process_time()`) of the others. Prints one JSON line:
{"queries": {flow: n}, "cpu_ms": {flow: ms}}.
"""

import json
import re
import sys
from pathlib import Path

import django

from bench.peer.measure import flows_measure


def main() -> None:
    django.setup()
    from django.conf import settings
    from django.test import Client

    first, count = int(sys.argv[1]), int(sys.argv[2])
    emails = [f"user{n}@peer.example" for n in range(first, first + count)]

    def page(_i):
        client = Client()
        return lambda: client.get("/accounts/login/code/"), 200

    def code_request(i):
        client = Client()
        return lambda: client.post("/accounts/login/code/", {"email": emails[i]}), 302

    def code_verify(i):
        client = Client()
        assert client.post("/accounts/login/code/", {"email": emails[i]}).status_code == 302
        body = (Path(settings.PEER_MAIL_DIR) / f"{emails[i]}.txt").read_text(encoding="utf-8").splitlines()[-1]
        code = re.search(r"(?<!\d)\d{6}(?!\d)", body)
        assert code is not None
        return lambda: client.post("/accounts/login/code/confirm/", {"code": code.group(0)}), 302

    # code_request first: code_verify then uses the same users again, each with a new code.
    flows = {"page": page, "code_request": code_request, "code_verify": code_verify}
    print(json.dumps(flows_measure(flows, count)))


if __name__ == "__main__":
    main()
