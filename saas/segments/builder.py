"""The rule builder's form: a rule tree written as flat form fields, and edits to it.

A group at path P is `g-P-op`; a condition is `c-P-field`, `c-P-operator`, `c-P-value`. The root
group's path is `r`, its children `r.0`, `r.1`, a nested group's children `r.1.0`... Buttons send
`action` = `add-row:P`, `add-group:P` or `remove:P`; the page is re-rendered with the change,
without saving (the same with htmx, which swaps only the editor).
"""

from __future__ import annotations

import re

from werkzeug.datastructures import MultiDict

from saas.records.conditions import OPERATORS_BY_KIND
from saas.segments.rules import MAX_DEPTH, is_group

ROOT = "r"
MAX_ROWS = 100  # conditions and groups in one tree; a real segment has a handful
_PATH = re.compile(r"r(\.[0-9]{1,3}){0,%d}".replace("%d", str(MAX_DEPTH)))


def valid_path(path: str) -> bool:
    """A path the builder could have written: `r`, then up to MAX_DEPTH small indexes."""
    return bool(_PATH.fullmatch(path))


def _key(path: str) -> tuple:
    return tuple(int(p) for p in path.split(".")[1:])


_ATTRS = {"g": ("op",), "c": ("field", "operator", "value")}


def tree_from_form(form: MultiDict) -> dict:
    nodes: dict[str, dict] = {ROOT: {"op": "and", "rules": []}}
    for name in form:
        kind, _, rest = name.partition("-")
        path, _, attr = rest.rpartition("-")
        if kind not in ("g", "c") or not valid_path(path) or attr not in _ATTRS[kind]:
            continue
        if path not in nodes and len(nodes) > MAX_ROWS:
            continue
        node = nodes.setdefault(path, {"op": "and", "rules": []} if kind == "g" else {})
        node[attr] = form.get(name, "")
    for path in sorted((p for p in nodes if p != ROOT), key=_key):
        parent = nodes.get(path.rsplit(".", 1)[0])
        if parent is not None and is_group(parent):
            parent["rules"].append(nodes[path])
    return _strip(nodes[ROOT])


def _strip(node: dict) -> dict:
    if is_group(node):
        return {"op": node.get("op") if node.get("op") in ("and", "or") else "and",
                "rules": [_strip(n) for n in node["rules"]]}
    return {"field": node.get("field", ""), "operator": node.get("operator", ""),
            "value": node.get("value", "")}


def _find(tree: dict, path: str) -> dict | None:
    node = tree
    for index in _key(path):
        rules = node.get("rules", [])
        if index >= len(rules):
            return None
        node = rules[index]
    return node


def depth_of(path: str) -> int:
    return len(_key(path)) + 1


def apply_action(tree: dict, action: str) -> dict:
    """Add a row or a group to the group at a path, or remove the node at a path."""
    verb, _, path = action.partition(":")
    if not valid_path(path):
        return tree
    if verb in ("add-row", "add-group"):
        group = _find(tree, path)
        if group is None or not is_group(group):
            return tree
        if verb == "add-row":
            group["rules"].append({"field": "", "operator": "equals", "value": ""})
        elif depth_of(path) < MAX_DEPTH:
            group["rules"].append({"op": "and", "rules": [
                {"field": "", "operator": "equals", "value": ""}]})
    elif verb == "remove" and path != ROOT:
        parent_path, _, index = path.rpartition(".")
        parent = _find(tree, parent_path)
        if parent is not None and is_group(parent) and int(index) < len(parent["rules"]):
            del parent["rules"][int(index)]
    return tree


def errors_by_form_path(errors: dict[str, str]) -> dict[str, str]:
    """Validation paths ('' root, '1.0') in the builder's terms ('r', 'r.1.0')."""
    return {(f"{ROOT}.{path}" if path else ROOT): message for path, message in errors.items()}


def find(tree: dict, path: str) -> dict | None:
    """The node at a builder path, or None."""
    return _find(tree, path) if valid_path(path) else None


def fit_to_fields(tree: dict, fields: dict) -> dict:
    """After a field or an operator was chosen: each condition keeps an operator its field's kind
    offers (else the kind's first) and, for a choice field's equals, one of its choices (else
    none), so the row shows the controls of its field."""
    if is_group(tree):
        for child in tree["rules"]:
            fit_to_fields(child, fields)
        return tree
    field = fields.get(tree.get("field"))
    if field is None:
        return tree
    operators = OPERATORS_BY_KIND[field.kind]
    if tree.get("operator") not in operators:
        tree["operator"] = operators[0]
    if field.choices and tree["operator"] in ("equals", "not_equals") \
            and tree.get("value") not in {value for value, _label in field.choices}:
        tree["value"] = ""
    return tree
