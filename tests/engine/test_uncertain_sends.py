"""Uncertain sends in a manager's hands: without an event source an `unknown` send is never resent
by itself; managers find it (the Connected records filter, the count on Home) and decide:
"Resend" (pending again, due now) or "Mark as sent" (the connection moves on)."""

from __future__ import annotations

import re
from datetime import timedelta

from sqlalchemy import select, update

from saas.auth.models import Role
from saas.engine import clock, uncertain
from saas.engine.connect import connect_many
from saas.engine.lifecycle import end_enrollments
from saas.engine.models import Enrollment, StepRun
from saas.extensions import db
from saas.sequences.models import Step
from saas.templates_.models import MessageTemplate
from saas.timeutil import aware
from tests.engine.factories import build_sequence

REASON = "The provider did not answer in time: the message may have left."


def _uncertain_world(world, n: int = 2, name: str = "Trade show follow-up") -> dict:
    """`n` leads connected to an automated email then a call; the first lead's email send is
    `unknown` (as a timed-out provider call leaves it), the others still pending."""
    ids = world.add(n, first_name=lambda i: ["Ana", "Ben", "Cid"][i],
                    last_name=lambda i: ["Lima", "Ode", "Roy"][i],
                    email=lambda i: f"{name.split()[0].lower()}{i}@example.com")
    with world.inside():
        template = MessageTemplate(kind="email", name=f"Hello from {name}",
                                   subject="Hi {{ record.first_name }}",
                                   html_body="<p>Hello</p>", text_body="Hello")
        db.session.add(template)
        db.session.flush()
        sequence = build_sequence(
            [{"type": "auto_email", "name": "Welcome email",
              "config": {"template_id": template.id}},
             {"type": "call", "name": "Intro call"}], name=name)
        connect_many(ids, sequence.lineage_id)
        attempted = clock.now() - timedelta(minutes=5)
        run_id = db.session.execute(select(StepRun.id).where(
            StepRun.record_id == ids[0])).scalar_one()
        db.session.execute(update(StepRun).where(StepRun.id == run_id).values(
            status="unknown", started_at=attempted, completed_at=attempted + timedelta(seconds=30),
            attempts=1, error=REASON))
        db.session.commit()
        return {"lineage": sequence.lineage_id, "run": run_id, "records": ids}


def _run(world, run_id: int) -> StepRun:
    with world.inside():
        run = db.session.execute(select(StepRun).where(StepRun.id == run_id)).scalar_one()
        db.session.expunge(run)
        return run


def _text(html: str, element_id: str, end: str = "</a>") -> str:
    block = html.split(f'id="{element_id}"')[1].split(end)[0]
    return " ".join(re.sub(r"<[^>]+>", " ", block).split())


def _settle(client, run_id: int, action: str):
    return client.post(f"/acme/step-runs/{run_id}/uncertain", data={"action": action},
                       follow_redirects=True)


def test_the_filter_lists_uncertain_sends_with_their_count(world, login, client):
    made = _uncertain_world(world)
    login(client, world.manager)
    html = client.get(f"/acme/sequences/{made['lineage']}/connected?status=uncertain").text
    assert "Uncertain sends (1)" in _text(html, "filter-uncertain")
    assert 'aria-current="page" id="filter-uncertain"' in html
    row = _text(html, f"uncertain-{made['run']}", "</li>")
    assert "Ana Lima" in row and "Welcome email" in row and REASON in row
    assert "Resend" in row and "Mark as sent" in row
    assert "Ben Ode" not in html.split('id="uncertain-sends"')[1]  # still pending: not listed
    assert ('data-confirm="Send this message again? If the first one did reach the recipient, '
            'they get it twice."') in html
    base = f"/acme/sequences/{made['lineage']}/connected?status=uncertain"
    assert f"uncertain-{made['run']}" in client.get(f"{base}&q=lima").text
    assert "No uncertain send for a record matching “ode”." in client.get(f"{base}&q=ode").text
    assert f"uncertain-{made['run']}" in client.get(f"{base}&after=forged").text
    unassigned = client.get(f"/acme/sequences/{made['lineage']}/connected?status=unassigned")
    assert 'aria-current="page" id="filter-unassigned"' in unassigned.text  # still a filter
    all_records = client.get(f"/acme/sequences/{made['lineage']}/connected").text
    assert "Uncertain sends (1)" in all_records and "Ben Ode" in all_records


def test_mark_as_sent_moves_the_connection_on_and_a_second_click_changes_nothing(world, login,
                                                                                client):
    made = _uncertain_world(world)
    login(client, world.manager)
    page = _settle(client, made["run"], "sent")
    assert "Marked as sent; the connection moves on to its next step." in page.text
    assert "No uncertain sends: every automated message's outcome is known." in page.text
    assert "Uncertain sends (0)" in page.text
    assert _run(world, made["run"]).status == "sent"
    with world.inside():
        enrollment = db.session.execute(select(Enrollment).where(
            Enrollment.record_id == made["records"][0])).scalar_one()
        step = db.session.execute(select(Step.name).where(
            Step.id == enrollment.current_step_id)).scalar_one()
        next_run = db.session.execute(select(StepRun.status).where(
            StepRun.enrollment_id == enrollment.id, StepRun.step_type == "call")).scalar_one()
        assert (enrollment.status, step, next_run) == ("active", "Intro call", "open")

    again = _settle(client, made["run"], "sent")
    assert "This send was already settled; nothing changed." in again.text
    assert _run(world, made["run"]).status == "sent"


def test_resend_makes_the_run_pending_now_once(world, login, client):
    made = _uncertain_world(world)
    login(client, world.manager)
    page = _settle(client, made["run"], "resend")
    assert "The message will be sent again shortly." in page.text
    run = _run(world, made["run"])
    assert run.status == "pending" and run.completed_at is None
    assert aware(run.due_at) <= clock.now()
    assert "This send was already settled" in _settle(client, made["run"], "resend").text
    assert "This send was already settled" in _settle(client, made["run"], "sent").text
    assert _run(world, made["run"]).status == "pending"


def test_an_ended_connection_can_be_marked_sent_but_never_resent(world, login, client):
    made = _uncertain_world(world)
    with world.inside():
        enrollment_id = _run(world, made["run"]).enrollment_id
        end_enrollments([enrollment_id], "disconnected")
        db.session.commit()
    login(client, world.manager)
    html = client.get(f"/acme/sequences/{made['lineage']}/connected?status=uncertain").text
    row = _text(html, f"uncertain-{made['run']}", "</li>")
    assert "Disconnected" in row and "Mark as sent" in row and "Resend" not in row
    assert "This connection has ended: the message cannot be sent again." in row
    refused = _settle(client, made["run"], "resend")
    assert "This connection has ended, so its message cannot be sent again" in refused.text
    assert _run(world, made["run"]).status == "unknown"
    assert "Marked as sent" in _settle(client, made["run"], "sent").text
    assert _run(world, made["run"]).status == "sent"


def test_a_bad_action_changes_nothing(world, login, client):
    made = _uncertain_world(world)
    login(client, world.manager)
    page = _settle(client, made["run"], "delete")
    assert "Choose “Resend” or “Mark as sent”; nothing changed." in page.text
    assert _run(world, made["run"]).status == "unknown"


def test_only_this_tenants_managers_decide(world, login, client, app, make_tenant, make_user):
    made = _uncertain_world(world)
    login(client, world.seller)
    assert client.post(f"/acme/step-runs/{made['run']}/uncertain",
                       data={"action": "sent"}).status_code in (403, 404)
    assert client.get(f"/acme/sequences/{made['lineage']}/connected?status=uncertain"
                      ).status_code in (403, 404)
    other = make_tenant("globex")
    stranger = make_user(other, roles=[Role.SEQUENCE_MANAGER])
    outsider = app.test_client()
    login(outsider, stranger)
    assert outsider.post(f"/globex/step-runs/{made['run']}/uncertain",
                         data={"action": "sent"}).status_code == 404
    assert _run(world, made["run"]).status == "unknown"


def test_home_counts_uncertain_sends_and_links_to_the_sequence_with_most(world, login, client):
    _uncertain_world(world, 1, name="Quiet one")
    made = _uncertain_world(world, 3)
    with world.inside():
        db.session.execute(update(StepRun).where(StepRun.record_id == made["records"][1])
                           .values(status="unknown", completed_at=clock.now(), error=REASON))
        db.session.commit()
    login(client, world.manager)
    html = client.get("/acme/").text
    card = _text(html, "home-uncertain")
    assert "3 uncertain sends to check." in card and "Most in “Trade show follow-up”" in card
    assert f'href="/acme/sequences/{made["lineage"]}/connected?status=uncertain"' in html
    _settle(client, made["run"], "sent")
    assert "2 uncertain sends to check." in _text(client.get("/acme/").text, "home-uncertain")


def test_the_service_leaves_a_decided_run_alone(world):
    made = _uncertain_world(world)
    with world.inside():
        assert uncertain.resolve_unknown(made["run"], "sent") is True
        assert uncertain.resolve_unknown(made["run"], "resend") is False
        assert db.session.execute(select(StepRun.status).where(
            StepRun.id == made["run"])).scalar_one() == "sent"


def test_the_count_and_the_list_use_the_partial_index(world):
    made = _uncertain_world(world)
    with world.inside():
        db.session.execute(update(StepRun).where(StepRun.status == "unknown").values(
            completed_at=clock.now()))
        from saas.engine import queries

        stmt = queries._uncertain_runs(made["lineage"]).with_only_columns(StepRun.id).where(
            StepRun.tenant_id == world.tenant.id)
        compiled = stmt.compile(db.engine, compile_kwargs={"literal_binds": True})
        db.session.execute(db.text("SET LOCAL enable_seqscan = off"))
        plan = "\n".join(db.session.execute(db.text(f"EXPLAIN {compiled}")).scalars())
    assert "ix_step_run_unknown" in plan, plan
