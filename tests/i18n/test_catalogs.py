"""The catalogs are complete: every message in the code and templates is in each language's
catalog, no translation (French today) is empty or fuzzy, and each one keeps its message's
placeholders and HTML tags (a lost `%(name)s` raises at render time; a lost tag breaks a page).

When this fails after a change: `make translations`, then translate what it added to
saas/translations/fr/LC_MESSAGES/messages.po (README, "Languages")."""

from __future__ import annotations

import re
import subprocess
import sys

import pytest
from babel.messages.pofile import read_po

from saas.config import PROJECT_ROOT
from saas.i18n import LANGUAGES

CATALOGS = PROJECT_ROOT / "saas" / "translations"
PLACEHOLDER = re.compile(r"%\((\w+)\)[sdif]")
TAG = re.compile(r"</?([a-zA-Z][a-zA-Z0-9]*)")


@pytest.fixture(scope="module")
def extracted(tmp_path_factory):
    pot = tmp_path_factory.mktemp("i18n") / "messages.pot"
    subprocess.run(
        [sys.executable, "-c", "from babel.messages.frontend import main; main()", "extract",
         "-F", "babel.cfg", "-k", "_l", "-k", "_nl:1,2", "-k", "_pl:1c,2", "--no-location",
         "-o", str(pot), "."],
        cwd=PROJECT_ROOT, check=True, capture_output=True)
    with pot.open("rb") as f:
        return {m.id if isinstance(m.id, str) else m.id[0]: m for m in read_po(f) if m.id}


def _catalog(language: str):
    with (CATALOGS / language / "LC_MESSAGES" / "messages.po").open("rb") as f:
        return read_po(f, locale=language)


def _key(message) -> str:
    return message.id if isinstance(message.id, str) else message.id[0]


@pytest.mark.parametrize("language", sorted(LANGUAGES))
def test_every_message_is_in_the_catalog(language, extracted):
    catalog = {_key(m) for m in _catalog(language) if m.id}
    missing = sorted(set(extracted) - catalog)
    assert not missing, f"{len(missing)} messages not in {language} (make translations): " \
                        f"{missing[:20]}"


@pytest.mark.parametrize("language", sorted(set(LANGUAGES) - {"en"}))
def test_translation_is_complete_and_keeps_placeholders_and_tags(language, extracted):
    problems = []
    for message in _catalog(language):
        if not message.id or _key(message) not in extracted:
            continue
        ids = [message.id] if isinstance(message.id, str) else list(message.id)
        strings = [message.string] if isinstance(message.string, str) else list(message.string)
        if message.fuzzy or not all(strings):
            problems.append(f"untranslated or fuzzy: {ids[0]!r}")
            continue
        wanted = set().union(*(PLACEHOLDER.findall(i) for i in ids))
        tags = sorted(TAG.findall(ids[0]))
        for string in strings:
            found = set(PLACEHOLDER.findall(string))
            # a plural's singular may say "un" instead of the count; nothing may be invented
            if not found <= wanted or (len(ids) == 1 and found != wanted):
                problems.append(f"placeholders {sorted(found)} != {sorted(wanted)}: {ids[0]!r}")
            if sorted(TAG.findall(string)) != tags:
                problems.append(f"HTML tags differ: {ids[0]!r} -> {string!r}")
    assert not problems, f"{len(problems)} problems:\n" + "\n".join(problems[:40])


def test_compiled_catalogs_are_current():
    """The app reads the .mo files, compiled from the .po files by make (and tests/conftest.py)."""
    for po in CATALOGS.glob("*/LC_MESSAGES/messages.po"):
        mo = po.with_suffix(".mo")
        assert mo.exists() and mo.stat().st_mtime >= po.stat().st_mtime, f"{mo} is stale"


@pytest.mark.parametrize("language", sorted(LANGUAGES))
def test_catalog_passes_the_checks_pybabel_compile_makes(language):
    """`make` compiles with pybabel, which refuses a catalog whose formats do not match (e.g. a
    literal "10% and" reads as a format to it: write such a message with placeholders)."""
    problems = [f"{message.id!r}: {'; '.join(map(str, errors))}"
                for message, errors in _catalog(language).check()]
    assert not problems, "\n".join(problems)
