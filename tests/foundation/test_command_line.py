"""manage.py keeps the collector off Django's start-up, and on for the command's own run."""

from __future__ import annotations

import gc
import os
import subprocess
import sys
from pathlib import Path

from myspacecore.core.command_line import ManagementUtility

ROOT = Path(__file__).resolve().parents[2]

# Run by `manage.py shell -c`: the collector's state, and whether a command's own cyclic
# garbage goes without being asked for (700 new objects start a collection).
PROBE = """
import gc, weakref
class Node:
    pass
freed = []
for index in range(5000):
    node = Node()
    node.self = node
    weakref.finalize(node, freed.append, index)
    del node
print(gc.isenabled(), gc.get_freeze_count() > 10000, len(freed) > 4000)
"""


def run_manage(*args: str) -> subprocess.CompletedProcess:
    env = {
        "PATH": os.environ["PATH"],
        "HOME": os.environ.get("HOME", "/tmp"),
        "DJANGO_SETTINGS_MODULE": "myspacecore.settings.local",
    }
    return subprocess.run(
        [sys.executable, "manage.py", *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )


def test_a_command_runs_with_the_collector_on_and_the_start_up_frozen():
    result = run_manage("shell", "--no-imports", "-c", PROBE)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["True", "True", "True"]


def test_a_command_that_fails_still_says_why_and_exits_non_zero():
    unknown = run_manage("no_such_command")
    assert unknown.returncode == 1
    assert "Unknown command: 'no_such_command'" in unknown.stderr
    wrong = run_manage("cleanup_verification_codes", "--batch-size", "0")
    assert wrong.returncode == 2
    assert "--batch-size" in wrong.stderr


def test_fetching_the_command_freezes_what_exists_and_turns_the_collector_on():
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        command = ManagementUtility(["manage.py", "check"]).fetch_command("check")
        assert gc.isenabled()
        assert gc.get_freeze_count() > 0
        assert type(command).__module__ == "django.core.management.commands.check"
    finally:
        gc.unfreeze()
        if not was_enabled:
            gc.disable()
