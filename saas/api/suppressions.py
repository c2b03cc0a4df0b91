"""The suppression list over the API: addresses no sequence may contact again. Adding and
removing go through the service of Settings > Messaging > Suppression list."""

from __future__ import annotations

from flask import Response
from sqlalchemy import select

from saas.api.problems import invalid
from saas.api.records import ID, NOT_FOUND, PROBLEM, WHEN
from saas.api.sequences import READERS
from saas.api.spec import (
    AFTER,
    LIMIT,
    MANAGERS,
    Param,
    component,
    cursor,
    operation,
    page_of,
    parse_body,
    ref,
    text,
)
from saas.extensions import db
from saas.i18n import _l
from saas.messaging import settings_service
from saas.messaging.models import Suppression
from saas.messaging.suppression import REASONS
from saas.tenancy import get_or_404
from saas.web.pagination import keyset_page

_FIELDS = {"id": ID, "address": {"type": "string"},
           "channel": {"type": "string", "enum": ["email", "sms"]},
           "reason": {"type": "string", "description": ", ".join(REASONS)},
           "created_at": WHEN}
SUPPRESSION = component("Suppression", {
    "type": "object", "required": list(_FIELDS), "properties": _FIELDS})
component("SuppressionAdd", {
    "type": "object", "additionalProperties": False, "required": ["address"],
    "properties": {"address": text(254, description=_l("An email, or a phone number in "
                                                       "international format (+33…)."))}})


def suppression_json(entry: Suppression) -> dict:
    return {"id": entry.id, "address": entry.address, "channel": entry.channel,
            "reason": entry.reason, "created_at": entry.created_at}


@operation("GET", "/suppressions", summary=_l("List the suppression list"), tag="Suppressions",
           allow=READERS, query=(
               Param("q", {"type": "string", "maxLength": 254}, _l("Part of an address.")),
               LIMIT, AFTER),
           description=_l("Newest first."),
           responses={200: (_l("A page of suppressed addresses."), page_of(SUPPRESSION))})
def list_suppressions(query: dict):
    cursor(query["after"], [Suppression.id])
    stmt = select(Suppression)
    if query["q"]:
        stmt = stmt.where(Suppression.address.contains(query["q"].lower(), autoescape=True))
    page = keyset_page(stmt, [Suppression.id], query["after"], descending=True,
                       limit=query["limit"], cursor_of=lambda s: (s.id,))
    return {"data": [suppression_json(s) for s in page.items], "next_cursor": page.next_after}


@operation("POST", "/suppressions", summary=_l("Add an address to the suppression list"),
           tag="Suppressions", allow=MANAGERS, body=ref("SuppressionAdd"),
           description=_l("No sequence of the organization contacts it again (reason `manual`)."),
           responses={201: (_l("Added."), SUPPRESSION),
                      422: (_l("Not an email or phone number, or already on the list."),
                            PROBLEM)})
def add_suppression():
    body = parse_body("SuppressionAdd")
    try:
        address = settings_service.add_suppression(body["address"])
    except settings_service.SettingsInvalid as refused:
        raise invalid({key: " ".join(str(m) for m in messages) if isinstance(messages, list)
                       else str(messages) for key, messages in refused.errors.items()}) from None
    entry = db.session.execute(select(Suppression).where(
        Suppression.address == address)).scalar_one()
    return suppression_json(entry), 201


@operation("DELETE", "/suppressions/{suppression_id}", summary=_l("Remove a suppressed address"),
           tag="Suppressions", allow=MANAGERS,
           description=_l("Sequences may contact it again."),
           responses={204: (_l("Removed."), None), 404: NOT_FOUND[1]})
def remove_suppression(suppression_id: int):
    settings_service.remove_suppression(get_or_404(Suppression, suppression_id))
    return Response(status=204)
