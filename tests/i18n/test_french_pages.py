"""Every page in French, with nothing left in English.

A French-speaking workspace (its data typed in French, as its users would) is visited page by
page by an administrator and by a seller whose language is French, and by a visitor whose
browser asks for French. Every text node and every attribute a person reads or hears (title,
aria-label, placeholder, alt, a button's value) is checked for English: a phrase with English
words that French never uses ("the", "your", "records", "Save"...) is a message that escaped
translation. ALLOWED lists the words that are the same in both (product names...).
"""

from __future__ import annotations

import re
from html.parser import HTMLParser

import pytest
from sqlalchemy import select, update

from saas.admin import audit
from saas.admin.models import AuditEvent
from saas.auth.models import Role, Tenant, User
from saas.engine.connect import connect_record
from saas.extensions import db
from saas.messaging.models import OutboxMessage
from saas.segments.models import Segment
from saas.sellers.models import TimeOff
from saas.sequences.models import Step
from saas.tenancy import tenant_context
from saas.timeutil import utcnow
from tests.worklist import factories as f

# Words that only English uses (French has none of them as a word of its own).
ENGLISH = set("""
the and with your you this that from have has will not are was were which when what there
their they who into after before none yet of to for is by it be all any each more than here
save delete cancel edit add show hide new back next previous search filter filters records
record sequences steps step settings users user sign done overdue today later upcoming skip
snooze complete completed connected connect disconnect disconnected assign assigned seller
sellers manager template templates call calls task tasks wait days hours yes name first last
company phone owner created updated leads opportunities opportunity draft
close open send sent reply replied email emails waiting running paused ended select choose
remove change password profile language time zone help import imports export analytics
worklist home log out field fields value values rule rules system workspace
""".split())
# Shared by both languages, names, or fine in a French page.
ALLOWED = set("""
sendgrid twilio dynamics microsoft csv json html sms url api ok id utc iana e164 a/b
""".split())
WORD = re.compile(r"[^\W\d_][\w'’-]*")
ADDRESS = re.compile(r"\S+@\S+|https?://\S+|/\S+")  # addresses and paths are data
READ_ATTRIBUTES = {"title", "aria-label", "placeholder", "alt", "aria-description"}
SKIP_TAGS = {"script", "style", "code", "pre", "textarea", "svg"}


class _Text(HTMLParser):
    """The texts a person reads on a page: text nodes and the attributes read out. Every part
    counts, even one marked lang="en" (no page of ours is partly in English, not even the API
    reference: its operations are described in the reader's language)."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.texts: list[str] = []
        self._skip = 0

    def handle_starttag(self, tag, attrs):
        values = dict(attrs)
        if tag in SKIP_TAGS:
            self._skip += 1
        for name, value in attrs:
            if value and (name in READ_ATTRIBUTES or (
                    name == "value" and tag == "input"
                    and values.get("type") in {"submit", "button"})):
                self.texts.append(value)

    def handle_endtag(self, tag):
        if tag in SKIP_TAGS and self._skip:
            self._skip -= 1

    def handle_data(self, data):
        if not self._skip and data.strip():
            self.texts.append(data.strip())


def english_in(html: str) -> list[str]:
    parser = _Text()
    parser.feed(html)
    found = []
    for text in parser.texts:
        words = {w.lower().strip("'’-") for w in WORD.findall(ADDRESS.sub(" ", text))}
        if words & ENGLISH - ALLOWED:
            found.append(text[:120])
    return found


def test_english_in_finds_english_and_leaves_french():
    assert english_in("<p>Connected 3 of 3</p>") == ["Connected 3 of 3"]
    assert english_in('<input type="search" placeholder="Search records">')
    assert english_in("<p>Trois enregistrements connectés</p><script>var the = 1</script>") == []
    marked = '<div lang="en"><div><p>List records</p></div><p title="Save">x</p></div>'
    assert english_in(marked + "<p>Enregistrer</p>") == ["List records", "Save"]


def _french_workspace(app, make_tenant, make_user):
    tenant = make_tenant("contoso", name="Contoso Café", opportunities=True)
    admin = make_user(tenant, roles=[Role.SYSTEM_ADMINISTRATOR, Role.SEQUENCE_MANAGER,
                                     Role.SELLER],
                      email="ada@contoso.example", name="Ada Lovelace")
    seller = make_user(tenant, roles=[Role.SELLER], email="sam@contoso.example",
                       name="Samuel Vendeur")
    with app.app_context():
        db.session.execute(update(Tenant).where(Tenant.id == tenant.id).values(language="fr"))
        with tenant_context(tenant.id):
            db.session.execute(update(User).values(language="fr"))
            template = f.email_template(name="Merci du salon",
                                        subject="Merci de votre visite, {{ record.first_name }}",
                                        html="<p>Bonjour {{ record.first_name }}</p>")
            template.language = "fr"
            sms = f.sms_template(name="Petit rappel", body="Bonjour {{ record.first_name }}")
            sms.language = "fr"
            sequence = f.sequence([
                {"type": "email", "name": "E-mail d'introduction",
                 "description": "Remerciez-les de leur visite.",
                 "config": {"template_id": template.id}},
                {"type": "wait", "name": "Attendre une heure", "config": {"days": 0, "hours": 1}},
                {"type": "call", "name": "Appel de suivi"},
                {"type": "task", "name": "Envoyer la brochure"}],
                name="Suivi du salon commercial")
            leads = [f.lead(first_name=first, last_name=last, company=company,
                            email=f"{first.lower()}@{company.lower()}.example",
                            lead_source="Trade show", owner_id=seller.id)
                     for first, last, company in [("Anne", "Visiteur", "Fabrikam"),
                                                  ("Bruno", "Dupont", "Northwind")]]
            for lead in leads:
                connect_record(lead, sequence.lineage_id, seller_id=seller.id)
            connect_record(f.lead(first_name="Dora", last_name="Martin", company="Litware"),
                           sequence.lineage_id, seller_id=admin.id)
            draft = f.sequence([{"type": "task", "name": "Préparer la visite"}],
                               name="Brouillon de relance", status="draft")
            f.lead(record_type="opportunity", first_name="Ève", last_name="Durand",
                   company="Adventure Works", status="open")
            segment = Segment(name="Prospects du salon commercial", status="active",
                              record_type="lead",
                              rules={"op": "and", "rules": [{"field": "lead_source",
                                                             "operator": "equals",
                                                             "value": "Trade show"}]})
            db.session.add(segment)
            db.session.add(OutboxMessage(purpose="invitation", to_address="new@contoso.example",
                                         from_address="no-reply@example.com",
                                         subject="Votre invitation", text_body="Bienvenue."))
            db.session.add(TimeOff(user_id=seller.id, starts_on=utcnow().date(),
                                   ends_on=utcnow().date(), cover_id=admin.id, note="Congés",
                                   status="planned"))
            db.session.add(AuditEvent(actor_id=admin.id, actor_name=admin.name,
                                      action="user.invited", target="new@contoso.example"))
            # What the log stores in English (counts, the workspace, a job as actor), as the
            # services write it: shown translated.
            for action, target, details in (
                    ("records.deleted", audit.records_target(3), {}),
                    ("sequence.records_paused", audit.records_target(1), {}),
                    ("workspace.published", audit.WORKSPACE, {}),
                    ("licence.changed", "Sales Premium", {"before": audit.NO_LICENCE})):
                db.session.add(AuditEvent(actor_id=None, actor_name=audit.SYSTEM, action=action,
                                          target=target, details=details))
            db.session.commit()
            step_id = db.session.execute(select(Step.id).where(
                Step.sequence_id == sequence.id, Step.name == "Appel de suivi")).scalar_one()
            ids = {"sequence": sequence.id, "draft": draft.id, "step": step_id, "lead": leads[0].id,
                   "segment": segment.id, "template": template.id, "sms": sms.id,
                   "outbox": db.session.execute(select(OutboxMessage.id)).scalar_one(),
                   "seller": seller.id}
    return tenant, admin, seller, ids


def _admin_pages(ids: dict) -> list[str]:
    seq = ids["sequence"]
    return [
        "", "worklist", "leads", "leads/new", "opportunities", "opportunities/new",
        f"records/{ids['lead']}", f"records/{ids['lead']}/edit", "segments", "segments/new",
        f"segments/{ids['segment']}", f"segments/{ids['segment']}/assignment", "templates",
        "templates/new?kind=email", "templates/new?kind=sms", f"templates/{ids['template']}",
        f"templates/{ids['sms']}", "sequences", "sequences/new", f"sequences/{seq}",
        f"sequences/{seq}?step={ids['step']}", f"sequences/{seq}/settings",
        f"sequences/{seq}/connected", "analytics", f"analytics/sequences/{seq}", "imports",
        "imports/new", "settings/users", "settings/users/invite", "settings/licence",
        "settings/workspace", "settings/fields", "settings/audit", "settings/outbox",
        f"settings/outbox/{ids['outbox']}", "settings/messaging",
        "settings/messaging/suppressions", "account/availability", "account/password",
        "sequences/new/details", "sequences/import", f"sequences/{seq}/deactivate",
        f"sequences/{seq}/delete", f"sequences/{ids['draft']}",
        f"sequences/{ids['draft']}/activate", f"sequences/{ids['draft']}?add=root:next:0",
        f"sequences/{ids['draft']}?add=root:next:0&tab=conditions",
        f"sequences/{ids['draft']}?add=root:next:0&tab=commands",
        f"records/{ids['lead']}/upnext", f"sequences/{seq}/connected?status=unassigned",
        "worklist?due=overdue", "sellers/", f"sellers/{ids['seller']}", "settings/api-keys/",
        "settings/calendar", "settings/webhooks", "settings/webhooks/new",
        "settings/messaging/senders",
    ]


SELLER_PAGES = ["worklist", "leads", "account/availability", "account/password"]
PUBLIC_PAGES = ["login", "forgot-password"]
ROOT_PAGES = ["", "signup", "api/v1/docs"]  # outside any workspace
# A part of a page marked as English (lang="en"): none may be, in a French page.
ENGLISH_PART = re.compile(r'<(?:div|section|article|main|table|ul|ol|p|span|nav)\b[^>]*\blang="en')


def _check(client, base: str, paths: list[str], headers=None) -> list[str]:
    problems = []
    for path in paths:
        response = client.get(f"{base}/{path}", headers=headers or {})
        if response.status_code != 200:
            problems.append(f"/{path}: {response.status_code}")
            continue
        html = response.get_data(as_text=True)
        if ENGLISH_PART.search(html):
            problems.append(f"/{path}: a part marked lang=\"en\"")
        for text in english_in(html):
            problems.append(f"/{path}: {text!r}")
    return problems


@pytest.mark.parametrize("who", ["admin", "seller", "visitor"])
def test_every_page_speaks_french(who, app, make_tenant, make_user, login):
    tenant, admin, seller, ids = _french_workspace(app, make_tenant, make_user)
    client = app.test_client()
    base = f"/{tenant.slug}"
    if who == "visitor":
        problems = _check(client, base, PUBLIC_PAGES, {"Accept-Language": "fr-FR,fr;q=0.9"})
        problems += _check(client, "", ROOT_PAGES, {"Accept-Language": "fr-FR,fr;q=0.9"})
    else:
        user = admin if who == "admin" else seller
        assert login(client, user).status_code == 302
        paths = _admin_pages(ids) if who == "admin" else \
            SELLER_PAGES + [f"records/{ids['lead']}", f"sellers/{ids['seller']}"]
        problems = _check(client, base, paths)
    assert not problems, f"{len(problems)} English texts on French pages:\n" + \
        "\n".join(problems[:80])
