"""Message templates over the API: emails and text messages, each with its versions in other
languages (the versions a record speaking that language gets)."""

from __future__ import annotations

from sqlalchemy import select

from saas.api.records import ID, WHEN
from saas.api.sequences import READERS
from saas.api.spec import AFTER, LIMIT, Param, component, cursor, operation, page_of
from saas.extensions import db
from saas.i18n import _l
from saas.templates_.models import LANGUAGES, MessageTemplate, TemplateKind
from saas.web.pagination import keyset_page

_CONTENT = {"language": {"type": "string", "description": "en, fr, de…"},
            "subject": {"type": "string", "description": _l("Emails only (empty for SMS).")},
            "html_body": {"type": "string"}, "text_body": {"type": "string"},
            "body": {"type": "string", "description": _l("SMS only (empty for emails).")},
            "updated_at": WHEN}
_VERSION = {"type": "object", "required": ["id", *_CONTENT],
            "properties": {"id": ID, **_CONTENT}}
_TEMPLATE_FIELDS = {"id": ID, "kind": {"type": "string", "enum": [k.value for k in TemplateKind]},
                    "name": {"type": "string"}, **_CONTENT, "created_at": WHEN,
                    "versions": {"type": "array", "items": _VERSION,
                                 "description": _l("The same message in other languages.")}}
TEMPLATE = component("MessageTemplate", {
    "type": "object", "required": list(_TEMPLATE_FIELDS), "properties": _TEMPLATE_FIELDS})


def _content(template: MessageTemplate) -> dict:
    return {"id": template.id, "language": template.language or "",
            "subject": template.subject or "", "html_body": template.html_body or "",
            "text_body": template.text_body or "", "body": template.body or "",
            "updated_at": template.updated_at}


@operation("GET", "/templates", summary=_l("List message templates"), tag="Templates",
           allow=READERS, sequences=True, query=(
               Param("kind", {"type": "string", "enum": [k.value for k in TemplateKind]}),
               LIMIT, AFTER),
           description=_l("The templates steps pick, by id, each with its language versions."),
           responses={200: (_l("A page of templates."), page_of(TEMPLATE))})
def list_templates(query: dict):
    cursor(query["after"], [MessageTemplate.id])
    stmt = select(MessageTemplate).where(MessageTemplate.translation_of_id.is_(None))
    if query["kind"]:
        stmt = stmt.where(MessageTemplate.kind == query["kind"])
    page = keyset_page(stmt, [MessageTemplate.id], query["after"], limit=query["limit"],
                       cursor_of=lambda t: (t.id,))
    order = {code: i for i, (code, __) in enumerate(LANGUAGES)}
    versions: dict[int, list[MessageTemplate]] = {}
    if page.items:
        for version in db.session.execute(select(MessageTemplate).where(
                MessageTemplate.translation_of_id.in_([t.id for t in page.items]))).scalars():
            versions.setdefault(version.translation_of_id, []).append(version)
    data = []
    for template in page.items:
        mine = sorted(versions.get(template.id, []),
                      key=lambda v: (order.get(v.language, len(order)), v.id))
        data.append({**_content(template), "kind": template.kind, "name": template.name,
                     "created_at": template.created_at,
                     "versions": [_content(v) for v in mine]})
    return {"data": data, "next_cursor": page.next_after}
