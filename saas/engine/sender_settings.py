"""Settings > Messaging > Senders: each sender address with its health and caps, and the
tenant's per-recipient-domain daily cap. The services validate, write and commit."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select, update

from saas.auth.models import Tenant
from saas.engine import clock
from saas.engine.sender_health import Health, health_of
from saas.engine.senders import CAP_LIMITS, Sender, address_for, caps_of, ensure
from saas.extensions import db
from saas.i18n import _
from saas.tenancy import current_tenant_id


class CapsInvalid(ValueError):
    def __init__(self, errors: dict[str, str]):
        super().__init__("invalid caps")
        self.errors = errors


@dataclass
class SenderView:
    address: str
    row: Sender | None
    health: Health
    caps: dict[str, int]
    own: dict[str, int | None]  # the sender's own caps (None: the default)


def _tenant() -> Tenant:
    return db.session.execute(select(Tenant).where(Tenant.id == current_tenant_id())
                              ).scalar_one()


def configured_addresses(tenant: Tenant) -> list[str]:
    """The tenant's from-address and its sellers' own, lower-cased."""
    messaging = (tenant.settings or {}).get("messaging") or {}
    found = {address_for(messaging, None)}
    for seller_id in (messaging.get("sellers") or {}):
        found.add(address_for(messaging, int(seller_id)))
    return sorted(found)


def overview() -> list[SenderView]:
    tenant = _tenant()
    rows = {s.address: s for s in db.session.execute(select(Sender)).scalars()}
    addresses = sorted(set(rows) | set(configured_addresses(tenant)))
    health = health_of(addresses, clock.now())
    return [SenderView(a, rows.get(a), health[a], caps_of(rows.get(a), tenant.settings),
                       {name: getattr(rows.get(a), name, None) for name in CAP_LIMITS})
            for a in addresses]


def parse_caps(raw: dict[str, str]) -> dict[str, int | None]:
    """Whole numbers within their limits; blank means the default. Errors per field."""
    values: dict[str, int | None] = {}
    errors: dict[str, str] = {}
    for name, (low, high) in CAP_LIMITS.items():
        text = (raw.get(name) or "").strip()
        if not text:
            values[name] = None
            continue
        try:
            number = int(text)
        except ValueError:
            errors[name] = _("Enter a whole number.")
            continue
        if not low <= number <= high:
            errors[name] = _("Enter a number from %(low)s to %(high)s.", low=low, high=high)
            continue
        values[name] = number
    if errors:
        raise CapsInvalid(errors)
    return values


def set_caps(address: str, raw: dict[str, str]) -> bool:
    """Save a sender's caps; False when the address is no sender of the tenant."""
    address = address.strip().lower()
    tenant = _tenant()
    known = db.session.execute(select(Sender.id).where(Sender.address == address)
                               ).scalar_one_or_none()
    if known is None and address not in configured_addresses(tenant):
        return False
    values = parse_caps(raw)
    sender_id = known or ensure({address})[address]
    db.session.execute(update(Sender).where(Sender.id == sender_id).values(**values)
                       .execution_options(synchronize_session=False))
    db.session.commit()
    return True


def sellers() -> dict[int, str]:
    """Active users who may send (sellers' pools), by id: their names."""
    from saas.auth.models import User, UserStatus

    return dict(db.session.execute(select(User.id, User.name).where(
        User.status == UserStatus.ACTIVE.value).order_by(User.name)).all())


def domain_cap() -> int | None:
    return (_tenant().settings or {}).get("domain_daily_cap")


def set_domain_cap(text: str) -> None:
    text = (text or "").strip()
    value = None
    if text:
        try:
            value = int(text)
        except ValueError:
            raise CapsInvalid({"domain_daily_cap": _("Enter a whole number.")}) from None
        if not 1 <= value <= 1_000_000:
            raise CapsInvalid({"domain_daily_cap": _("Enter a number from %(low)s to %(high)s.",
                                                     low=1, high=1_000_000)})
    tenant = _tenant()
    settings = dict(tenant.settings or {})
    settings["domain_daily_cap"] = value
    tenant.settings = settings
    db.session.commit()


def add_to_pool(address: str, seller_id: int | None) -> str:
    """Give a seller one more sender address (automated emails rotate among its senders);
    returns the address. An address of another seller's pool moves to this one."""
    from saas.auth.models import User, UserStatus

    address = (address or "").strip().lower()
    errors = {}
    local, _at, domain = address.partition("@")
    if not local or "." not in domain or " " in address or len(address) > 254:
        errors["pool_address"] = _("Enter an email address, e.g. sam@mail.example.com.")
    seller = db.session.execute(select(User.id).where(
        User.id == seller_id, User.status == UserStatus.ACTIVE.value)).scalar_one_or_none() \
        if seller_id else None
    if seller is None:
        errors["pool_seller"] = _("Choose a seller.")
    if errors:
        raise CapsInvalid(errors)
    sender_id = ensure({address})[address]
    db.session.execute(update(Sender).where(Sender.id == sender_id).values(seller_id=seller)
                       .execution_options(synchronize_session=False))
    db.session.commit()
    return address
