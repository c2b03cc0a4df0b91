"""Saving, deleting and previewing message templates; the context comes from plain record values."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import or_, select

from saas.admin import audit
from saas.auth.models import User
from saas.errors import ServiceError
from saas.extensions import db
from saas.messaging import rendering
from saas.records.fields import search_text
from saas.records.models import CustomField, Record
from saas.templates_.models import LANGUAGES, MessageTemplate, TemplateKind
from saas.tenancy import current_tenant
from saas.web.ids import BIGINT_MAX, parse_id

LANGUAGE_CODES = {code for code, _ in LANGUAGES}
PREVIEW_UNSUBSCRIBE_URL = "#unsubscribe-link-made-when-sending"


class TemplateInvalid(ServiceError):
    """`errors` maps a form field to its messages (each starting with the line, for bodies)."""

    def __init__(self, errors: dict[str, list[str]]):
        super().__init__("The template has errors.")
        self.errors = errors


def template_in_use(template_id: int) -> str | None:
    """Why a template cannot be deleted (a step of an active sequence uses it, A/B versions
    included), or None."""
    from saas.sequences.models import Sequence, SequenceStatus, Step

    rows = db.session.execute(
        select(Sequence.name, Step.type, Step.config).select_from(Step)
        .join(Sequence, Sequence.id == Step.sequence_id)
        .where(Sequence.status == SequenceStatus.ACTIVE.value)).all()
    for name, kind, config in rows:
        config = config or {}
        ids = [config.get("template_id")] if kind != "ab_test" else [
            (v or {}).get("template_id") for v in (config.get("versions") or {}).values()]
        if template_id in ids:
            return f"Used by the active sequence “{name}”."
    return None


def custom_keys() -> list[str]:
    """The tenant's custom field keys (leads and opportunities): `record.custom.<key>`."""
    return sorted(set(db.session.execute(select(CustomField.key)).scalars()))


def save_template(template: MessageTemplate | None, *, kind: str, name: str, language: str,
                  subject: str = "", html_body: str = "", text_body: str = "",
                  body: str = "") -> MessageTemplate:
    """Create or update a template; refuses unknown merge fields and syntax errors with their
    line. An empty text body is generated from the HTML when the email is rendered."""
    kind = template.kind if template else kind
    if kind not in set(TemplateKind):
        raise TemplateInvalid({"kind": ["Choose email or SMS."]})
    name, subject = (name or "").strip(), (subject or "").strip()
    errors: dict[str, list[str]] = {}
    if not name:
        errors["name"] = ["Give the template a name."]
    elif len(name) > 120:
        errors["name"] = ["At most 120 characters."]
    if language not in LANGUAGE_CODES:
        errors["language"] = ["Choose a language from the list."]
    keys = custom_keys()
    if kind == TemplateKind.EMAIL:
        sources = {"subject": subject, "html_body": html_body or "", "text_body": text_body or ""}
        if not subject:
            errors["subject"] = ["An email needs a subject."]
        elif len(subject) > 255:
            errors["subject"] = ["At most 255 characters."]
        if not (html_body or "").strip():
            errors["html_body"] = ["An email needs an HTML body."]
    else:
        sources = {"body": body or ""}
        if not (body or "").strip():
            errors["body"] = ["An SMS needs a body."]
    for field, source in sources.items():
        problems = rendering.validate(source, custom_keys=keys)
        if not problems:  # within the limits on size, loops and time, with sample values
            problem = rendering.limit_problem(source, sms=kind == TemplateKind.SMS,
                                              html=field == "html_body", custom_keys=keys)
            problems = [problem] if problem else []
        if problems:
            errors.setdefault(field, []).extend(problems)
    if errors:
        raise TemplateInvalid(errors)

    created = template is None
    if created:
        template = MessageTemplate(kind=kind)
        db.session.add(template)
    template.name, template.language = name, language
    if kind == TemplateKind.EMAIL:
        template.subject, template.html_body = subject, html_body
        template.text_body = text_body if text_body.strip() else ""
    else:
        template.body = body.replace("\r\n", "\n")  # browsers send CRLF; an SMS counts each
    audit.record("template.created" if created else "template.saved", template.name, kind=kind)
    db.session.commit()
    return template


def delete_template(template: MessageTemplate) -> None:
    reason = template_in_use(template.id)
    if reason:
        raise ServiceError(reason)
    audit.record("template.deleted", template.name, kind=template.kind)
    db.session.delete(template)
    db.session.commit()


def record_values(record: Record) -> dict:
    """A record as plain values (never the ORM object) for `rendering.build_context`."""
    values = {name: getattr(record, name, None) for name in rendering.RECORD_FIELDS
              if name != "full_name"}
    values["full_name"] = " ".join(p for p in (record.first_name, record.last_name) if p)
    values["custom"] = dict(record.custom or {})
    return values


def context_for(record: Record, unsubscribe_url: str) -> dict:
    seller = None
    if record.owner_id:
        owner = db.session.execute(
            select(User).where(User.id == record.owner_id)).scalar_one_or_none()
        if owner is not None:
            seller = {"name": owner.name, "email": owner.email}
    tenant = current_tenant()
    return rendering.build_context(record_values(record), seller=seller,
                                   tenant_name=tenant.name if tenant else "",
                                   unsubscribe_url=unsubscribe_url, custom_keys=custom_keys())


@dataclass
class Preview:
    subject: str = ""
    html: str = ""
    text: str = ""
    text_generated: bool = False
    body: str = ""
    sms: rendering.SmsCount | None = None
    error: str | None = None


def render(template: MessageTemplate, context: dict) -> Preview:
    """The message as it would be sent to the context's record."""
    try:
        if template.kind == TemplateKind.SMS:
            body = rendering.render_text(template.body, context, sms=True)
            return Preview(body=body, sms=rendering.count_sms(body))
        html = rendering.render_html(template.html_body, context)
        generated = not template.text_body.strip()
        text = rendering.html_to_text(html) if generated \
            else rendering.render_text(template.text_body, context)
        subject = " ".join(rendering.render_text(template.subject, context).split())
        return Preview(subject=subject, html=html, text=text, text_generated=generated)
    except rendering.RenderError as error:
        return Preview(error=str(error))


def preview(template: MessageTemplate, record: Record) -> Preview:
    return render(template, context_for(record, PREVIEW_UNSUBSCRIBE_URL))


def find_records(query: str, limit: int = 10) -> list[Record]:
    """Records of the tenant matching a search (name, company, email) or an id, for preview."""
    query = (query or "").strip()
    stmt = select(Record)
    if query:
        conditions = [search_text().contains(query.lower(), autoescape=True)]
        if parse_id(query, BIGINT_MAX):
            conditions.append(Record.id == parse_id(query, BIGINT_MAX))
        stmt = stmt.where(or_(*conditions))
    return list(db.session.execute(
        stmt.order_by(Record.updated_at.desc(), Record.id.desc()).limit(limit)).scalars())
