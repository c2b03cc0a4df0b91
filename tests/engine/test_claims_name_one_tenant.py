"""Every statement the engine locks rows with names one tenant (issue 16, Scaling out).

On a distributed PostgreSQL (Citus, every tenant-owned table distributed by `tenant_id`, see
docs/scaling.md) a row-locking statement (`FOR UPDATE`, `FOR NO KEY UPDATE`, `FOR SHARE`,
`FOR KEY SHARE`, with or without `SKIP LOCKED`) runs only when the planner can route it to one
shard group: "could not run distributed query with FOR UPDATE/SHARE commands" otherwise. That is
decided from the statement's own text and parameters, never from where its ids came from, so the
rule checked here is the router planner's, not a looser one:

**The rule.** In a statement with a row-locking clause, every reference to a tenant-owned table
(a table with a `tenant_id` column: FROM, JOIN, UPDATE, in the main query, a CTE or a subquery)
is pinned to a tenant, and all of them to the same one. A reference `alias` is pinned by
- `alias.tenant_id = <one value>`: a bound parameter holding one integer, or an integer literal
  (`= ANY(...)`, `IN (...)` are not one value);
- an unqualified `tenant_id = <one value>` when the statement has only that one reference;
- `alias.tenant_id = other.tenant_id` where `other` is pinned (a join on the distribution
  column, co-located);
- for the `tenant` table itself (distributed by its id), `alias.id = <one value>`.
Each reference needs its own predicate: an alias named twice (the same table in a subquery)
needs two. "Locks rows by primary key or by ids read earlier under a tenant filter" is NOT
enough: `WHERE enrollment.id IN (...)` cannot be routed, however the ids were found. Tables
without `tenant_id` are not checked (they would be reference tables), but a row lock that
touches no tenant-owned table at all is reported (there is none today). What the text check
cannot see: which scope a predicate sits in (a pin in a subquery counts for a reference of the
same alias in the main query); the alias counting above keeps that honest for the statements
the engine writes.

The ORM's tenant scoping (`saas.tenancy`: `with_loader_criteria(tenant_id == current)` on every
ORM select, update and delete) pins ORM statements by itself; text and Core statements that
opt out (`all_tenants`) must pin themselves.

**How.** A `before_cursor_execute` listener on the engine records every row-locking statement
(with its parameters and the innermost `saas/` frame that issued it) while each test drives one
of the engine's paths on PostgreSQL; the test fails listing each statement that breaks the rule,
the references left unpinned, and where it was issued. Each path also checks that it did lock
something (a path that stopped locking would otherwise pass without checking anything).
"""

from __future__ import annotations

import re
import threading
import traceback
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import timedelta

import pytest
from sqlalchemy import event, select, update

from saas.engine import clock
from saas.engine.connect import connect_many
from saas.engine.models import ConnectJob, Enrollment, StepRun
from saas.extensions import db
from saas.templates_.models import MessageTemplate
from tests.engine.factories import build_sequence

LOCKING = re.compile(r"\bFOR\s+(?:NO\s+KEY\s+)?UPDATE\b|\bFOR\s+(?:KEY\s+)?SHARE\b", re.I)
REFERENCE = re.compile(
    r"\b(?:FROM|JOIN|UPDATE)\s+\"?([a-z_][a-z0-9_]*)\"?(?:\s+(?:AS\s+)?\"?([a-z_][a-z0-9_]*)\"?)?",
    re.I)
NOT_ALIASES = {"where", "join", "on", "left", "right", "inner", "outer", "full", "cross",
               "natural", "order", "group", "having", "limit", "offset", "for", "set", "using",
               "returning", "union", "except", "intersect", "window", "lateral", "as", "and",
               "or", "with", "select", "values", "fetch"}
VALUE = r"(?:%\((\w+)\)s|(\d+))"  # a bound parameter (psycopg's pyformat) or an integer literal


@dataclass
class Locked:
    """One row-locking statement as it reached the driver."""

    sql: str
    params: dict
    where: str  # the innermost saas/ frame that issued it
    path: str = ""


@dataclass
class Verdict:
    unpinned: list[str] = field(default_factory=list)  # "table alias" references
    tenants: set = field(default_factory=set)

    @property
    def ok(self) -> bool:
        return not self.unpinned and len(self.tenants) == 1


def _tenant_tables() -> set[str]:
    return {t.name for t in db.metadata.sorted_tables if "tenant_id" in t.c}


def _one_value(params: dict, name: str | None, literal: str | None):
    if literal:
        return int(literal)
    value = params.get(name)
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def judge(sql: str, params: dict | None, tenant_tables: set[str]) -> Verdict:
    """Apply the rule in the module's docstring to one statement."""
    params = params if isinstance(params, dict) else {}
    text = " ".join(sql.split())
    refs: list[tuple[str, str]] = []
    for table, alias in REFERENCE.findall(text):
        table = table.lower()
        if table in tenant_tables or table == "tenant":
            refs.append((table, alias if alias and alias.lower() not in NOT_ALIASES else table))
    verdict = Verdict()
    pins: dict[str, list] = {}  # alias -> the tenant values pinning it, one per predicate
    for alias in {a for _, a in refs}:
        column = "id" if (alias == "tenant" or ("tenant", alias) in refs) else "tenant_id"
        a = re.escape(alias)
        for pattern in (rf"(?<![\w.]){a}\.{column}\s*=\s*{VALUE}",
                        rf"{VALUE}\s*=\s*(?<![\w.]){a}\.{column}\b"):
            for name, literal in re.findall(pattern, text):
                pins.setdefault(alias, []).append(_one_value(params, name, literal))
    if len(refs) == 1:
        for name, literal in re.findall(rf"(?<![\w.])tenant_id\s*=\s*{VALUE}", text):
            pins.setdefault(refs[0][1], []).append(_one_value(params, name, literal))
    joins = re.findall(r"(?<![\w.])(\w+)\.tenant_id\s*=\s*(\w+)\.tenant_id\b", text)
    for _ in range(len(joins)):  # propagate along tenant_id joins
        for left, right in joins:
            for one, other in ((left, right), (right, left)):
                known = [v for v in pins.get(one, []) if v is not None]
                if known and len(pins.get(other, [])) < refs.count(
                        (_table_of(refs, other), other)):
                    pins.setdefault(other, []).append(known[0])
    for table, alias in sorted(set(refs)):
        wanted = refs.count((table, alias))
        values = pins.get(alias, [])
        good = [v for v in values if v is not None]
        if len(good) < wanted:
            verdict.unpinned.append(f"{table} {alias}" if alias != table else table)
        verdict.tenants |= set(good)
    if not refs:
        verdict.unpinned.append("(no tenant-owned table found)")
    return verdict


def _table_of(refs, alias: str) -> str:
    return next((t for t, a in refs if a == alias), alias)


def _issuer() -> str:
    for frame in reversed(traceback.extract_stack()):
        if "/saas/" in frame.filename and "/tests/" not in frame.filename:
            short = frame.filename[frame.filename.rindex("/saas/") + 1:]
            return f"{short}:{frame.lineno} {frame.name}"
    return "(not from saas/)"


@pytest.fixture
def locks(app):
    """Records the row-locking statements on the app's engine; `locks.path(name)` labels the
    ones that follow; `locks.check(name)` asserts the rule for one path."""
    recorded: list[Locked] = []
    guard = threading.Lock()
    current = {"path": ""}

    def listen(conn, cursor, statement, parameters, context, executemany):
        if LOCKING.search(statement):
            with guard:
                recorded.append(Locked(statement, parameters, _issuer(), current["path"]))

    with app.app_context():
        engine = db.engine
        tables = _tenant_tables()
    event.listen(engine, "before_cursor_execute", listen)

    class Locks:
        @contextmanager
        def path(self, name: str):
            current["path"] = name
            yield
            current["path"] = ""

        def of(self, name: str) -> list[Locked]:
            return [r for r in recorded if r.path == name]

        def check(self, name: str, *, expect: tuple[str, ...] = ()) -> None:
            found = self.of(name)
            assert found, f"{name}: no row-locking statement was issued; the path changed?"
            for issuer in expect:
                assert any(issuer in r.where for r in found), (
                    f"{name}: expected a lock from {issuer}; saw "
                    f"{sorted({r.where for r in found})}")
            bad = [(r, v) for r in found if not (v := judge(r.sql, r.params, tables)).ok]
            if bad:
                pytest.fail(report(name, bad), pytrace=False)

    yield Locks()
    event.remove(engine, "before_cursor_execute", listen)


def report(name: str, bad) -> str:
    distinct = len({(" ".join(r.sql.split()), r.where) for r, _ in bad})
    lines = [f"{name}: {distinct} row-locking statement(s) ({len(bad)} execution(s)) do not "
             "name one tenant (the rule: tests/engine/test_claims_name_one_tenant.py):"]
    seen = set()
    for locked, verdict in bad:
        sql = " ".join(locked.sql.split())
        if (sql, locked.where) in seen:
            continue
        seen.add((sql, locked.where))
        why = (f"unpinned: {', '.join(verdict.unpinned)}" if verdict.unpinned
               else f"tenants named: {sorted(verdict.tenants)}")
        lines += [f"- issued at {locked.where}; {why}", f"    {sql[:1500]}"]
    return "\n".join(lines)


# -- the rule itself --------------------------------------------------------------------------

TABLES = {"step_run", "enrollment", "connect_job", "segment_event"}
# The tick's claim (saas/engine/tick.py CLAIM_AND_EXPIRE) with each tenant-owned reference
# pinned: what it would take for the claim to route to one shard.
PINNED_CLAIM = """
WITH claimed AS (
    SELECT sr.id, sr.step_type FROM step_run sr
    JOIN enrollment e ON e.id = sr.enrollment_id AND e.tenant_id = sr.tenant_id
    WHERE sr.tenant_id = %(tenant)s AND sr.due_at <= %(now)s AND e.status = 'active'
    ORDER BY sr.due_at LIMIT %(limit)s FOR UPDATE OF sr, e SKIP LOCKED
), expired AS (
    UPDATE step_run s SET status = 'completed' FROM claimed
    WHERE s.tenant_id = %(tenant)s AND s.id = claimed.id AND claimed.step_type = 'wait'
    RETURNING s.id
)
SELECT claimed.*, expired.id IS NOT NULL FROM claimed LEFT JOIN expired ON expired.id = claimed.id
"""


@pytest.mark.parametrize(("sql", "params", "ok"), [
    ("SELECT enrollment.id FROM enrollment WHERE enrollment.id IN (SELECT unnest(%(p)s)) "
     "AND enrollment.tenant_id = %(tenant_id_1)s FOR UPDATE", {"p": [1, 2], "tenant_id_1": 3},
     True),
    ("SELECT enrollment.id FROM enrollment WHERE enrollment.id = %(id_1)s FOR UPDATE",
     {"id_1": 5}, False),
    ("SELECT sr.id FROM step_run sr JOIN enrollment e ON e.id = sr.enrollment_id "
     "WHERE sr.tenant_id = %(t)s FOR UPDATE OF sr, e SKIP LOCKED", {"t": 3}, False),
    ("SELECT sr.id FROM step_run sr JOIN enrollment e ON e.id = sr.enrollment_id "
     "AND e.tenant_id = sr.tenant_id WHERE sr.tenant_id = %(t)s FOR UPDATE OF sr, e",
     {"t": 3}, True),
    ("SELECT id FROM segment_event WHERE tenant_id = %(t)s FOR UPDATE SKIP LOCKED",
     {"t": 3}, True),
    ("SELECT id FROM segment_event WHERE tenant_id = ANY(%(t)s) FOR UPDATE", {"t": [3, 4]},
     False),
    ("SELECT e.id FROM enrollment e WHERE e.tenant_id = %(a)s AND EXISTS (SELECT 1 FROM "
     "step_run sr WHERE sr.tenant_id = %(b)s) FOR UPDATE OF e", {"a": 3, "b": 4}, False),
    ("SELECT tenant.id FROM tenant WHERE tenant.id = %(id_1)s FOR UPDATE", {"id_1": 3}, True),
    ("SELECT connect_job.id FROM connect_job WHERE connect_job.id = %(id_1)s AND "
     "connect_job.tenant_id = %(tenant_id_1)s AND connect_job.id IN (SELECT connect_job.id "
     "FROM connect_job) FOR UPDATE", {"id_1": 1, "tenant_id_1": 3}, False),
    (PINNED_CLAIM, {"tenant": 3, "now": None, "limit": 10}, True),
    (PINNED_CLAIM.replace("AND e.tenant_id = sr.tenant_id", ""),
     {"tenant": 3, "now": None, "limit": 10}, False),
])
def test_the_rule(sql, params, ok):
    assert judge(sql, params, TABLES).ok is ok


# -- the engine's paths -------------------------------------------------------------------------

def _template() -> int:
    template = MessageTemplate(kind="email", name="Hello", subject="Hi {{ record.first_name }}",
                               html_body="<p>Hello {{ record.first_name }}</p>", text_body="")
    db.session.add(template)
    db.session.flush()
    return template.id


def _connected(world, specs, n=3, settings=None) -> tuple[list[int], int]:
    """n leads connected to a sequence of these steps: (enrollment ids, sequence id)."""
    ids = world.add(n, email=lambda i: f"lead{i}-{n}@example.com")
    with world.inside():
        for spec in specs:
            if spec.get("config", {}).get("template_id") == "new":
                spec["config"]["template_id"] = _template()
        sequence = build_sequence(specs, settings=settings)
        connect_many(ids, sequence.lineage_id)
        db.session.commit()
        enrollments = db.session.execute(select(Enrollment.id).where(
            Enrollment.sequence_id == sequence.id).order_by(Enrollment.id)).scalars().all()
        return enrollments, sequence.id


def _later(app, **delta) -> None:
    with app.app_context():
        clock.move_forward(timedelta(**delta))


def _tick(app) -> dict:
    from saas.engine.tick import run_tick

    with app.app_context():
        return run_tick(budget_seconds=10)


def _runs(world, enrollment_id, status=None) -> list[int]:
    with world.inside():
        stmt = select(StepRun.id).where(StepRun.enrollment_id == enrollment_id)
        if status:
            stmt = stmt.where(StepRun.status == status)
        return db.session.execute(stmt.order_by(StepRun.id)).scalars().all()


def test_the_tick_claims_due_waits_of_one_tenant(app, world, locks):
    _connected(world, [{"type": "wait", "config": {"hours": 1}}, {"type": "task"}])
    _later(app, hours=2)
    with locks.path("tick, due waits"):
        assert _tick(app)["transitions"] == 3
    locks.check("tick, due waits", expect=("saas/engine/tick.py",))


def test_sends_through_the_outbox_name_one_tenant(app, world, locks):
    _connected(world, [{"type": "auto_email", "config": {"template_id": "new"}},
                       {"type": "task"}])
    with locks.path("sends through the outbox"):
        assert _tick(app)["sends"] == 3
    locks.check("sends through the outbox", expect=("saas/engine/send_moves.py",))


def test_connect_jobs_name_one_tenant(app, world, locks):
    from saas.engine.connect_job import run_connect_job
    from saas.segments.models import Segment, SegmentMember

    ids = world.add(3)
    with world.inside():
        sequence = build_sequence([{"type": "task"}])
        segment = Segment(name="All", record_type="lead", status="active",
                          rules={"op": "and", "rules": []})
        db.session.add(segment)
        db.session.flush()
        db.session.add_all([SegmentMember(segment_id=segment.id, record_id=i) for i in ids])
        job = ConnectJob(sequence_id=sequence.id, segment_id=segment.id, total=3)
        db.session.add(job)
        db.session.commit()
        job_id = job.id
    with locks.path("connect job"), app.app_context():
        run_connect_job(job_id, world.tenant.id)
    with world.inside():
        assert db.session.execute(select(ConnectJob.status)).scalar_one() == "done"
    locks.check("connect job", expect=("saas/engine/connect_job.py",))


def test_seller_actions_name_one_tenant(app, world, locks):
    from saas.engine import activities

    enrollments, _ = _connected(world, [{"type": "call"}, {"type": "wait", "config": {"hours": 5}},
                                        {"type": "task"}, {"type": "task"}], n=2,
                                 settings={"allow_skip_wait": True})
    first, second = enrollments
    with locks.path("seller actions"), world.inside():
        assert activities.complete_activity(_runs(world, first, "open")[0], world.seller.id,
                                            outcome="connected")
        db.session.commit()
        assert activities.skip_wait(_runs(world, first, "waiting")[0], world.seller.id)
        db.session.commit()
        assert activities.snooze_activity(_runs(world, first, "open")[0], world.seller.id,
                                          clock.now() + timedelta(hours=1))
        db.session.commit()
        assert activities.skip_activity(_runs(world, second, "open")[0], world.seller.id)
        db.session.commit()
    locks.check("seller actions", expect=("saas/engine/activities.py",))


def test_pause_resume_disconnect_name_one_tenant(app, world, locks):
    from saas.engine import services

    enrollments, sequence_id = _connected(world, [{"type": "wait", "config": {"hours": 1}},
                                                  {"type": "task"}], n=4)
    with world.inside():
        lineage = db.session.execute(select(Enrollment.lineage_id)).scalars().first()
    with locks.path("pause, resume, disconnect"), world.inside():
        def one(enrollment_id):
            return db.session.execute(select(Enrollment).where(
                Enrollment.id == enrollment_id)).scalar_one()
        services.pause(one(enrollments[0]))
        services.resume(one(enrollments[0]))
        services.disconnect(one(enrollments[1]))
        assert services.bulk_action(lineage, enrollments[2:], "pause") == 2
        assert services.bulk_action(lineage, enrollments[2:], "resume") == 2
        assert services.bulk_action(lineage, enrollments[2:], "disconnect") == 2
    locks.check("pause, resume, disconnect", expect=("saas/engine/services.py",))


def test_provider_events_name_one_tenant(app, world, locks):
    from saas.engine import events, uncertain

    enrollments, _ = _connected(world, [
        {"type": "auto_email", "config": {"template_id": "new"}},
        {"type": "email_condition", "config": {"events": ["opened"], "match": "any",
                                               "limit_hours": 2, "move_on_event": True},
         "yes": [{"type": "task", "name": "Opened"}], "no": [{"type": "task"}]}], n=4)
    _tick(app)  # sent through the outbox: each waits at the email condition
    sent = {e: _runs(world, e)[0] for e in enrollments}
    with world.inside():  # one send the worker left uncertain
        db.session.execute(update(StepRun).where(StepRun.id == sent[enrollments[3]])
                           .values(status="unknown"))
        db.session.execute(update(StepRun).where(StepRun.enrollment_id == enrollments[3],
                                                 StepRun.status == "waiting")
                           .values(status="cancelled"))
        db.session.commit()
    with locks.path("provider events"), world.inside():
        events.lock_for_events([sent[e] for e in enrollments[:2]], ["lead1-4@example.com"])
        assert events.on_message_event(sent[enrollments[0]], "open") == "decided"
        db.session.commit()
        assert events.on_message_event(sent[enrollments[1]], "bounce") == "exited"
        db.session.commit()
        assert events.exit_enrollments_for_address("lead2-4@example.com", "unsubscribe") == 1
        db.session.commit()
        run = db.session.execute(select(StepRun).where(
            StepRun.id == sent[enrollments[3]])).scalar_one()
        uncertain.mark_reconciled(run, "delivered", "msg-1")
        db.session.commit()
    locks.check("provider events", expect=("saas/engine/",))


def test_the_doctor_names_one_tenant(app, world, locks):
    from saas.engine.doctor import examine

    enrollments, _ = _connected(world, [{"type": "task"}, {"type": "call"}], n=2)
    with world.inside():  # stranded: its task done, nothing after it
        db.session.execute(update(StepRun).where(StepRun.enrollment_id == enrollments[0])
                           .values(status="completed", outcome="done"))
        db.session.commit()
    with locks.path("doctor"), app.app_context():
        assert examine()["repaired"] == 1
    locks.check("doctor", expect=("saas/engine/",))


def test_recover_stale_names_one_tenant(app, world, locks):
    from saas.engine.uncertain import recover_stale

    enrollments, _ = _connected(world, [{"type": "auto_email", "config": {"template_id": "new"}},
                                        {"type": "task"}], n=2)
    with world.inside():  # claimed by a worker that died
        db.session.execute(update(StepRun).where(StepRun.status == "pending").values(
            status="sending", attempts=1, claim_token="gone",
            started_at=clock.now() - timedelta(hours=1)))
        db.session.commit()
    with locks.path("recover_stale"), world.inside():
        assert recover_stale(world.tenant.id) == 2
    locks.check("recover_stale", expect=("saas/engine/",))


def test_resends_name_one_tenant(app, world, locks):
    from saas.engine import uncertain
    from tests.messaging.conftest import configure

    enrollments, _ = _connected(world, [{"type": "auto_email", "config": {"template_id": "new"}},
                                        {"type": "task"}], n=2)
    with world.inside():
        db.session.execute(update(StepRun).where(StepRun.status == "pending").values(
            status="unknown", attempts=1, started_at=clock.now() - timedelta(hours=3),
            completed_at=clock.now() - timedelta(hours=3)))
        db.session.commit()
        first = _runs(world, enrollments[0])[0]
    configure(app, world.tenant.id, sendgrid_key="SG.test-key",
              sendgrid_webhook_key="verification-key", from_address="hello@acme.example")
    with locks.path("resend"), world.inside():
        assert uncertain.resolve_unknown(first, "resend")
        assert uncertain.resend_silent_unknowns(world.tenant.id) == 1
    locks.check("resend", expect=("saas/engine/",))


def test_soft_bounce_resends_name_one_tenant(app, world, locks):
    from saas.engine import resends
    from saas.messaging import events

    enrollments, _ = _connected(world, [{"type": "auto_email", "config": {"template_id": "new"}},
                                        {"type": "task"}], n=2)
    assert _tick(app)["sends"] == 2
    with world.inside():
        for i, enrollment_id in enumerate(enrollments):
            run_id = _runs(world, enrollment_id, "sent")[0]
            events.record(kind="blocked", provider="sendgrid", provider_event_id=f"blocked-{i}",
                          step_run_id=run_id, address=f"lead{i}-2@example.com")
        db.session.commit()
    _later(app, hours=2)
    with locks.path("soft bounce resends"), app.app_context():
        assert resends.resend_due() == 2
    locks.check("soft bounce resends", expect=("saas/engine/resends.py",))


def test_segment_feed_and_forgotten_jobs_name_one_tenant(app, world, locks):
    """The tick's upkeep: new members of a connected segment, connect jobs Redis forgot."""
    from saas.engine.models import SegmentConnection
    from saas.segments.models import Segment, SegmentEvent, SegmentMember
    from saas.timeutil import utcnow

    ids = world.add(2)
    with world.inside():
        sequence = build_sequence([{"type": "task"}])
        segment = Segment(name="All", record_type="lead", status="active",
                          rules={"op": "and", "rules": []})
        db.session.add(segment)
        db.session.flush()
        db.session.add(SegmentConnection(segment_id=segment.id, lineage_id=sequence.lineage_id,
                                         created_at=utcnow() - timedelta(minutes=5)))
        db.session.add_all([SegmentMember(segment_id=segment.id, record_id=i) for i in ids])
        db.session.add_all([SegmentEvent(segment_id=segment.id, record_id=i, kind="joined")
                            for i in ids])
        db.session.add(ConnectJob(sequence_id=sequence.id, segment_id=segment.id, total=0,
                                  created_at=utcnow() - timedelta(hours=1)))
        db.session.commit()
    with locks.path("tick upkeep"):
        assert _tick(app)["connected"] == 2
    locks.check("tick upkeep", expect=("saas/engine/segment_feed.py",))


def test_ab_tests_name_one_tenant(app, world, locks):
    from saas.engine import abtests

    with world.inside():
        template = _template()
        version = {"type": "auto_email", "template_id": template}
        sequence = build_sequence([{"type": "ab_test", "config": {
            "display_name": "Subject", "split_a": 50, "metric": "opens", "ends": "auto",
            "end_at": None, "default_version": "A", "versions": {"A": version, "B": version}}}])
        db.session.commit()
        sequence_id = sequence.id
    with locks.path("A/B tests"), world.inside():
        [test] = abtests.start_tests(sequence_id)
        db.session.commit()
        abtests.evaluate(test.id)
        db.session.commit()
        abtests.stop_test(test.id, "B", world.manager.id)
        db.session.commit()
    locks.check("A/B tests", expect=("saas/engine/abtests.py",))


def test_the_listener_sees_other_threads(app, world, locks):
    """The tick's rounds run in ENGINE_TICK_WORKERS threads, each with its own connection: the
    listener is on the engine, so their claims are recorded too."""
    _connected(world, [{"type": "wait", "config": {"hours": 1}}, {"type": "task"}], n=2)
    _later(app, hours=2)
    from saas.engine.tick import run_tick

    with locks.path("tick, two threads"), app.app_context():
        run_tick(budget_seconds=10, workers=2)
    assert any("tick.py" in r.where for r in locks.of("tick, two threads"))
