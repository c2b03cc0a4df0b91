"""Saving, deleting and previewing message templates; the context comes from plain record values."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import delete, or_, select, update
from sqlalchemy.exc import IntegrityError

from saas.admin import audit
from saas.auth.models import User
from saas.auth.tenants import current_tenant
from saas.errors import ServiceError
from saas.extensions import db
from saas.i18n import _, _l
from saas.messaging import rendering
from saas.records.fields import search_text
from saas.records.models import CustomField, Record
from saas.signals import answer, template_deleting
from saas.templates_.models import LANGUAGES, MessageTemplate, TemplateKind, language_name
from saas.web.ids import BIGINT_MAX, parse_id

LANGUAGE_CODES = {code for code, __ in LANGUAGES}
PREVIEW_UNSUBSCRIBE_URL = "#unsubscribe-link-made-when-sending"


class TemplateInvalid(ServiceError):
    """`errors` maps a form field to its messages (each starting with the line, for bodies)."""

    def __init__(self, errors: dict[str, list[str]]):
        super().__init__(_l("The template has errors."))
        self.errors = errors


def template_in_use(template_id: int) -> str | None:
    """Why a template cannot be deleted (the sequences using it answer), or None."""
    return answer(template_deleting, None, template_id=template_id)


def custom_keys() -> list[str]:
    """The tenant's custom field keys (leads and opportunities): `record.custom.<key>`."""
    return sorted(set(db.session.execute(select(CustomField.key)).scalars()))


def _problems(*, kind: str, name: str, language: str, subject: str, html_body: str,
              text_body: str, body: str) -> dict[str, list[str]]:
    """Every problem of a template's (or a version's) fields, by form field."""
    errors: dict[str, list[str]] = {}
    if not name:
        errors["name"] = [_("Give the template a name.")]
    elif len(name) > 120:
        errors["name"] = [_("At most 120 characters.")]
    if language not in LANGUAGE_CODES:
        errors["language"] = [_("Choose a language from the list.")]
    keys = custom_keys()
    if kind == TemplateKind.EMAIL:
        sources = {"subject": subject, "html_body": html_body or "", "text_body": text_body or ""}
        if not subject:
            errors["subject"] = [_("An email needs a subject.")]
        elif len(subject) > 255:
            errors["subject"] = [_("At most 255 characters.")]
        if not (html_body or "").strip():
            errors["html_body"] = [_("An email needs an HTML body.")]
    else:
        sources = {"body": body or ""}
        if not (body or "").strip():
            errors["body"] = [_("An SMS needs a body.")]
    for field, source in sources.items():
        problems = rendering.validate(source, custom_keys=keys)
        if not problems:  # within the limits on size, loops and time, with sample values
            problem = rendering.limit_problem(source, sms=kind == TemplateKind.SMS,
                                              html=field == "html_body", custom_keys=keys)
            problems = [problem] if problem else []
        if problems:
            errors.setdefault(field, []).extend(problems)
    return errors


def _language_taken(language: str) -> str:
    return _("There is already a version in %(language)s: edit that one, or choose another "
             "language.", language=language_name(language))


def _fill(template: MessageTemplate, kind: str, subject: str, html_body: str, text_body: str,
          body: str) -> None:
    if kind == TemplateKind.EMAIL:
        template.subject, template.html_body = subject, html_body
        template.text_body = text_body if text_body.strip() else ""
    else:
        template.body = body.replace("\r\n", "\n")  # browsers send CRLF; an SMS counts each


def save_template(template: MessageTemplate | None, *, kind: str, name: str, language: str,
                  subject: str = "", html_body: str = "", text_body: str = "",
                  body: str = "") -> MessageTemplate:
    """Create or update a template; refuses unknown merge fields and syntax errors with their
    line. An empty text body is generated from the HTML when the email is rendered."""
    kind = template.kind if template else kind
    if kind not in set(TemplateKind):
        raise TemplateInvalid({"kind": [_("Choose email or SMS.")]})
    name, subject = (name or "").strip(), (subject or "").strip()
    errors = _problems(kind=kind, name=name, language=language, subject=subject,
                       html_body=html_body, text_body=text_body, body=body)
    if template is not None and "language" not in errors \
            and language in {v.language for v in versions_of(template)}:
        errors["language"] = [_language_taken(language)]
    if errors:
        raise TemplateInvalid(errors)

    created = template is None
    if created:
        template = MessageTemplate(kind=kind)
        db.session.add(template)
    template.name, template.language = name, language
    _fill(template, kind, subject, html_body, text_body, body)
    if not created:  # its versions are known by its name
        db.session.execute(update(MessageTemplate).where(
            MessageTemplate.translation_of_id == template.id).values(name=name)
            .execution_options(synchronize_session=False))
    audit.record("template.created" if created else "template.saved", template.name, kind=kind)
    db.session.commit()
    return template


def versions_of(template: MessageTemplate) -> list[MessageTemplate]:
    """A template's versions in other languages, in the order of the language list."""
    order = {code: i for i, (code, __) in enumerate(LANGUAGES)}
    found = db.session.execute(select(MessageTemplate).where(
        MessageTemplate.translation_of_id == template.id)).scalars().all()
    return sorted(found, key=lambda v: (order.get(v.language, len(order)), v.id))


def main_of(template: MessageTemplate) -> MessageTemplate:
    """The template steps pick: itself, or the one a version belongs to."""
    if template.translation_of_id is None:
        return template
    return db.session.execute(select(MessageTemplate).where(
        MessageTemplate.id == template.translation_of_id)).scalar_one()


def languages_of(template: MessageTemplate, versions=None) -> list[str]:
    """The languages a template speaks: its own, then its versions'."""
    versions = versions_of(template) if versions is None else versions
    return [template.language, *(v.language for v in versions)]


def unused_languages(template: MessageTemplate) -> list[str]:
    """The languages a new version of the template may be written in."""
    used = set(languages_of(template))
    return [code for code, __ in LANGUAGES if code not in used]


def save_version(main: MessageTemplate, version: MessageTemplate | None, *, language: str,
                 subject: str = "", html_body: str = "", text_body: str = "",
                 body: str = "") -> MessageTemplate:
    """Create or update a version of `main` in another language: the same checks as the
    template (merge fields with their line, render limits), and one version per language."""
    if main.translation_of_id is not None:
        raise ServiceError(_("A version belongs to a template, not to another version."))
    subject = (subject or "").strip()
    errors = _problems(kind=main.kind, name=main.name, language=language, subject=subject,
                       html_body=html_body, text_body=text_body, body=body)
    taken = {main.language} | {v.language for v in versions_of(main)
                               if version is None or v.id != version.id}
    if "language" not in errors and language in taken:
        errors["language"] = [_language_taken(language)]
    if errors:
        raise TemplateInvalid(errors)
    created = version is None
    if created:
        version = MessageTemplate(kind=main.kind, translation_of_id=main.id)
        db.session.add(version)
    version.name, version.language = main.name, language
    _fill(version, main.kind, subject, html_body, text_body, body)
    audit.record("template.created" if created else "template.saved", main.name,
                 kind=main.kind, version_of=main.id, language=language)
    try:
        db.session.commit()
    except IntegrityError:  # another request added this language meanwhile
        db.session.rollback()
        raise TemplateInvalid({"language": [_language_taken(language)]}) from None
    return version


def delete_template(template: MessageTemplate) -> None:
    """A version is deleted alone; a template with its versions (unless an active sequence
    uses it)."""
    if template.translation_of_id is not None:
        audit.record("template.deleted", template.name, kind=template.kind,
                     version_of=template.translation_of_id, language=template.language)
        db.session.delete(template)
        db.session.commit()
        return
    reason = template_in_use(template.id)
    if reason:
        raise ServiceError(reason)
    audit.record("template.deleted", template.name, kind=template.kind)
    db.session.execute(delete(MessageTemplate).where(
        MessageTemplate.translation_of_id == template.id)
        .execution_options(synchronize_session=False))
    db.session.delete(template)
    db.session.commit()


def _base(code: str | None) -> str:
    return str(code or "").strip().replace("_", "-").split("-")[0].lower()


def version_for(template: MessageTemplate | None, language: str | None,
                fallback_language: str | None = None,
                versions: dict[str, MessageTemplate] | None = None) -> MessageTemplate | None:
    """What a record receives of the template a step picks: the version in the record's
    language, else the one in the workspace's language, else the template itself.
    `versions` ({language: version}) spares the query when the caller has them."""
    if template is None or template.translation_of_id is not None:
        return template
    if versions is None:
        versions = {v.language: v for v in versions_of(template)}
    for code in (_base(language), _base(fallback_language)):
        if not code:
            continue
        if code == template.language:
            return template
        if code in versions:
            return versions[code]
    return template


def picker_choices(kind: str) -> list[tuple[int, str]]:
    """The templates a step may pick (versions are not separate entries), each with the
    languages it speaks: (id, "Trade show intro · English, Français")."""
    mains = db.session.execute(select(MessageTemplate).where(
        MessageTemplate.kind == kind, MessageTemplate.translation_of_id.is_(None))
        .order_by(MessageTemplate.name, MessageTemplate.id)).scalars().all()
    spoken = languages_by_template(mains)
    return [(t.id, f"{t.name} · {', '.join(language_name(c) for c in spoken[t.id])}")
            for t in mains]


def languages_by_template(mains) -> dict[int, list[str]]:
    """{template id: its languages, its own first} for many templates in one query."""
    order = {code: i for i, (code, __) in enumerate(LANGUAGES)}
    spoken = {t.id: [t.language] for t in mains}
    if spoken:
        rows = db.session.execute(select(MessageTemplate.translation_of_id,
                                         MessageTemplate.language).where(
            MessageTemplate.translation_of_id.in_(spoken))).all()
        for main_id, code in sorted(rows, key=lambda r: order.get(r[1], len(order))):
            spoken[main_id].append(code)
    return spoken


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
