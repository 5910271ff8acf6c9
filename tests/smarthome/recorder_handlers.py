"""Handlers importable by name, for the recorder-process tests: a recorder process gets its
handlers by name in a fresh interpreter, so they cannot be closures.

Each report handled is written to `$RECORDER_TEST_LOG` as `hub version`; a device version 13
makes the handler fail, 0 is refused by "our records", 99 kills the process (a crash mid-batch).
"""

from __future__ import annotations

import os
from dataclasses import dataclass


@dataclass(frozen=True)
class Result:
    rejected: bool


def reports_note(*, reports):
    versions = [report.devices[0].version for _channel_id, report in reports]
    if 99 in versions:
        os._exit(3)
    if 13 in versions:
        raise RuntimeError("version 13 fails")
    with open(os.environ["RECORDER_TEST_LOG"], "a") as log:
        for (_channel_id, report), version in zip(reports, versions, strict=True):
            log.write(f"{report.hub} {version}\n")
    return [Result(rejected=version == 0) for version in versions]


def gets_ignore(*, channel_ids):
    return None


def setup_marker():
    """A `setup` that leaves a mark, so the test sees it ran in the process before any batch."""
    with open(os.environ["RECORDER_TEST_LOG"], "a") as log:
        log.write(f"setup {os.getpid()}\n")


def setup_broken():
    raise RuntimeError("settings missing")
