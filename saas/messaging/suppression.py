"""The tenant's suppression list: addresses no sequence may contact again (unsubscribe, bounce,
spam report, STOP, or added by an administrator). Checked at send time, not at queue time.

Functions work on the tenant in context and write in the caller's transaction (the caller
commits)."""

from __future__ import annotations

from sqlalchemy import delete, func, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from saas.extensions import db
from saas.messaging.models import Suppression
from saas.tenancy import TenantContextMissing, current_tenant_id

REASONS = ("unsubscribe", "bounce", "spamreport", "stop", "manual", "soft_bounces")


def normalize(address: str) -> str:
    """Emails lower-cased; phone numbers without spaces, dashes or dots."""
    address = (address or "").strip()
    if "@" in address:
        return address.lower()
    return "".join(c for c in address if c.isdigit() or c == "+")


def channel_of(address: str) -> str:
    return "email" if "@" in (address or "") else "sms"


def is_suppressed(address: str) -> bool:
    if not address:
        return False
    return db.session.execute(
        select(Suppression.id).where(Suppression.address == normalize(address)).limit(1)
    ).first() is not None


def suppressed_among(addresses) -> set[str]:
    """Which of these (normalized) addresses are suppressed: one query for a batch."""
    wanted = {normalize(a) for a in addresses if a}
    if not wanted:
        return set()
    return set(db.session.execute(
        select(Suppression.address).where(Suppression.address.in_(wanted))).scalars())


def reason_for(address: str) -> str | None:
    return db.session.execute(select(Suppression.reason).where(
        Suppression.address == normalize(address))).scalar_one_or_none()


def suppress(address: str, channel: str | None = None, reason: str = "manual") -> bool:
    """Add the address for the whole tenant; True when it was not there yet (idempotent)."""
    tid = current_tenant_id()
    if tid is None:
        raise TenantContextMissing("suppress() needs a tenant in context")
    address = normalize(address)
    if not address:
        return False
    values = {"tenant_id": tid, "address": address, "channel": channel or channel_of(address),
              "reason": reason[:32], "created_at": func.now()}
    dialect = db.session.get_bind().dialect.name
    insert = pg_insert if dialect == "postgresql" else sqlite_insert
    result = db.session.execute(
        insert(Suppression.__table__).values(**values)
        .on_conflict_do_nothing(index_elements=["tenant_id", "address"])
        .returning(Suppression.__table__.c.id))
    return result.first() is not None


def unsuppress(address: str) -> bool:
    """Remove the address (an administrator's decision, or START by text)."""
    result = db.session.execute(delete(Suppression).where(
        Suppression.address == normalize(address)))
    return bool(result.rowcount)
