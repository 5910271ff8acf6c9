"""`manage.py cleanup_move_out`: reset the units whose lease has ended and that are not reset yet."""

from __future__ import annotations

from myspacecore.core.cleanup_command import CleanupCommand
from smarthome.services import MOVE_OUT_BATCH_SIZE, leases_ended_reset


class Command(CleanupCommand):
    help = (
        "Move-out: purge the remote-control settings and PINs of every unit whose last lease has ended, "
        "that no current lease protects and that was not reset since."
    )
    noun = "units"
    default_batch_size = MOVE_OUT_BATCH_SIZE

    def run(self, *, batch_size, dry_run, progress):
        return leases_ended_reset(batch_size=batch_size, dry_run=dry_run, progress=progress)
