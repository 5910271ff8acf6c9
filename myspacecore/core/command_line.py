"""`manage.py`'s entry: Django's own, with the cyclic garbage collector kept off its start-up.

Starting Django builds some 70,000 objects for a cleanup command (modules, classes, models,
checks, regexes) that live as long as the process. On its own the collector walks them about
160 times while they are made (once all of them) and again while the interpreter exits, and
frees next to nothing (75 objects): 0.15 to 0.2 s of a cleanup command's empty run of 0.6 s
on this project's machine (bench/README.md, cleanup, 2026-12-03).

So `manage.py` turns the collector off before it imports Django, and `fetch_command`, the step
after Django is set up and the command's module is imported, moves everything that exists by
then into the permanent generation (`gc.freeze()`) and turns the collector back on. The
command itself runs with the collector as usual: its garbage is collected, only the start-up's
objects are no longer walked, at exit included. A start-up that fails before that point ends
the process anyway (a settings error, an unknown command, `help`).
"""

from __future__ import annotations

import gc

from django.core import management
from django.core.management.base import BaseCommand


class ManagementUtility(management.ManagementUtility):
    def fetch_command(self, subcommand: str) -> BaseCommand:
        command = super().fetch_command(subcommand)
        gc.freeze()
        gc.enable()
        return command


def execute_from_command_line(argv: list[str] | None = None) -> None:
    """Django's `execute_from_command_line`; the caller has turned the collector off."""
    ManagementUtility(argv).execute()
