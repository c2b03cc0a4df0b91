"""Which field each CSV column goes to: the importable fields and the automatic first guess."""

from __future__ import annotations

from saas.i18n import _
from saas.imports.csvfile import normalise
from saas.records.fields import Field, fields_for

NAME_KEYS = ("first_name", "last_name")


def importable_fields(record_type: str) -> dict[str, Field]:
    """Every field a column can fill, standard and custom (read-only ones like Created excluded)."""
    return {key: f for key, f in fields_for(record_type).items() if f.editable}


def names_of(f: Field) -> set[str]:
    """What a column may be called to match a field: its English label (the export's header), its
    label in the viewer's language, its key, its aliases."""
    return {normalise(str(name)) for name in (f.name, f.label, f.custom_key, *f.aliases)} - {""}


def auto_mapping(headers: list[str], fields: dict[str, Field]) -> dict[int, str]:
    """Column index -> field key for the columns whose name matches a field.

    Each field goes to one column at most (the first that matches); the export writes the fields'
    English labels as headers, so an exported file maps back onto itself.
    """
    by_name: dict[str, str] = {}
    for key, f in fields.items():
        for name in names_of(f):
            by_name.setdefault(name, key)
    mapping: dict[int, str] = {}
    taken: set[str] = set()
    for index, header in enumerate(headers):
        key = by_name.get(normalise(header))
        if key is not None and key not in taken:
            mapping[index] = key
            taken.add(key)
    return mapping


def mapping_problem(mapping: dict[int, str], fields: dict[str, Field],
                    duplicate_mode: str) -> str | None:
    """Why this choice of columns cannot import anything useful, or None."""
    if not mapping:
        return _("Choose a field for at least one column.")
    chosen = set(mapping.values())
    if chosen & set(NAME_KEYS):
        return None
    if duplicate_mode == "update" and "email" in chosen:
        return None  # updating existing records by email needs no name
    if "email" in fields:
        return _("Choose a column for First name or Last name: every new record needs a name "
                 "(or match existing records by Email and update them).")
    return _("Choose a column for First name or Last name: every new record needs a name.")
