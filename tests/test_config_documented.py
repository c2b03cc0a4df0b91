"""Every setting has its default in saas/config.py and a row in the README's Configuration table,
and every setting the code reads by name is one a freshly built app has (so no reader needs a
default of its own)."""

from __future__ import annotations

import re

import pytest

from saas import config, create_app
from saas.config import PROJECT_ROOT
from tests.conftest import app_config

NAME = re.compile(r"`([A-Z][A-Z0-9_]+)`")
READ = re.compile(r"""(?:config|app)\[\s*["']([A-Z][A-Z0-9_]+)["']\s*\]""")


def _rows() -> dict[str, tuple[str, str]]:
    """{variable: (its default as the table writes it, or "" when the row names several
    variables with fewer defaults), the whole row}."""
    readme = (PROJECT_ROOT / "README.md").read_text(encoding="utf-8")
    section = readme.split("\n## Configuration\n", 1)[1].split("\n## ", 1)[0]
    rows = {}
    for line in section.splitlines():
        if not line.startswith("| `"):
            continue
        cells = [cell.strip() for cell in line.strip("|").split("|")]
        names = NAME.findall(cells[0])
        defaults = re.findall(r"`([^`]+)`", cells[1])
        for i, name in enumerate(names):
            rows[name] = (defaults[i] if len(defaults) == len(names) else "", line)
    return rows


def test_the_readme_table_lists_every_setting():
    missing = sorted(config.ENV_VARS - set(_rows()))
    assert not missing, f"not in the README's Configuration table: {', '.join(missing)}"


def test_the_readme_table_gives_the_tuning_defaults():
    defaults = {**config.JOB_TUNING, **config.MESSAGING_TUNING}
    rows = _rows()
    shown = {name: rows.get(name, ("no row",))[0] for name in defaults}
    wrong = {name: value for name, value in shown.items() if value != str(defaults[name])}
    assert not wrong, f"the README's defaults differ from saas/config.py: {wrong}"


def test_every_setting_read_by_name_is_in_a_fresh_app():
    app = create_app(app_config())
    read = {}
    for folder in ("saas", "worker"):
        for path in (PROJECT_ROOT / folder).rglob("*.py"):
            for name in READ.findall(path.read_text(encoding="utf-8")):
                read.setdefault(name, str(path.relative_to(PROJECT_ROOT)))
    assert "ENGINE_TICK_BUDGET" in read  # the pattern finds the readers
    missing = {name: where for name, where in read.items() if name not in app.config}
    assert not missing, f"read without a default in saas/config.py: {missing}"


def test_tuning_comes_from_the_environment_and_is_checked():
    env = {"APP_ENV": "test", "ENGINE_TICK_BUDGET": "7.5", "RETENTION_BATCH": "100"}
    flask_config = config.load(env).as_flask_config()
    assert flask_config["ENGINE_TICK_BUDGET"] == 7.5 and flask_config["RETENTION_BATCH"] == 100
    assert flask_config["DOCTOR_SECONDS"] == 300  # the default
    for name, raw, message in [("ENGINE_SENDING_LEASE", "0", "above 0"),
                               ("RETENTION_BATCH", "2.5", "whole number"),
                               ("SEND_JOB_BUDGET", "soon", "must be a number")]:
        with pytest.raises(config.ConfigError, match=f"{name} .*{message}"):
            config.load({"APP_ENV": "test", name: raw})
