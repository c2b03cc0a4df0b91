"""One input boundary (issue 17): no view reads `request.args`, `request.form` or `request.values`
raw. Query strings and form fields are read through the typed, bounded readers of
saas/web/params.py (or a WTForms form); a source check fails when a module reads them directly,
like the check of `next` in tests/test_open_redirect.py."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from werkzeug.exceptions import BadRequest

from saas.web import params

ROOT = Path(__file__).resolve().parent.parent
SAAS = ROOT / "saas"
BOUNDARY = SAAS / "web" / "params.py"

RAW = re.compile(r"\brequest\s*\.\s*(?:args|form|values)\b")
# A `next` read through a generic reader instead of next_arg()/next_field() (which check it).
NEXT_UNCHECKED = re.compile(r"""\b(?:\w+_arg|form_\w+)\(\s*["']next["']""")
WHOLE = re.compile(r"\b(query_fields|form_fields)\(\)")

# The parsers of their own that get the cleaned parameters whole, each checking every value it
# reads. A new one is reviewed, then added here.
WHOLE_READERS = {
    "records/routes.py": "ListQuery.from_args (records/queries.py); record fields checked by "
                         "records/validation.py",
    "worklist/routes.py": "WorklistQuery.from_args (worklist/queries.py)",
    "segments/routes.py": "builder.tree_from_form (segments/builder.py)",
    "sequences/routes.py": "services.parse_settings and save_settings (sequences/services.py)",
    "sequences/designer_routes.py": "steps.config_from_form (sequences/steps.py)",
    "api/spec.py": "parse_query: each declared parameter typed and bounded by its JSON Schema",
}


def _sources():
    for path in sorted(SAAS.rglob("*.py")):
        if path != BOUNDARY:
            yield path.relative_to(SAAS).as_posix(), path.read_text()


def test_no_module_reads_request_args_form_or_values_raw():
    raw = [f"saas/{name}:{text.count(chr(10), 0, m.start()) + 1}: {m.group(0)}"
           for name, text in _sources() for m in RAW.finditer(text)]
    assert raw == [], "read these through saas/web/params.py (or a WTForms form):\n" + \
        "\n".join(raw)


def test_no_template_reads_request_args_form_or_values():
    found = [str(path.relative_to(ROOT)) for path in (ROOT / "templates").rglob("*.html")
             if RAW.search(path.read_text())]
    assert found == []


def test_the_whole_parameters_go_only_to_reviewed_parsers():
    readers = {name for name, text in _sources() if WHOLE.search(text)}
    assert readers <= set(WHOLE_READERS), readers - set(WHOLE_READERS)


def test_next_is_read_only_through_its_check():
    unchecked = [name for name, text in _sources() if NEXT_UNCHECKED.search(text)]
    assert unchecked == []


def test_the_source_check_catches_a_raw_read():
    assert RAW.search('q = request.args.get("q")')
    assert RAW.search("form = request.form")
    assert RAW.search("start = request.values.get('start')")
    assert not RAW.search("text_arg('q')")
    assert NEXT_UNCHECKED.search('form_text("next")')
    assert not NEXT_UNCHECKED.search("next_field()")


def test_the_readers(app):
    with app.test_request_context("/?n=42&big=99999999999999999999&neg=-3&x=%C2%B2&flag=1"
                                  "&kind=sms&q=%20a%00b%20&u=" + "a" * 50, method="POST",
                                  data={"name": "Ann", "long": "x" * 11, "ids": ["1", "x", "2"],
                                        "next": "//evil.example", "box": "on"}):
        assert params.int_arg("n") == 42
        assert params.int_arg("n", high=10) is None
        assert params.int_arg("big") is None and params.int_arg("x") is None
        assert params.int_arg("neg", low=-5) == -3 and params.int_arg("neg") is None
        assert params.bool_arg("flag") and not params.bool_arg("missing")
        assert params.choice_arg("kind", ("email", "sms")) == "sms"
        assert params.choice_arg("kind", ("email",), "email") == "email"
        assert params.text_arg("q") == "ab"
        assert params.exact_arg("u", 50) == "a" * 50 and params.exact_arg("u", 49) == ""
        assert params.form_text("name") == "Ann" and params.form_text("absent", default=None) \
            is None
        assert params.form_text("long", 10, cut=True) == "x" * 10
        with pytest.raises(BadRequest) as refused:
            params.form_text("long", 10)
        assert "long" in refused.value.description and "10" in refused.value.description
        assert params.form_ids() == [1, 2]
        assert params.form_bool("box") and not params.form_bool("name")
        assert params.next_field() is None
