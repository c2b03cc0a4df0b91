"""Building sequences for engine tests: a nested list of step specs becomes a step tree."""

from __future__ import annotations

from saas.extensions import db
from saas.sequences.models import Sequence, Step


def add_steps(sequence: Sequence, specs: list[dict], parent: Step | None = None,
              branch: str = "main") -> list[Step]:
    steps = []
    for position, spec in enumerate(specs):
        step = Step(sequence_id=sequence.id, parent_id=parent.id if parent else None,
                    branch=branch, position=position, type=spec["type"],
                    name=spec.get("name", spec["type"].replace("_", " ").title()),
                    config=spec.get("config", {}))
        db.session.add(step)
        db.session.flush()
        steps.append(step)
        for sub in ("yes", "no"):
            if spec.get(sub):
                add_steps(sequence, spec[sub], step, sub)
    return steps


def build_sequence(specs: list[dict], *, name: str = "Follow-up", record_type: str = "lead",
                   status: str = "active", settings: dict | None = None,
                   lineage_id: int | None = None, version: int = 1) -> Sequence:
    """Create (and flush) a sequence version with its steps in the tenant in context."""
    sequence = Sequence(name=name, record_type=record_type, status=status, version=version,
                        settings=settings or {}, lineage_id=lineage_id)
    db.session.add(sequence)
    db.session.flush()
    if sequence.lineage_id is None:
        sequence.lineage_id = sequence.id
    add_steps(sequence, specs)
    db.session.flush()
    return sequence


def step_named(sequence: Sequence, name: str) -> Step:
    from sqlalchemy import select

    return db.session.execute(select(Step).where(Step.sequence_id == sequence.id,
                                                 Step.name == name)).scalar_one()
