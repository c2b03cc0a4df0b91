"""Export a sequence to JSON and import one (into this or another tenant), checked by the same
rules as activation. Templates travel by name and kind and are found by name on import; a
"move to another sequence" target travels by name too."""

from __future__ import annotations

import copy
import json

from saas.errors import ServiceError
from saas.i18n import _, _l
from saas.sequences import editing, queries, rules, services
from saas.sequences.models import Sequence

FORMAT = "saas.sequence"
FORMAT_VERSION = 1
MAX_BYTES = 1_000_000


class ImportRefused(ServiceError):
    def __init__(self, errors: list[str]):
        super().__init__(_l("The file cannot be imported."))
        self.errors = errors


def _walk(nodes: list[dict]):
    for node in nodes:
        yield node
        yield from _walk(node.get("yes") or [])
        yield from _walk(node.get("no") or [])


def _template_slots(node: dict):
    """(dict holding a template_id, expected kind) for each template reference of a step."""
    config, kind = node.get("config") or {}, node.get("type")
    if kind in ("email", "auto_email"):
        yield config, "email"
    elif kind in ("sms", "auto_sms"):
        yield config, "sms"
    elif kind == "ab_test":
        for letter in ("A", "B"):
            version = (config.get("versions") or {}).get(letter)
            if isinstance(version, dict):
                yield version, "email"


def export_data(sequence: Sequence) -> dict:
    templates = queries.templates_map()
    sequences = queries.lineage_names()
    steps = copy.deepcopy(editing.nested(queries.as_dicts(queries.steps_of(sequence.id))))
    for node in _walk(steps):
        for slot, _kind in _template_slots(node):
            template_id = slot.pop("template_id", None)
            found = templates.get(template_id)
            slot["template"] = {"name": found[1], "kind": found[0]} if found else None
        if node["type"] == "move_to_sequence":
            target = node["config"].pop("sequence_id", None)
            node["config"]["sequence"] = {"name": sequences[target]} \
                if target in sequences else None
    return {"format": FORMAT, "format_version": FORMAT_VERSION, "name": sequence.name,
            "description": sequence.description, "record_type": sequence.record_type,
            "settings": sequence.settings or {}, "steps": steps}


def export_json(sequence: Sequence) -> str:
    return json.dumps(export_data(sequence), indent=2, ensure_ascii=False)


def _resolve(steps: list[dict], errors: list[str]) -> None:
    """Template and sequence names -> this tenant's ids (errors for the missing ones)."""
    by_name: dict[tuple[str, str], int] = {}
    for template_id, (kind, name) in queries.templates_map().items():
        by_name.setdefault((kind, name), template_id)
    lineages = {name: lineage for lineage, name in queries.lineage_names().items()}
    for node in _walk(steps):
        if not isinstance(node.get("config"), dict):
            node["config"] = {}
        for slot, kind in _template_slots(node):
            ref = slot.pop("template", None)
            slot["template_id"] = None
            if ref:
                name = str(ref.get("name") or "")
                found = by_name.get((ref.get("kind") or kind, name))
                if found is None:
                    if (ref.get("kind") or kind) == "sms":
                        errors.append(_("Step “%(step)s”: there is no SMS template named "
                                        "“%(name)s” here. Create it (same name), then import "
                                        "again.", step=node.get("name"), name=name))
                    else:
                        errors.append(_("Step “%(step)s”: there is no email template named "
                                        "“%(name)s” here. Create it (same name), then import "
                                        "again.", step=node.get("name"), name=name))
                slot["template_id"] = found
        if node.get("type") == "move_to_sequence":
            ref = node["config"].pop("sequence", None)
            node["config"]["sequence_id"] = None
            if ref:
                found = lineages.get(str(ref.get("name") or ""))
                if found is None:
                    errors.append(_("Step “%(step)s”: there is no sequence named “%(name)s” "
                                    "to move records to.", step=node.get("name"),
                                    name=ref.get("name")))
                node["config"]["sequence_id"] = found


def import_json(raw: bytes | str, *, user_id: int | None = None) -> Sequence:
    """A new draft sequence from an export, or ImportRefused with every problem."""
    if isinstance(raw, bytes):
        if len(raw) > MAX_BYTES:
            raise ImportRefused([_("The file is larger than 1 MB.")])
        try:
            raw = raw.decode("utf-8")
        except UnicodeDecodeError:
            raise ImportRefused([_("The file is not UTF-8 text.")]) from None
    try:
        data = json.loads(raw)
    except ValueError as error:
        raise ImportRefused([_("The file is not valid JSON (%(error)s).", error=error)]) \
            from None
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise ImportRefused([_("This is not a sequence export (its “format” is not "
                               "“%(format)s”).", format=FORMAT)])
    steps = data.get("steps")
    if not isinstance(steps, list) or not all(isinstance(n, dict) for n in _walk_safe(steps)):
        raise ImportRefused([_("The file's “steps” are not a list of steps.")])
    errors: list[str] = []
    _resolve(steps, errors)
    name, record_type = str(data.get("name") or ""), str(data.get("record_type") or "")
    errors += list(services.check_details(name, record_type).values())
    if errors:
        raise ImportRefused(errors)
    probe = Sequence(name=name, record_type=record_type)  # not added: a context for the rules
    context = queries.rules_context(probe)
    context.lineage_id = None
    flat = editing.flatten(steps)
    names = {item["id"]: item["name"] or item["type"] for item in flat}
    problems = rules.check_sequence(flat, context)
    if problems:
        raise ImportRefused([_("Step “%(step)s”: %(problem)s", step=names[p.step_id],
                               problem=p.message) if p.step_id else p.message
                             for p in problems])
    settings = data.get("settings") if isinstance(data.get("settings"), dict) else {}
    allowed = services.clean_settings(settings)
    return services.create_sequence(name=name, description=str(data.get("description") or ""),
                                    record_type=record_type, steps=steps, settings=allowed,
                                    user_id=user_id)


def _walk_safe(nodes) -> list:
    out = []
    stack = list(nodes)
    while stack:
        node = stack.pop()
        out.append(node)
        if isinstance(node, dict):
            for key in ("yes", "no"):
                children = node.get(key) or []
                if not isinstance(children, list):
                    out.append(None)
                else:
                    stack.extend(children)
    return out
