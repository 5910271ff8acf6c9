#!/usr/bin/env python
"""Django's command-line utility for administrative tasks."""

import gc
import os
import sys


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "myspacecore.settings.local")
    # Off while Django starts; back on, with the start-up's objects frozen, once the command is
    # loaded (myspacecore/core/command_line.py).
    gc.disable()
    from myspacecore.core.command_line import execute_from_command_line

    execute_from_command_line(sys.argv)


if __name__ == "__main__":
    main()
