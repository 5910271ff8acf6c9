"""The English catalogue is complete: every string of the sources is in it, translated, not fuzzy, and compiled.

Japanese is the source language, so a string missing from locale/en silently shows
Japanese to an English reader: no message fails, no page breaks. These tests make it loud.
"""

from __future__ import annotations

import ast
import gettext
import re
import shutil
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from django.core.management import call_command

from tests.conftest import IN_CI

ROOT = Path(__file__).resolve().parents[2]
CATALOGUE = ROOT / "locale" / "en" / "LC_MESSAGES" / "django.po"
COMPILED = CATALOGUE.with_suffix(".mo")
# The same ignores as `make messages`; makemessages skips hidden folders (.venv, .git) by itself.
# artifacts/: benchmark output, e.g. the peer benchmark's virtual environment (bench/peer_allauth.py).
MAKEMESSAGES_IGNORE = [".venv", "staticfiles", "artifacts"]
PYTHON_PLACEHOLDER = re.compile(r"%\((\w+)\)[-#0 +]*\d*(?:\.\d+)?[sdifr]")
BRACE_PLACEHOLDER = re.compile(r"(?<!\{)\{(\w*)\}(?!\})")


@dataclass
class Entry:
    msgid: str = ""
    msgid_plural: str | None = None
    msgctxt: str | None = None
    msgstr: list[str] = field(default_factory=list)
    flags: set[str] = field(default_factory=set)
    obsolete: bool = False

    @property
    def label(self) -> str:
        return self.msgid if len(self.msgid) <= 60 else self.msgid[:60] + "…"


class _PoReader:
    """Reads a .po file line by line as msgfmt does, into `entries` (see po_entries)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.entries: list[Entry] = []
        self.entry, self.keyword = Entry(), None

    def close(self) -> None:
        if self.keyword is not None:
            self.entries.append(self.entry)
        self.entry, self.keyword = Entry(), None

    def read(self, raw: str) -> None:
        line = raw.strip()
        if not line:
            self.close()
            return
        obsolete = line.startswith("#~")
        if obsolete:
            line = line[2:].strip()
            if line.startswith("|"):
                return  # `#~|`: the previous msgid of an obsolete entry
        elif line.startswith("#"):
            self.comment(line)
            return
        if line.startswith('"'):
            self.continuation(ast.literal_eval(line))
        else:
            self.keyword_line(raw, line, obsolete=obsolete)

    def comment(self, line: str) -> None:
        if self.keyword is not None:
            self.close()  # a comment begins the next entry even without a blank line
        if line.startswith("#,"):
            self.entry.flags.update(flag.strip() for flag in line[2:].split(","))

    def continuation(self, value: str) -> None:
        """A string line: the rest of the keyword read last."""
        if self.keyword in ("msgid", "msgid_plural", "msgctxt"):
            setattr(self.entry, self.keyword, getattr(self.entry, self.keyword) + value)
        else:
            self.entry.msgstr[-1] += value

    def keyword_line(self, raw: str, line: str, *, obsolete: bool) -> None:
        word, _, rest = line.partition(" ")
        if word in ("msgctxt", "msgid") and self.keyword is not None and self.keyword.startswith("msgstr"):
            self.close()
        self.entry.obsolete = self.entry.obsolete or obsolete
        value = ast.literal_eval(rest)
        if word in ("msgctxt", "msgid", "msgid_plural"):
            setattr(self.entry, word, value)
        elif word == "msgstr" or word.startswith("msgstr["):
            self.entry.msgstr.append(value)
        else:
            raise AssertionError(f"{self.path}: cannot read {raw!r}")
        self.keyword = word


def po_entries(path: Path) -> list[Entry]:
    """The entries of a .po file (header included), parsed as msgfmt reads them."""
    reader = _PoReader(path)
    for raw in path.read_text(encoding="utf-8").splitlines():
        reader.read(raw)
    reader.close()
    return reader.entries


def live(entries: list[Entry]) -> list[Entry]:
    """What gettext uses: neither the header nor the obsolete (#~) entries."""
    return [entry for entry in entries if entry.msgid and not entry.obsolete]


def key(entry: Entry) -> tuple[str | None, str]:
    return (entry.msgctxt, entry.msgid)


def test_every_english_entry_is_translated_and_not_fuzzy():
    entries = live(po_entries(CATALOGUE))
    untranslated = [entry.label for entry in entries if not all(entry.msgstr)]
    fuzzy = [entry.label for entry in entries if "fuzzy" in entry.flags]
    assert len(entries) > 400  # the parser read the catalogue, not an empty file
    assert untranslated == [], "untranslated in locale/en:\n" + "\n".join(untranslated)
    assert fuzzy == [], "fuzzy in locale/en (check the msgid, translate, drop the flag):\n" + "\n".join(fuzzy)


def test_plural_entries_have_both_english_forms():
    plurals = [entry for entry in live(po_entries(CATALOGUE)) if entry.msgid_plural is not None]
    assert plurals
    assert [entry.label for entry in plurals if len(entry.msgstr) != 2] == []


def test_translations_keep_the_placeholders_of_their_msgid():
    wrong = []
    for entry in live(po_entries(CATALOGUE)):
        if "python-format" in entry.flags:
            pattern = PYTHON_PLACEHOLDER
        elif "python-brace-format" in entry.flags:
            pattern = BRACE_PLACEHOLDER
        else:
            continue
        sources = [entry.msgid] if entry.msgid_plural is None else [entry.msgid, entry.msgid_plural]
        for index, msgstr in enumerate(entry.msgstr):
            if msgstr and set(pattern.findall(msgstr)) != set(pattern.findall(sources[min(index, len(sources) - 1)])):
                wrong.append(entry.label)
    assert wrong == []


def test_compiled_catalogue_matches_the_po():
    """The committed .mo is what `compilemessages` makes of the committed .po (no forgotten compile)."""
    with COMPILED.open("rb") as compiled:
        catalog = gettext.GNUTranslations(compiled)._catalog
    expected = {}
    for entry in live(po_entries(CATALOGUE)):
        if "fuzzy" in entry.flags or not all(entry.msgstr):
            continue  # msgfmt leaves these out
        msgid = entry.msgid if entry.msgctxt is None else f"{entry.msgctxt}\x04{entry.msgid}"
        if entry.msgid_plural is None:
            expected[msgid] = entry.msgstr[0]
        else:
            expected.update({(msgid, index): msgstr for index, msgstr in enumerate(entry.msgstr)})
    compiled_entries = {msgid: msgstr for msgid, msgstr in catalog.items() if msgid != ""}
    stale = sorted(str(msgid)[:60] for msgid in compiled_entries.keys() ^ expected.keys())
    differ = sorted(
        str(msgid)[:60]
        for msgid in expected.keys() & compiled_entries.keys()
        if expected[msgid] != compiled_entries[msgid]
    )
    assert (stale, differ) == ([], []), "run `make messages` (or manage.py compilemessages -l en)"


def test_catalogue_holds_every_string_of_the_sources(tmp_path, settings, monkeypatch):
    """`make messages` run on a copy of the catalogue adds nothing: no gettext string is missing from it."""
    if shutil.which("xgettext") is None or shutil.which("msgmerge") is None:
        message = "GNU gettext is missing (apt-get install -y gettext)"
        if IN_CI:
            pytest.fail(message)
        pytest.skip(message)
    # The project's folders seen from a scratch folder whose locale/ is a copy: makemessages
    # writes into the locale folder nearest the sources, never the committed one here.
    project = tmp_path / "project"
    project.mkdir()
    for child in ROOT.iterdir():
        if not child.name.startswith(".") and child.name != "locale":
            (project / child.name).symlink_to(child)
    refreshed = project / "locale" / "en" / "LC_MESSAGES" / "django.po"
    refreshed.parent.mkdir(parents=True)
    shutil.copyfile(CATALOGUE, refreshed)
    settings.LOCALE_PATHS = [project / "locale"]
    monkeypatch.chdir(project)

    call_command("makemessages", locale=["en"], ignore_patterns=MAKEMESSAGES_IGNORE, symlinks=True, verbosity=0)

    committed = {key(entry) for entry in live(po_entries(CATALOGUE))}
    missing = [entry.label for entry in live(po_entries(refreshed)) if key(entry) not in committed]
    assert missing == [], "not in locale/en (run `make messages`, then translate):\n" + "\n".join(missing)
