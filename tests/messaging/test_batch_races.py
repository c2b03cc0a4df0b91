"""A person pauses or disconnects a connection while the tick holds it in a batch of due waits
(the `before_advance` hook point: claimed and locked, the wait expired, not yet moved on). The
person's request waits for the batch's commit (the claim locks the enrollment: the one lock
order), never deadlocks, and lands right after it: the wait moved on exactly once, the email
that follows is held (paused) or cancelled (ended), nothing goes out while paused, and after
resume it goes once. The doctor finds nothing to repair."""

from __future__ import annotations

import threading
import time

from sqlalchemy import text

from saas.engine import hooks
from saas.engine.doctor import examine
from saas.extensions import db
from tests.messaging.test_send_races import (
    disconnect,
    later,
    pause,
    resume,
    state,
    tick,
)

WAIT_THEN_EMAIL = [{"type": "wait", "name": "A day", "config": {"hours": 24}},
                   {"type": "auto_email", "name": "Hello", "config": {"template_id": None}},
                   {"type": "task", "name": "Call them"}]
CLEAN = {"doubled": 0, "expired_leases": 0, "stalled_jobs": 0, "ended_live": 0, "stranded": 0,
         "repaired": 0}


class Elsewhere:
    """`work` in another session (a thread: another request), started at one hook point; the
    hook returns once that session waits for a lock the tick holds (or has finished). `join`
    lets it finish, and raises what it raised (a deadlock, a refusal)."""

    def __init__(self, app, work):
        self.app, self.work = app, work
        self.thread: threading.Thread | None = None
        self.error: BaseException | None = None

    def _run(self):
        try:
            self.work()
        except BaseException as error:  # noqa: BLE001 - raised again in the test's thread
            self.error = error

    def start(self, **_):
        if self.thread is not None:
            return
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()
        deadline = time.monotonic() + 5
        while self.thread.is_alive() and not _waits_for_a_lock():
            assert time.monotonic() < deadline, "the other session neither waited nor ended"
            time.sleep(0.01)

    def join(self, **_):
        if self.thread is None:
            return
        self.thread.join(timeout=10)
        assert not self.thread.is_alive(), "the other session is still waiting"
        if self.error is not None:
            raise self.error


def _waits_for_a_lock() -> bool:
    with db.engine.connect() as conn:
        return bool(conn.execute(text(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
            "AND wait_event_type = 'Lock'")).scalar())


def _mid_batch(app, action):
    """`action` starts at before_advance and finishes once the batch has committed."""
    other = Elsewhere(app, action)
    hooks.install("before_advance", other.start)
    hooks.install("after_batch", other.join)
    return other


def _due_wait(app, one_send):
    enrollment_id, _ = one_send(specs=WAIT_THEN_EMAIL)
    later(app, 24 * 3600 + 1)  # the wait is due
    return enrollment_id


def _with_template(app, tenant_id):
    from saas.sequences.models import Step
    from saas.tenancy import tenant_context
    from tests.messaging import builders

    with app.app_context(), tenant_context(tenant_id):
        template = builders.email_template()
        step = db.session.execute(db.select(Step).where(Step.type == "auto_email")).scalar_one()
        step.config = {"template_id": template.id}
        db.session.commit()


def test_paused_mid_batch_moves_on_once_sends_nothing_then_goes_after_resume(
        app, one_send, fake, sendgrid_tenant):
    tenant_id = sendgrid_tenant.id
    enrollment_id = _due_wait(app, one_send)
    _with_template(app, tenant_id)
    other = _mid_batch(app, pause(app, tenant_id, enrollment_id))
    tick(app)
    other.join()
    hooks.clear()
    assert other.thread is not None and fake.emails() == []
    assert state(app, tenant_id, enrollment_id) == (
        "paused", [("wait", "completed"), ("auto_email", "pending")])
    later(app, 3600)
    tick(app)  # paused: its email is held
    assert fake.emails() == []
    resume(app, tenant_id, enrollment_id)
    tick(app)
    assert len(fake.emails()) == 1
    assert state(app, tenant_id, enrollment_id) == (
        "active", [("wait", "completed"), ("auto_email", "sent"), ("task", "open")])
    with app.app_context():
        assert examine() == CLEAN


def test_disconnected_mid_batch_ends_with_nothing_sent_and_nothing_live(
        app, one_send, fake, sendgrid_tenant):
    tenant_id = sendgrid_tenant.id
    enrollment_id = _due_wait(app, one_send)
    _with_template(app, tenant_id)
    other = _mid_batch(app, disconnect(app, tenant_id, enrollment_id))
    tick(app)
    other.join()
    hooks.clear()
    later(app, 3600)
    tick(app)
    assert fake.emails() == []
    assert state(app, tenant_id, enrollment_id) == (
        "disconnected", [("wait", "completed"), ("auto_email", "cancelled")])
    with app.app_context():
        assert examine() == CLEAN
