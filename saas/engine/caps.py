"""Automated sends: the sending window (recipient's time zone) and the daily caps (per seller
from the sequence's settings, per tenant from its settings) decide, at claim time, which due sends
go now; the others move to the window's next opening or the next day's (and to working time when
the sequence counts in it, saas/engine/working_time.py); then the senders' pauses
and caps (saas.engine.senders). Never dropped."""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime

from sqlalchemy import func, select, text, update

from saas.auth.models import Tenant
from saas.engine import senders
from saas.engine.models import StepRun
from saas.engine.sql import id_any, id_in
from saas.engine.windows import day_start, next_day_opening
from saas.engine.working_time import for_settings, send_due
from saas.extensions import db
from saas.records.models import Record
from saas.sequences.models import Sequence, StepType

SEND_TYPES = (StepType.AUTO_EMAIL.value, StepType.AUTO_SMS.value)
COUNTED = ("sending", "sent", "unknown")
LOCK_BASE = 7_300_000_000


def sends_today(since: datetime) -> tuple[int, dict[int | None, int]]:
    rows = db.session.execute(
        select(StepRun.seller_id, func.count()).where(
            StepRun.step_type.in_(SEND_TYPES), StepRun.status.in_(COUNTED),
            StepRun.started_at >= since).group_by(StepRun.seller_id)).all()
    per_seller = {seller: count for seller, count in rows}
    return sum(per_seller.values()), per_seller


def claim_sends(tenant_id: int, rows: list, now: datetime, token: str, *, details: bool = False,
                tenant: Tenant | None = None) -> tuple[list[int], int]:
    """Mark the sends that may go now as `sending` (attempts + 1, the lease from `started_at`,
    claimed with `token`); defer the rest. Returns the claimed ids and how many were deferred.
    `details`: the rows already carry what is read here (seller_id, sequence_id, step_type,
    sender, the record's time_zone and email, the sequence's settings), as
    `send_jobs.claim_due_sends` gives them. `tenant`: its row, when the caller has read it in
    this transaction. The caller commits."""
    if details:
        found = sorted(rows, key=lambda r: r.id)  # in id order, as read below
        settings = {r.sequence_id: (r.settings or {}) for r in found}
    else:
        found = db.session.execute(
            select(StepRun.id, StepRun.seller_id, StepRun.sequence_id, StepRun.step_type,
                   StepRun.sender, Record.time_zone, Record.email)
            .join(Record, Record.id == StepRun.record_id)
            .where(id_in(StepRun.id, [r.id for r in rows])).order_by(StepRun.id)).all()
        settings = {sid: (s or {}) for sid, s in db.session.execute(
            select(Sequence.id, Sequence.settings).where(
                Sequence.id.in_({d.sequence_id for d in found})))}
    if tenant is None:
        tenant = db.session.execute(select(Tenant).where(Tenant.id == tenant_id)).scalar_one()
    return _claim(tenant, found, settings, now, token)


def _claim(tenant: Tenant, details: list, settings: dict, now: datetime, token: str
           ) -> tuple[list[int], int]:
    tenant_cap = (tenant.settings or {}).get("daily_send_cap")
    has_caps = tenant_cap is not None or any(
        s.get("seller_daily_cap") is not None for s in settings.values())
    used, per_seller = 0, defaultdict(int)
    if has_caps:
        if db.engine.dialect.name == "postgresql":  # one cap count at a time per tenant
            db.session.execute(text("SELECT pg_advisory_xact_lock(:k)"),
                               {"k": LOCK_BASE + tenant.id})
        used, counts = sends_today(day_start(now, tenant.time_zone))
        per_seller.update(counts)
    claimed: list[int] = []
    deferred: dict[datetime, list[int]] = defaultdict(list)
    workings: dict[int, object] = {}  # per sequence
    openings: dict[tuple, datetime] = {}  # per sequence and zone: the same for all its sends
    for d in details:
        seq = settings.get(d.sequence_id, {})
        window = seq.get("window")
        if d.sequence_id not in workings:
            workings[d.sequence_id] = for_settings(seq)
        working = workings[d.sequence_id]
        opening = openings.get((d.sequence_id, d.time_zone))
        if opening is None:
            opening = openings[(d.sequence_id, d.time_zone)] = send_due(
                now, d.time_zone, window, working)
        if opening > now:
            deferred[opening].append(d.id)
            continue
        seller_cap = seq.get("seller_daily_cap")
        over_tenant = tenant_cap is not None and used >= int(tenant_cap)
        over_seller = seller_cap is not None and per_seller[d.seller_id] >= int(seller_cap)
        if over_tenant or over_seller:
            deferred[send_due(next_day_opening(now, d.time_zone, window), d.time_zone,
                              window, working)].append(d.id)
            continue
        used += 1
        per_seller[d.seller_id] += 1
        claimed.append(d.id)
    # The senders' pauses and caps (saas.engine.senders: their rows locked, last).
    wanted = set(claimed)
    admitted, held = senders.admit(tenant, [d for d in details if d.id in wanted], settings, now)
    for due_at, held_ids in held.items():
        deferred[due_at].extend(held_ids)
    claimed = [i for i in claimed if i in admitted]
    if claimed:
        db.session.execute(
            update(StepRun).where(id_any(StepRun.id, claimed), StepRun.status == "pending")
            .values(status="sending", attempts=StepRun.attempts + 1, started_at=now,
                    claim_token=token, sender=senders.sender_values(admitted))
            .execution_options(synchronize_session=False))
    for due_at, deferred_ids in deferred.items():
        db.session.execute(
            update(StepRun).where(id_in(StepRun.id, deferred_ids)).values(due_at=due_at)
            .execution_options(synchronize_session=False))
    return claimed, sum(len(v) for v in deferred.values())
