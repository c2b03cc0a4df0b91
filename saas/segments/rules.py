"""Segment rules: a JSON tree of And/Or groups and conditions, validated, compiled to ONE SQL
expression (never a Python loop over records).

    {"op": "and", "rules": [
        {"field": "lead_source", "operator": "equals", "value": "Trade show"},
        {"op": "or", "rules": [{"field": "country", "operator": "in_list", "value": "FR, DE"},
                               {"field": "custom.tier", "operator": "equals", "value": "Gold"}]}
    ]}

A node's path is its position in the tree ("0", "1.0", ...); errors are reported by path so the
builder can show each next to its row.
"""

from __future__ import annotations

from sqlalchemy import and_, or_, true
from sqlalchemy.sql.elements import ColumnElement

from saas.i18n import _
from saas.records.conditions import ConditionError, compile_condition
from saas.records.fields import Field

MAX_DEPTH = 3  # the root group and two levels of nested groups
GROUP_OPS = ("and", "or")


def empty_rules() -> dict:
    return {"op": "and", "rules": []}


def is_group(node: dict) -> bool:
    return isinstance(node, dict) and "rules" in node


def validate(tree, fields: dict[str, Field]) -> dict[str, str]:
    """Problems by path ('' is the root); an empty dict means the rules can be saved."""
    errors: dict[str, str] = {}
    if not is_group(tree):
        return {"": _("The rules must be a group of conditions.")}
    _check_group(tree, fields, "", 1, errors)
    return errors


def _check_group(group: dict, fields, path: str, depth: int, errors: dict) -> None:
    if group.get("op") not in GROUP_OPS:
        errors[path] = _("A group combines its rows with And or Or.")
    rules = group.get("rules")
    if not isinstance(rules, list) or not rules:
        errors[path] = _("This group is empty: add a row or remove the group.")
        return
    for index, node in enumerate(rules):
        child = f"{path}.{index}" if path else str(index)
        if is_group(node):
            if depth >= MAX_DEPTH:
                errors[child] = _("Groups can be nested two levels deep at most.")
                continue
            _check_group(node, fields, child, depth + 1, errors)
        elif isinstance(node, dict):
            _check_condition(node, fields, child, errors)
        else:
            errors[child] = _("This row is not a condition.")


def _check_condition(node: dict, fields, path: str, errors: dict) -> None:
    field = fields.get(node.get("field") or "")
    if field is None:
        errors[path] = (_("Choose a field.") if not node.get("field")
                        else _("“%(field)s” is not a field of these records.",
                               field=node.get("field")))
        return
    try:
        compile_condition(field, node.get("operator") or "", node.get("value"))
    except ConditionError as error:
        errors[path] = str(error)


def compile_rules(tree: dict, fields: dict[str, Field]) -> ColumnElement:
    """One SQL expression for the whole tree; call `validate` first."""
    if not tree.get("rules"):
        return true()
    parts = [compile_rules(node, fields) if is_group(node)
             else compile_condition(fields[node["field"]], node["operator"], node.get("value"))
             for node in tree["rules"]]
    return and_(*parts) if tree.get("op", "and") == "and" else or_(*parts)


def describe(tree: dict, fields: dict[str, Field]) -> str:
    """A one-line reading of the rules, for lists and confirmations."""
    from saas.records.conditions import OPERATORS, TWO_VALUES

    joiners = {"and": _(" and "), "or": _(" or ")}

    def node_text(node, top=False) -> str:
        if is_group(node):
            op = node.get("op", "and")
            joined = joiners.get(op, f" {op} ").join(node_text(n) for n in node["rules"])
            return joined if top or len(node["rules"]) == 1 else f"({joined})"
        field = fields.get(node.get("field", ""))
        label = field.label if field else node.get("field", "?")
        op = node.get("operator", "")
        operator = str(OPERATORS.get(op, op))
        operator = operator[:1].lower() + operator[1:]  # "Égal à" reads "égal à" in a sentence
        value = node.get("value")
        if op in ("is_empty", "is_not_empty"):
            return _("%(field)s %(operator)s", field=label, operator=operator)
        if field is not None and field.choices and op != "between":
            items = value if isinstance(value, list) else (
                [v.strip() for v in str(value or "").replace(";", ",").split(",")]
                if op == "in_list" else [value])
            value = [field.choice_label(v) for v in items]
        if op in TWO_VALUES and isinstance(value, list) and len(value) == 2:
            value = _("%(low)s and %(high)s", low=value[0], high=value[1])
        if isinstance(value, list):
            value = ", ".join(str(v) for v in value)
        return _("%(field)s %(operator)s %(value)s", field=label, operator=operator,
                 value=value)

    if not tree.get("rules"):
        return _("No conditions: every record")
    return node_text(tree, top=True)
