"""gunicorn hooks that record each request's CPU time in the worker that served it (bench only).

`harness.gunicorn(cpu_log=DIR)` loads this module as gunicorn's config (`-c python:bench.gunicorn_cpu`).
Each worker appends one line per request to DIR/<pid>.tsv: method, path, status, the CPU ms
the request took in that worker (`time.process_time()` from gunicorn's `pre_request` to its
`post_request` hook: Django and the response's write), and the worker's whole CPU so far
(user + system, `os.times()`, in ms), so a run's total includes what falls between requests.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

_started: dict[int, float] = {}
_files: dict[int, object] = {}


def pre_request(worker, req) -> None:
    _started[id(req)] = time.process_time()


def post_request(worker, req, environ, resp) -> None:
    request_ms = (time.process_time() - _started.pop(id(req), time.process_time())) * 1000
    times = os.times()
    out = _files.get(worker.pid)
    if out is None:
        out = _files[worker.pid] = (Path(os.environ["BENCH_CPU_LOG"]) / f"{worker.pid}.tsv").open(
            "a", buffering=1, encoding="utf-8"
        )
    status = str(resp.status).split(" ", 1)[0] if resp.status else "0"
    out.write(f"{req.method}\t{req.path}\t{status}\t{request_ms:.3f}\t{(times.user + times.system) * 1000:.1f}\n")
