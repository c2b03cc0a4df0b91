"""Admin-defined custom fields: add and remove (removing also removes the stored values)."""

from __future__ import annotations

import re

from sqlalchemy import func, select, text, update

from saas.admin import audit
from saas.errors import ServiceError
from saas.extensions import db
from saas.i18n import _
from saas.records.fields import standard_fields
from saas.records.models import CustomField, CustomFieldKind, Record
from saas.tenancy import current_tenant_id


def _key_for(label: str) -> str:
    key = re.sub(r"[^a-z0-9]+", "_", label.lower()).strip("_")[:40]
    return key or "field"


def add_custom_field(*, record_type: str, label: str, kind: str, choices: str = "") -> CustomField:
    label = label.strip()
    if not label:
        raise ServiceError(_("Enter a label."), "label")
    kind = CustomFieldKind(kind).value
    options = [c.strip() for c in re.split(r"[\n,;]", choices or "") if c.strip()]
    if kind == CustomFieldKind.CHOICE and not options:
        raise ServiceError(_("List the choices, one per line or separated by commas."),
                           "choices")
    if len(set(o.lower() for o in options)) != len(options):
        raise ServiceError(_("Each choice must be different."), "choices")
    taken = {name.lower() for f in standard_fields(record_type)
             for name in (f.name, f.label)}
    existing = db.session.execute(select(CustomField).where(
        CustomField.record_type == record_type)).scalars().all()
    taken |= {f.label.lower() for f in existing}
    if label.lower() in taken:
        raise ServiceError(_("A field called “%(label)s” already exists.", label=label), "label")
    key, keys, n = _key_for(label), {f.key for f in existing}, 2
    base = key
    while key in keys:
        key, n = f"{base[:36]}_{n}", n + 1
    position = max((f.position for f in existing), default=0) + 1
    field = CustomField(record_type=record_type, key=key, label=label, kind=kind,
                        choices=options if kind == CustomFieldKind.CHOICE else [],
                        position=position)
    db.session.add(field)
    audit.record("custom_field.added", label, record_type=record_type, kind=kind)
    db.session.commit()
    return field


def delete_custom_field(field: CustomField) -> None:
    """Remove the field and, in one statement, its values from every record of the type."""
    if db.engine.dialect.name == "postgresql":
        db.session.execute(
            text("UPDATE record SET custom = custom - :key WHERE tenant_id = :tenant "
                 "AND record_type = :type AND custom ? :key"),
            {"key": field.key, "tenant": current_tenant_id(), "type": field.record_type})
    else:
        db.session.execute(
            update(Record).where(Record.record_type == field.record_type)
            .values(custom=func.json_remove(Record.custom, f"$.{field.key}")))
    db.session.delete(field)
    audit.record("custom_field.deleted", field.label, record_type=field.record_type)
    db.session.commit()
