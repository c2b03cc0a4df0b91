"""What a send's delivery and its outcomes share (saas/engine/sends.py, saas/engine/uncertain.py):
the claim's lease, the lock of the enrollments (the one lock order), and moving enrollments on
past their send step in groups."""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime

from flask import current_app
from sqlalchemy import select

from saas.engine.bulk import advance_group
from saas.engine.graph import GraphCache
from saas.engine.models import Enrollment
from saas.engine.sql import id_in
from saas.extensions import db


def lease_seconds() -> float:
    return float(current_app.config["ENGINE_SENDING_LEASE"])


def lock_enrollments(enrollment_ids) -> dict[int, str]:
    """Lock these enrollments in id order (the one lock order); {id: status}."""
    ids = sorted(set(enrollment_ids))
    if not ids:
        return {}
    stmt = select(Enrollment.id, Enrollment.status).where(id_in(Enrollment.id, ids)) \
        .order_by(Enrollment.id)
    if db.engine.dialect.name != "sqlite":
        stmt = stmt.with_for_update()
    return dict(db.session.execute(stmt).all())


class Moves:
    """Enrollments to move on past a step, grouped as advance_group takes them."""

    def __init__(self):
        self.groups: dict[tuple[int, int], list[int]] = defaultdict(list)

    def add(self, run) -> None:
        self.groups[(run.sequence_id, run.step_id)].append(run.enrollment_id)

    def apply(self, graphs: GraphCache, now: datetime) -> int:
        moved = 0
        for (sequence_id, step_id), enrollment_ids in self.groups.items():
            moved += advance_group(graphs.get(sequence_id), enrollment_ids, step_id, None, now)
        self.groups.clear()
        return moved
