"""One in-process measurement for both sides of the peer benchmark (ours in bench/peer_allauth.py,
the peer's in bench/peer/inprocess.py, each in its own venv and settings): Django only.

`flows` maps a flow's name to `make(i) -> (request, expected status)`, `request` a callable
that sends one request on a fresh client. Request 1 of each flow is counted in queries,
requests 2… in CPU ms (`time.process_time()`; request 0 warms the process). Flows run in
the order given.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable


def flows_measure(flows: dict[str, Callable[[int], tuple[Callable, int]]], count: int) -> dict[str, dict[str, float]]:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    queries: dict[str, float] = {}
    cpu_ms: dict[str, float] = {}
    for name, make in flows.items():
        samples = []
        for i in range(count):
            request, status = make(i)
            if i == 1:
                with CaptureQueriesContext(connection) as captured:
                    response = request()
                queries[name] = len(captured)
            else:
                started = time.process_time()
                response = request()
                if i > 1:  # the first request of a kind warms the process
                    samples.append((time.process_time() - started) * 1000)
            assert response.status_code == status, (name, response.status_code)
        cpu_ms[name] = round(statistics.median(samples), 2)
    return {"queries": queries, "cpu_ms": cpu_ms}
