"""The rooms stay rooms: no top-level folder holds most of the app code (ARCHITECTURE.md).

The import arrows are `lint-imports`' (.importlinter) and function complexity ruff's C901;
this is the one rule neither tool states.
"""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
APP_FOLDERS = ("accounts", "smarthome", "myspacecore")
MAX_SHARE = 0.45


def app_code_lines(folder: str) -> int:
    return sum(
        len(path.read_text(encoding="utf-8").splitlines())
        for path in (ROOT / folder).rglob("*.py")
        if "migrations" not in path.parts
    )


def test_no_top_level_folder_holds_more_than_45_percent_of_the_app_code():
    lines = {folder: app_code_lines(folder) for folder in APP_FOLDERS}
    total = sum(lines.values())
    shares = {folder: count / total for folder, count in lines.items()}
    assert all(share <= MAX_SHARE for share in shares.values()), shares
