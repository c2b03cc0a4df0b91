"""Stop the whole account (issue 20): with the sequence setting on, when one person of a company
replies or unsubscribes, the others of that company running in the same sequence exit too (same
company name for leads, same email domain for any record, never a free-mail domain)."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from saas.engine.accounts import account_domain, is_free_mail
from saas.engine.connect import connect_record
from saas.engine.models import Enrollment, StepRun
from saas.engine.reasons import exit_reason_label
from saas.engine.services import pause
from saas.extensions import db
from saas.i18n import force_locale
from saas.messaging import events, tracking
from saas.messaging.suppression import is_suppressed
from tests.engine.factories import build_sequence
from tests.engine.test_advance import EMAIL, TASK, enrollment, open_run, record

ON = {"stop_account": True}


def _add(world, people, record_type="lead"):
    """Records from (company, email) pairs."""
    return world.add(len(people), record_type=record_type,
                     company=lambda i: people[i][0], email=lambda i: people[i][1])


def _run(record_ids, settings, name="Follow-up", record_type="lead"):
    sequence = build_sequence([EMAIL, TASK], name=name, settings=settings,
                              record_type=record_type)
    ids = [connect_record(record(rid), sequence.lineage_id).id for rid in record_ids]
    db.session.commit()
    return ids


def _reply(enrollment_id):
    """A reply recorded as the inbound webhook records it, on the person's email."""
    run = open_run(enrollment_id)
    assert events.record(kind="reply", provider="sendgrid", step_run_id=run.id,
                         provider_event_id=f"reply:{run.id}")
    db.session.commit()


def _states(enrollment_ids):
    return [(e.status, e.exit_reason) for e in (enrollment(i) for i in enrollment_ids)]


def _live_runs(enrollment_ids):
    return db.session.execute(select(StepRun.enrollment_id).where(
        StepRun.enrollment_id.in_(enrollment_ids),
        StepRun.status.in_(("open", "waiting", "pending")))).scalars().all()


GONE = ("exited", "account_replied")
RUNS = ("active", None)


def test_a_reply_stops_the_others_at_the_company(world):
    ids = _add(world, [("Acme Corp", "ann@acme.com"), ("  ACME corp", "bob@Acme.com"),
                       ("acmecorp", "cat@acme-group.fr"),     # same company, other domain
                       ("Globex", "dan@globex.com"),          # a stranger
                       ("", "eve@acme.com")])                 # no company, same domain
    with world.inside():
        ann, bob, cat, dan, eve = _run(ids, ON)
        pause(enrollment(bob))
        db.session.commit()
        _reply(ann)
        assert _states([ann, bob, cat, dan, eve]) == [("exited", "replied"), GONE, GONE,
                                                      RUNS, GONE]
        assert _live_runs([ann, bob, cat, eve]) == []  # off the worklist, no send to come
        assert exit_reason_label("account_replied") == "another person at the company replied"
        with force_locale("fr"):
            assert exit_reason_label("account_replied") == \
                "une autre personne de l’entreprise a répondu"


@pytest.mark.parametrize("settings", [{}, {"stop_account": False}])
def test_with_the_setting_off_the_others_keep_running(world, settings):
    ids = _add(world, [("Acme", "ann@acme.com"), ("Acme", "bob@acme.com"),
                       ("Acme", "cat@acme.fr")])
    with world.inside():
        ann, bob, cat = _run(ids, settings)
        _reply(ann)
        assert _states([ann, bob, cat]) == [("exited", "replied"), RUNS, RUNS]


def test_a_free_mail_domain_never_groups_strangers(world):
    ids = _add(world, [("", "ann.smith@gmail.com"), ("Initech", "bob.jones@gmail.com"),
                       ("", "cat@yahoo.co.uk"), ("", "dan@hotmail.fr"),
                       ("", "eve@googlemail.com")])
    with world.inside():
        ann, *others = _run(ids, ON)
        _reply(ann)
        assert _states([ann, *others]) == [("exited", "replied")] + [RUNS] * 4
        cat = others[1]
        _reply(cat)  # yahoo.co.uk: another free-mail domain, a stranger too
        assert _states(others) == [RUNS, ("exited", "replied"), RUNS, RUNS]


def test_the_free_mail_list(app):
    with app.app_context():
        for domain in ("gmail.com", "yahoo.fr", "yahoo.com.br", "hotmail.co.uk", "live.fr",
                       "orange.fr", "wanadoo.fr", "free.fr", "laposte.net", "gmx.de",
                       "web.de", "proton.me", "icloud.com", "yandex.ru", "mail.ru", "GMAIL.COM"):
            assert is_free_mail(domain), domain
        for domain in ("acme.com", "live.acme.com", "yahoo-inc.com", "freedom.fr",
                       "orange-business.com"):
            assert not is_free_mail(domain), domain
        assert account_domain("Bob@Acme.COM") == "acme.com"
        assert account_domain("bob@gmail.com") is None and account_domain(None) is None
        assert account_domain("not an address") is None


def test_an_unsubscribe_stops_the_account_too(app, client, world):
    ids = _add(world, [("Acme", "ann@acme.com"), ("ACME", "bob@acme.com"),
                       ("Acme", "cat@acme.de"), ("Umbrella", "dan@umbrella.com")])
    with world.inside():
        ann, bob, cat, dan = _run(ids, ON)
        run_id = open_run(ann).id
        token = tracking.make(tracking.UNSUBSCRIBE, world.tenant.id, run_id, "ann@acme.com")
    # The one-click unsubscribe of the email's List-Unsubscribe header (RFC 8058).
    response = client.post(f"/{world.tenant.slug}/t/u/{token}?a=ann@acme.com",
                           data={"List-Unsubscribe": "One-Click"})
    assert response.status_code == 200
    with world.inside():
        assert _states([ann, bob, cat, dan]) == [
            ("exited", "unsubscribed"), ("exited", "account_unsubscribed"),
            ("exited", "account_unsubscribed"), RUNS]
        # The colleagues leave the sequence; only the person who asked is suppressed.
        assert is_suppressed("ann@acme.com") and not is_suppressed("bob@acme.com")
        with force_locale("fr"):
            assert exit_reason_label("account_unsubscribed") == \
                "une autre personne de l’entreprise s’est désabonnée"


def test_a_spam_report_suppression_stops_the_account(world):
    ids = _add(world, [("Acme", "ann@acme.com"), ("Acme", "bob@acme.com")])
    with world.inside():
        ann, bob = _run(ids, ON)
        assert events.record(kind="spamreport", provider="sendgrid", address="ann@acme.com",
                             provider_event_id="spam:1", step_run_id=open_run(ann).id)
        db.session.commit()
        assert _states([ann, bob]) == [("exited", "unsubscribed"),
                                       ("exited", "account_unsubscribed")]


def test_the_same_company_in_another_sequence_keeps_running(world):
    ids = _add(world, [("Acme", "ann@acme.com"), ("Acme", "bob@acme.com"),
                       ("Acme", "cat@acme.com")])
    with world.inside():
        ann, bob = _run(ids[:2], ON, name="Trade show")
        bob_elsewhere, cat_elsewhere = _run(ids[1:], ON, name="Nurture")
        _reply(ann)
        assert _states([ann, bob, bob_elsewhere, cat_elsewhere]) == [
            ("exited", "replied"), GONE, RUNS, RUNS]


def test_an_opportunity_groups_by_email_domain(app, make_tenant, make_user, add_records):
    from saas.auth.models import Role
    from saas.tenancy import tenant_context

    tenant = make_tenant("deals", opportunities=True)
    seller = make_user(tenant, roles=[Role.SELLER])
    people = [("Acme", "ann@acme.com"), ("Acme Holdings", "bob@acme.com"),
              ("Acme", "cat@acme.org"), ("Acme", "dan@gmail.com")]
    ids = add_records(tenant, len(people), record_type="opportunity", owner_id=seller.id,
                      company=lambda i: people[i][0], email=lambda i: people[i][1])
    with app.app_context(), tenant_context(tenant.id):
        ann, bob, cat, dan = _run(ids, ON, record_type="opportunity")
        _reply(ann)
        # The same domain groups; the same company name alone does not, for opportunities.
        assert _states([ann, bob, cat, dan]) == [("exited", "replied"), GONE, RUNS, RUNS]
        db.session.rollback()
        db.session.remove()


def test_a_second_reply_of_the_account_changes_nothing_more(world):
    ids = _add(world, [("Acme", "ann@acme.com"), ("Acme", "bob@acme.com")])
    with world.inside():
        ann, bob = _run(ids, ON)
        run_id = open_run(bob).id
        _reply(ann)
        # Bob replies to the email he got before he left: his enrollment has ended already.
        assert events.record(kind="reply", provider="sendgrid", step_run_id=run_id,
                             provider_event_id=f"reply:{run_id}")
        db.session.commit()
        assert _states([ann, bob]) == [("exited", "replied"), GONE]
        assert db.session.execute(select(Enrollment.id).where(
            Enrollment.status == "active")).first() is None
