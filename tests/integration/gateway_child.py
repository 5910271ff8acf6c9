"""A gateway in a process of its own, for the test that kills it with SIGKILL.

    python tests/integration/gateway_child.py <broker url> <prefix> <client id> <log file>

Its report handler appends `hub device version` to the log file (fsync'd, so a line written is
on disk before the gateway acknowledges the message) after a pause that leaves the test time
to kill it mid-report. No Django: the gateway needs only the protocol and the broker.
"""

from __future__ import annotations

import os
import signal
import sys
import time

from smarthome.sync.broker import broker_address
from smarthome.sync.gateway import Gateway, per_report

HANDLER_PAUSE_SECONDS = 0.3


def main(url: str, prefix: str, client_id: str, log_path: str) -> None:
    log = open(log_path, "a")  # noqa: SIM115 - kept open for the process's life

    def on_report(*, channel_id, report):
        time.sleep(HANDLER_PAUSE_SECONDS)
        for device in report.devices:
            log.write(f"{report.hub} {device.device} {device.version}\n")
        log.flush()
        os.fsync(log.fileno())

    gateway = Gateway(
        address=broker_address(url),
        prefix=prefix,
        client_id=client_id,
        on_reports=per_report(on_report),
        on_gets=lambda *, channel_ids: None,
        on_resubscribed=None,
    )
    signal.signal(signal.SIGTERM, lambda *_: gateway.stop())
    gateway.run()


if __name__ == "__main__":
    main(*sys.argv[1:5])
