"""Assigning one seller to a selection of a sequence's connections at once (Connected records).

Only connections waiting for a seller take one: active, with no seller yet. The others in the
selection (already assigned, paused, ended, or of another sequence) are left as they are and
counted, so the person is told what happened to each.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select

from saas.admin import audit
from saas.auth.models import User, UserStatus
from saas.engine.connect import assign_seller
from saas.engine.lifecycle import lock_in_order
from saas.engine.models import Enrollment, EnrollmentStatus
from saas.engine.sql import id_in
from saas.errors import ServiceError
from saas.extensions import db
from saas.i18n import _


@dataclass
class Assigned:
    seller: User
    assigned: int   # connections that got the seller and started
    left: int       # selected connections that did not wait for a seller


def assign_selected(lineage_id: int, enrollment_ids: list[int], seller_id: int | None
                    ) -> Assigned:
    """Give `seller_id` to the selected connections of the lineage that wait for a seller and
    start them: the enrollments are locked in id order first (the one lock order), each is
    assigned with `connect.assign_seller`, and all are committed together."""
    seller = db.session.execute(select(User).where(
        User.id == (seller_id or 0), User.status == UserStatus.ACTIVE.value)
    ).scalar_one_or_none()
    if seller is None:
        raise ServiceError(_("Choose a seller to assign."), "seller_id")
    ids = sorted(set(enrollment_ids))
    lock_in_order(ids)
    waiting = db.session.execute(
        select(Enrollment).where(id_in(Enrollment.id, ids), Enrollment.lineage_id == lineage_id,
                                 Enrollment.seller_id.is_(None),
                                 Enrollment.status == EnrollmentStatus.ACTIVE.value)
        .order_by(Enrollment.id).execution_options(populate_existing=True)).scalars().all()
    for enrollment in waiting:
        assign_seller(enrollment, seller.id)
    if waiting:
        audit.record("sequence.sellers_assigned", seller.name, lineage_id=lineage_id,
                     records=len(waiting))
    db.session.commit()
    return Assigned(seller, len(waiting), len(ids) - len(waiting))
