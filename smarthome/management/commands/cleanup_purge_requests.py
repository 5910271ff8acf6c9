"""`manage.py cleanup_purge_requests`: finish the settings purges of deleted accounts left pending or failed."""

from __future__ import annotations

from myspacecore.core.cleanup_command import CleanupCommand
from smarthome.services import PURGE_BATCH_SIZE, settings_purge_requests_process


class Command(CleanupCommand):
    help = (
        "Finish every pending or failed settings purge request (broker down at deletion, worker killed, "
        "retries exhausted)."
    )
    noun = "requests"
    default_batch_size = PURGE_BATCH_SIZE

    def run(self, *, batch_size, dry_run, progress):
        return settings_purge_requests_process(batch_size=batch_size, dry_run=dry_run, progress=progress)
