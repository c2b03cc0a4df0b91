"""Reading sequences: the list (one row per lineage), the tree of steps, versions, the rules'
context for the tenant, running counts."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select

from saas.extensions import db
from saas.records.fields import fields_for, sequence_settable, value_problem
from saas.segments.rules import validate as validate_field_rules
from saas.sequences import rules
from saas.sequences.models import Sequence, SequenceStatus, Step
from saas.signals import ab_tests_asked, answer, running_count_asked, running_counts_asked
from saas.templates_.models import MessageTemplate


def steps_of(sequence_id: int) -> list[Step]:
    return list(db.session.execute(
        select(Step).where(Step.sequence_id == sequence_id)
        .order_by(Step.parent_id.nulls_first(), Step.branch, Step.position, Step.id)).scalars())


def as_dicts(steps: list[Step]) -> list[dict]:
    return [{"id": s.id, "parent_id": s.parent_id, "branch": s.branch, "position": s.position,
             "type": s.type, "name": s.name, "description": s.description,
             "config": s.config or {}} for s in steps]


def templates_map() -> dict[int, tuple[str, str]]:
    return {t.id: (t.kind, t.name) for t in db.session.execute(
        select(MessageTemplate.id, MessageTemplate.kind, MessageTemplate.name))}


def templates_by_kind() -> dict[str, list]:
    out: dict[str, list] = {"email": [], "sms": []}
    for row in db.session.execute(select(MessageTemplate.id, MessageTemplate.kind,
                                         MessageTemplate.name).order_by(MessageTemplate.name)):
        out.setdefault(row.kind, []).append(row)
    return out


def lineage_names(record_type: str | None = None) -> dict[int, str]:
    """Each lineage's newest name: the sequences a record can be moved to."""
    newest = select(Sequence.lineage_id, func.max(Sequence.version).label("v")) \
        .group_by(Sequence.lineage_id).subquery()
    stmt = select(Sequence.lineage_id, Sequence.name).join(
        newest, (newest.c.lineage_id == Sequence.lineage_id) & (newest.c.v == Sequence.version))
    if record_type:
        stmt = stmt.where(Sequence.record_type == record_type)
    return {row.lineage_id: row.name for row in db.session.execute(stmt.order_by(Sequence.name))}


def rules_context(sequence: Sequence) -> rules.Context:
    fields = fields_for(sequence.record_type)
    return rules.Context(templates=templates_map(),
                         sequences=lineage_names(sequence.record_type),
                         lineage_id=sequence.lineage_id,
                         check_field_rules=lambda tree: validate_field_rules(tree, fields),
                         fields={k: f for k, f in fields.items() if sequence_settable(f)},
                         check_field_value=lambda key, value: value_problem(fields[key], value))


def problems_of(sequence: Sequence) -> list[rules.Problem]:
    return rules.check_sequence(as_dicts(steps_of(sequence.id)), rules_context(sequence))


def running_count(lineage_id: int) -> int:
    """How many records run in the sequence (the engine answers)."""
    return answer(running_count_asked, 0, lineage_id=lineage_id)


def running_by_lineage() -> dict[int, int]:
    """How many records run in each sequence, by lineage (the engine answers)."""
    return answer(running_counts_asked, {})


def versions(lineage_id: int) -> list[Sequence]:
    return list(db.session.execute(select(Sequence).where(Sequence.lineage_id == lineage_id)
                                   .order_by(Sequence.version.desc())).scalars())


def newest_draft(lineage_id: int) -> Sequence | None:
    return db.session.execute(
        select(Sequence).where(Sequence.lineage_id == lineage_id,
                               Sequence.status == SequenceStatus.DRAFT.value)
        .order_by(Sequence.version.desc()).limit(1)).scalar_one_or_none()


@dataclass
class Row:
    sequence: Sequence
    connected: int


def list_rows() -> list[Row]:
    """One row per lineage, showing its newest version."""
    newest = select(Sequence.lineage_id, func.max(Sequence.version).label("v")) \
        .group_by(Sequence.lineage_id).subquery()
    sequences = db.session.execute(select(Sequence).join(
        newest, (newest.c.lineage_id == Sequence.lineage_id) & (newest.c.v == Sequence.version))
        .order_by(Sequence.updated_at.desc(), Sequence.id.desc())).scalars().all()
    counts = running_by_lineage()
    return [Row(s, counts.get(s.lineage_id, 0)) for s in sequences]


@dataclass
class Node:
    step: Step
    summary: str
    yes: list[Node]
    no: list[Node]


def tree(sequence: Sequence) -> list[Node]:
    """The main branch as nodes; conditions carry their Yes and No branches."""
    from saas.sequences.steps import summary

    steps = steps_of(sequence.id)
    templates, sequences = templates_map(), lineage_names()
    groups: dict[tuple, list[Step]] = {}
    for step in steps:
        groups.setdefault((step.parent_id, step.branch), []).append(step)

    def build(parent, branch) -> list[Node]:
        return [Node(s, summary(s, templates, sequences), build(s.id, "yes"), build(s.id, "no"))
                for s in sorted(groups.get((parent, branch), []), key=lambda s: s.position)]

    return build(None, "main")


def ab_tests(sequence_id: int) -> dict:
    """The A/B tests of a sequence version by step id (status, outcome, winner for the tiles;
    the engine answers)."""
    return answer(ab_tests_asked, {}, sequence_id=sequence_id)


def template_used_by(_sender, *, template_id: int, **_more) -> str | None:
    """Why a template cannot be deleted (a step of an active sequence uses it, A/B versions
    included), or None: the sequences' answer to `saas.signals.template_deleting`."""
    from saas.i18n import _

    rows = db.session.execute(
        select(Sequence.name, Step.type, Step.config).select_from(Step)
        .join(Sequence, Sequence.id == Step.sequence_id)
        .where(Sequence.status == SequenceStatus.ACTIVE.value)).all()
    for name, kind, config in rows:
        config = config or {}
        ids = [config.get("template_id")] if kind != "ab_test" else [
            (v or {}).get("template_id") for v in (config.get("versions") or {}).values()]
        if template_id in ids:
            return _("Used by the active sequence “%(name)s”.", name=name)
    return None
