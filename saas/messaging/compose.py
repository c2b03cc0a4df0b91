"""Rendering sequence messages for their recipients, many at a time: each message from its
template (sandboxed, `saas.messaging.rendering`) with the record's values, then the tracking
(open pixel, rewritten links, unsubscribe link and List-Unsubscribe headers, signed Reply-To).

Everything a batch needs from the database (sellers, custom field keys, the tenant) is loaded
once per batch; composing a message itself reads nothing."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache

from sqlalchemy import or_, select

from saas.auth.models import User
from saas.extensions import db
from saas.i18n import N_
from saas.messaging import rendering
from saas.messaging.config import MessagingConfig
from saas.messaging.tracking import Tracker
from saas.records.models import Record
from saas.templates_.models import MessageTemplate, TemplateKind
from saas.templates_.services import custom_keys, record_values, version_for


@dataclass
class Outgoing:
    step_run_id: int
    channel: str  # email | sms
    to: str
    subject: str = ""
    html: str = ""
    text: str = ""
    body: str = ""
    from_address: str = ""
    from_name: str = ""
    reply_to: str | None = None
    headers: dict = field(default_factory=dict)
    custom_args: dict = field(default_factory=dict)
    categories: list = field(default_factory=list)


@lru_cache(maxsize=256)
def _text_source(html_source: str) -> str | None:
    """The plain-text version of an HTML template, made once as a template itself (the merge
    tags pass through the conversion), so each message renders text instead of parsing its
    HTML again. None when the conversion does not leave a valid template."""
    source = rendering.html_to_text(html_source)
    try:
        rendering.render_text(source, rendering.build_context({}))
    except rendering.RenderError:
        return None
    return source


class ComposeError(ValueError):
    """This message cannot be made (no template, no address, a template that fails). Its
    message is English (stored on the failed run) and translated where it is shown."""


class Composer:
    def __init__(self, config: MessagingConfig):
        self.config = config
        self.tracker = Tracker(config.tenant_id, config.tenant_slug, config.inbound_domain)
        self.custom_keys = custom_keys()
        self.sellers: dict[int, dict] = {}
        self.versions: dict[int, dict[str, MessageTemplate]] = {}  # template id: {language: v}

    def version(self, template: MessageTemplate, record: Record) -> MessageTemplate:
        """The template's version in the record's language, else the workspace's, else the
        template itself; each template's versions are read once per batch."""
        if template.id not in self.versions:
            self.versions[template.id] = {v.language: v for v in db.session.execute(
                select(MessageTemplate).where(
                    MessageTemplate.translation_of_id == template.id)).scalars()}
        return version_for(template, record.language, self.config.tenant_language,
                           self.versions[template.id])

    def load_templates(self, template_ids) -> dict[int, MessageTemplate]:
        """{id: template} of these templates, their versions in other languages read in the
        same statement (kept for `version`)."""
        wanted = {t for t in template_ids if t}
        if not wanted:
            return {}
        rows = db.session.execute(select(MessageTemplate).where(or_(
            MessageTemplate.id.in_(wanted),
            MessageTemplate.translation_of_id.in_(wanted)))).scalars().all()
        found = {t.id: t for t in rows if t.id in wanted}
        for template_id in found:
            self.versions[template_id] = {}
        for t in rows:
            if t.translation_of_id in found:
                self.versions[t.translation_of_id][t.language] = t
        return found

    def load_sellers(self, user_ids) -> None:
        wanted = {u for u in user_ids if u and u not in self.sellers}
        if wanted:
            for user in db.session.execute(select(User.id, User.name, User.email).where(
                    User.id.in_(wanted))):
                self.sellers[user.id] = {"name": user.name, "email": user.email}

    def _context(self, record: Record, unsubscribe_url: str, seller_id: int | None) -> dict:
        """The enrollment's seller (else the record's owner) signs the message."""
        return rendering.build_context(
            record_values(record), seller=self.sellers.get(seller_id or record.owner_id),
            tenant_name=self.config.tenant_name, unsubscribe_url=unsubscribe_url,
            custom_keys=self.custom_keys)

    def compose(self, *, step_run_id: int, channel: str, record: Record | None,
                template: MessageTemplate | None, seller_id: int | None,
                sequence_id: int, sender: str | None = None) -> Outgoing:
        """`sender`: the from-address the claim chose (a seller's pool), else the seller's."""
        if record is None:
            raise ComposeError(N_("The record no longer exists."))
        if template is None:
            raise ComposeError(N_("The step has no template (or it was deleted)."))
        template = self.version(template, record)
        if channel == "sms":
            if template.kind != TemplateKind.SMS:
                raise ComposeError(N_("“%(name)s” is not an SMS template.")
                                   % {"name": template.name})
            if not record.phone:
                raise ComposeError(N_("The record has no phone number."))
            body = rendering.render_text(template.body, self._context(record, "", seller_id),
                                         sms=True)
            if not body.strip():
                raise ComposeError(N_("The message is empty once rendered."))
            return Outgoing(step_run_id, "sms", record.phone, body=body)
        if template.kind != TemplateKind.EMAIL:
            raise ComposeError(N_("“%(name)s” is not an email template.")
                               % {"name": template.name})
        if not record.email:
            raise ComposeError(N_("The record has no email address."))
        unsubscribe = self.tracker.unsubscribe_url(step_run_id, record.email)
        context = self._context(record, unsubscribe, seller_id)
        html = rendering.render_html(template.html_body, context)
        text_source = template.text_body if (template.text_body or "").strip() \
            else _text_source(template.html_body)
        text = rendering.render_text(text_source, context) if text_source is not None \
            else rendering.html_to_text(html)
        subject = " ".join(rendering.render_text(template.subject, context).split())
        # The footer speaks the record's language (else the workspace's), as its version does.
        tracked = self.tracker.apply(step_run_id, record.email, html, text, unsubscribe,
                                     language=record.language,
                                     fallback_language=self.config.tenant_language)
        from_address, from_name = self.config.sender_for(seller_id)
        if sender and sender != from_address.lower():
            from_address = sender
        return Outgoing(
            step_run_id, "email", record.email, subject=subject, html=tracked.html,
            text=tracked.text, from_address=from_address, from_name=from_name,
            reply_to=tracked.reply_to, headers=tracked.headers,
            custom_args={"step_run_id": str(step_run_id),
                         "tenant_id": str(self.config.tenant_id)},
            categories=[f"sequence:{sequence_id}"])
