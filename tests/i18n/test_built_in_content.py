"""The six built-in sequence templates exist in both languages (issue 19): in French, every name
and description a manager reads (the template's, each step's, each branch's and A/B version's)
is French, and each is the translation of its English text, not the English kept."""

from __future__ import annotations

import pytest

from saas.i18n import speaking
from saas.sequences.library import BUILT_INS, in_language
from tests.i18n.test_french_pages import english_in

TEXT_KEYS = {"name", "description", "display_name"}
SAME_IN_BOTH = {"Invitation"}  # the same word in French


def _texts(value) -> list[str]:
    """Every name and description in a step tree, in order."""
    if isinstance(value, list):
        return [text for item in value for text in _texts(item)]
    if isinstance(value, dict):
        return [text for key, item in value.items()
                for text in ([item] if key in TEXT_KEYS and isinstance(item, str) and item
                             else _texts(item))]
    return []


def test_there_are_six_built_in_templates():
    assert len(BUILT_INS) == 6


@pytest.mark.parametrize("built_in", BUILT_INS, ids=lambda b: b.key)
def test_a_built_in_template_in_french(app, built_in):
    with app.test_request_context():
        english = [str(built_in.name), str(built_in.description)] + \
            _texts(in_language(built_in.steps, "en"))
        with speaking("fr"):
            french = [str(built_in.name), str(built_in.description)]
        french += _texts(in_language(built_in.steps, "fr"))
    assert len(french) == len(english) > 4
    kept = [e for e, f in zip(english, french, strict=True) if e == f and e not in SAME_IN_BOTH]
    assert not kept, f"{built_in.key}: English kept in French: {kept}"
    assert not english_in("".join(f"<p>{text}</p>" for text in french))
    assert english_in("".join(f"<p>{text}</p>" for text in english)), \
        "the check finds nothing English in the English texts: it cannot fail"
