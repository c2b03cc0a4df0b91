"""The concurrent soak (issue 15): the engine's promise under everything at once, bounded to about
two minutes.

Three worker processes tick concurrently (one SIGKILLed at random every 10-20 s and replaced)
against the fake SendGrid failing 30% of calls (429, 500, accepted-then-timeout); a thread acts as
a busy team (complete and skip tasks, pause, resume, disconnect, through the services the web
calls); another posts SendGrid's signed events for what the provider accepted (processed,
delivered, some opens, a few bounces that exit the record), in shuffled batches, some events
twice in a batch, some batches replayed. Every few seconds the invariants are checked in one
snapshot. Then the faults stop, the paused resume, the clock moves on, sellers finish their
tasks and the workers drain. In the end:

- every enrollment has ended or holds exactly one live run;
- every `sent` run reached the provider exactly once, none reached it twice, and a run that is
  not `sent` never reached it (events were posted for everything it accepted);
- nothing reached the provider for an enrollment more than LEASE + 1 s after a pause, a
  disconnect or a bounce exit (with no resume in between): a message checked just before the
  pause may still go out within that time;
- no deadlock (PostgreSQL's count for the database, the workers' logs, the web thread).
"""

# ruff: noqa: S311, S603, S608 - randomness is the drill; the command is this Python and this
# project; the SQL is built from constants.

from __future__ import annotations

import heapq
import itertools
import os
import random
import signal
import subprocess
import sys
import threading
import time
import traceback
from collections import Counter, defaultdict
from datetime import timedelta

import pytest
from sqlalchemy import create_engine, select, text

from saas.auth.models import Role
from saas.engine import clock, services
from saas.engine.connect import connect_many
from saas.engine.models import Enrollment, StepRun
from saas.errors import ServiceError
from saas.extensions import db
from saas.tenancy import tenant_context
from saas.worklist import services as worklist
from tests.messaging import builders
from tests.messaging.conftest import configure
from tests.messaging.signing import SendGridSigner, event_body

ENROLLMENTS = 400
WORKERS = 3
CHURN_SECONDS = {"send_jobs": 75.0, "in_the_tick": 40.0}  # production's way soaks longest
KILL_EVERY = {"send_jobs": (10, 20), "in_the_tick": (5, 11)}  # at least 3 kills in the churn
DRAIN_SECONDS = 45.0
LEASE = 5.0  # the workers' ENGINE_SENDING_LEASE
GRACE = LEASE + 1.0  # a message checked just before a pause may go out within this
RESEND_AFTER = 45.0  # the workers' UNKNOWN_RESEND_AFTER: well past the events' lag
CONDITION_AGE = 8.0  # an email condition waits this long (real seconds) before its hour is up
LIVE = ("open", "waiting", "pending", "sending", "unknown")
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

INVARIANTS = text("""
SELECT e.id, e.status,
       count(sr.id) FILTER (WHERE sr.status IN ('open', 'waiting', 'pending', 'sending',
                                                 'unknown')) AS live,
       count(sr.id) FILTER (WHERE sr.status IN ('open', 'waiting', 'pending')) AS due
FROM enrollment e LEFT JOIN step_run sr ON sr.enrollment_id = e.id
WHERE e.tenant_id = :tenant
GROUP BY e.id, e.status, e.seller_id
HAVING (e.status IN ('active', 'paused') AND e.seller_id IS NOT NULL
        AND count(sr.id) FILTER (WHERE sr.status IN ('open', 'waiting', 'pending', 'sending',
                                                      'unknown')) <> 1)
    OR (e.status NOT IN ('active', 'paused')
        AND count(sr.id) FILTER (WHERE sr.status IN ('open', 'waiting', 'pending')) > 0)
""")
# An email condition's hour is up for the ones waiting longer than CONDITION_AGE: only their
# due time moves (the clock stays put, so leases and resend windows keep real time). SKIP
# LOCKED: this never waits for a lock, so it cannot take part in a deadlock.
AGE_CONDITIONS = text("""
UPDATE step_run SET due_at = :now WHERE id IN (
    SELECT id FROM step_run WHERE tenant_id = :tenant AND status = 'waiting'
      AND step_type = 'email_condition' AND due_at < :cutoff
    FOR UPDATE SKIP LOCKED)
""")


class Timeline:
    """What the test process did to enrollments, in time.monotonic(): `stops` right after a
    pause, disconnect or bounce exit committed; `goes` right before a resume (so both are on the
    lenient side)."""

    def __init__(self):
        self.lock = threading.Lock()
        self.stops: dict[int, list[float]] = defaultdict(list)
        self.goes: dict[int, list[float]] = defaultdict(list)
        self.bounced_runs: dict[int, float] = {}
        self.proved: dict[int, float] = {}  # run id: when its first event was stored
        self.paused_at: dict[int, float] = {}
        self.counts: Counter = Counter()
        self.errors: list[str] = []

    def count(self, what: str) -> None:
        with self.lock:
            self.counts[what] += 1

    def error(self, where: str) -> None:
        with self.lock:
            self.errors.append(f"{where}: {traceback.format_exc()}")


def _one(app, tenant_id, sql, **params):
    with app.app_context(), tenant_context(tenant_id):
        try:
            return db.session.execute(text(sql), {"t": tenant_id, **params}).scalar()
        finally:
            db.session.remove()


def _enrollment(enrollment_id):
    return db.session.execute(select(Enrollment).where(Enrollment.id == enrollment_id)
                              ).scalar_one()


class Team:
    """A busy team in the web: completes and skips tasks, pauses, resumes, disconnects."""

    ACTIONS = ("complete", "skip", "pause", "resume", "disconnect")
    WEIGHTS = (40, 8, 20, 25, 3)

    def __init__(self, app, tenant_id, seller_id, timeline, rng):
        self.app, self.tenant_id, self.seller_id = app, tenant_id, seller_id
        self.timeline, self.rng = timeline, rng
        self.stop = threading.Event()

    def run(self) -> None:
        while not self.stop.is_set():
            action = self.rng.choices(self.ACTIONS, self.WEIGHTS)[0]
            try:
                getattr(self, action)()
            except ServiceError:
                self.timeline.count(f"{action}_lost")
            except Exception:  # noqa: BLE001 - reported by the test
                self.timeline.error(f"web {action}")
            time.sleep(self.rng.uniform(0.005, 0.04))

    def _pick(self, sql) -> int | None:
        return _one(self.app, self.tenant_id, sql, busy=self.rng.random() < 0.6)

    def _act(self, work) -> None:
        with self.app.app_context(), tenant_context(self.tenant_id):
            try:
                work()
            finally:
                db.session.remove()

    def complete(self, skip: bool = False) -> None:
        run_id = _one(self.app, self.tenant_id, "SELECT id FROM step_run WHERE tenant_id = :t "
                      "AND status = 'open' ORDER BY random() LIMIT 1")
        if run_id is None:
            return
        if skip:
            self._act(lambda: worklist.skip(run_id, self.seller_id, reason="Not now"))
        else:
            self._act(lambda: worklist.complete(run_id, self.seller_id, outcome="done"))
        self.timeline.count("skip" if skip else "complete")

    def skip(self) -> None:
        self.complete(skip=True)

    # Most pauses and disconnects aim at an enrollment whose email is due or being sent.
    BUSY = ("(NOT :busy OR EXISTS (SELECT 1 FROM step_run sr WHERE sr.enrollment_id = e.id "
            "AND sr.status IN ('pending', 'sending')))")

    def pause(self) -> None:
        enrollment_id = self._pick(
            f"SELECT id FROM enrollment e WHERE tenant_id = :t AND status = 'active' AND "
            f"{self.BUSY} ORDER BY random() LIMIT 1")
        if enrollment_id is None:
            return
        self._act(lambda: services.pause(_enrollment(enrollment_id)))
        now = time.monotonic()
        with self.timeline.lock:
            self.timeline.stops[enrollment_id].append(now)
            self.timeline.paused_at[enrollment_id] = now
            self.timeline.counts["pause"] += 1

    def resume(self) -> None:
        enrollment_id = _one(self.app, self.tenant_id,
                             "SELECT id FROM enrollment WHERE tenant_id = :t AND status = "
                             "'paused' ORDER BY random() LIMIT 1")
        if enrollment_id is None:
            return
        with self.timeline.lock:
            if time.monotonic() - self.timeline.paused_at.get(enrollment_id, 0) < 2.0:
                return  # a pause lasts a little
        before = time.monotonic()
        self._act(lambda: services.resume(_enrollment(enrollment_id)))
        with self.timeline.lock:
            self.timeline.goes[enrollment_id].append(before)
            self.timeline.counts["resume"] += 1

    def disconnect(self) -> None:
        enrollment_id = self._pick(
            f"SELECT id FROM enrollment e WHERE tenant_id = :t AND status IN ('active', "
            f"'paused') AND {self.BUSY} ORDER BY random() LIMIT 1")
        if enrollment_id is None:
            return
        self._act(lambda: services.disconnect(_enrollment(enrollment_id)))
        with self.timeline.lock:
            self.timeline.stops[enrollment_id].append(time.monotonic())
            self.timeline.counts["disconnect"] += 1


class ProviderEvents:
    """SendGrid's event webhook for what the fake accepted: `processed` within seconds, then
    `delivered` for half (or a `bounce`, 3%), an `open` for about a third; posted signed, in
    shuffled batches, some events twice in a body and some bodies replayed."""

    def __init__(self, app, tenant, signer, fake, timeline, rng):
        self.client = app.test_client()
        self.tenant, self.signer, self.fake = tenant, signer, fake
        self.timeline, self.rng = timeline, rng
        self.cursor = 0
        self.heap: list = []
        self.order = itertools.count()
        self.stop = threading.Event()
        self.lock = threading.Lock()  # the thread and the drain both pump

    def run(self) -> None:
        while not self.stop.is_set():
            try:
                self.pump()
            except Exception:  # noqa: BLE001 - reported by the test
                self.timeline.error("events")
            time.sleep(0.3)

    def _at(self, when: float, event: dict) -> None:
        heapq.heappush(self.heap, (when, next(self.order), event))

    def collect(self, now: float) -> None:
        with self.fake.lock:
            new = self.fake.accepted[self.cursor:]
            self.cursor = len(self.fake.accepted)
        rng = self.rng
        for entry in new:
            message_id, run_id = entry.get("message_id"), entry.get("step_run_id")
            if not message_id or not run_id:
                continue
            base = {"email": entry["to"][0], "sg_message_id": f"{message_id}.filter0001.1",
                    "step_run_id": run_id, "tenant_id": str(self.tenant.id)}
            self._at(now + rng.uniform(0.1, 1.5),
                     {**base, "event": "processed", "sg_event_id": f"p-{message_id}"})
            if rng.random() < 0.03:
                self._at(now + rng.uniform(0.3, 2.0),
                         {**base, "event": "bounce", "type": "bounce", "status": "5.1.1",
                          "reason": "550 no such user", "sg_event_id": f"b-{message_id}"})
                continue
            if rng.random() < 0.5:
                self._at(now + rng.uniform(0.3, 2.5),
                         {**base, "event": "delivered", "sg_event_id": f"d-{message_id}"})
            if rng.random() < 0.35:
                self._at(now + rng.uniform(0.5, 6.0),
                         {**base, "event": "open", "sg_event_id": f"o-{message_id}"})

    def pump(self, everything: bool = False) -> None:
        with self.lock:
            now = time.monotonic()
            self.collect(now)
            due = []
            while self.heap and (everything or self.heap[0][0] <= now):
                due.append(heapq.heappop(self.heap)[2])
            for start in range(0, len(due), 50):
                batch = due[start:start + 50]
                try:
                    self._post(batch)
                except Exception:  # noqa: BLE001 - reported; SendGrid retries a failed post
                    self.timeline.error("events")
                    for event in batch:
                        self._at(time.monotonic() + 1.0, event)

    def _post(self, batch: list[dict]) -> None:
        rng = self.rng
        events = [*batch, *(dict(e) for e in batch if rng.random() < 0.1)]  # duplicated
        rng.shuffle(events)
        for event in events:
            event["timestamp"] = int(time.time())
        body = event_body(events)
        for _ in range(2 if rng.random() < 0.2 else 1):  # replayed
            response = self.client.post(f"/{self.tenant.slug}/webhooks/sendgrid/events",
                                        data=body, headers=self.signer.headers(body))
            if response.status_code != 200:
                raise AssertionError(f"webhook answered {response.status_code}: "
                                     f"{response.get_data(as_text=True)[:500]}")
            self.timeline.count("event_posts")
        answered = time.monotonic()
        with self.timeline.lock:
            self.timeline.counts["events"] += len(events)
            for event in batch:
                self.timeline.proved.setdefault(int(event["step_run_id"]), answered)
                if event["event"] == "bounce":
                    self.timeline.bounced_runs.setdefault(int(event["step_run_id"]), answered)
                self.timeline.counts[f"event_{event['event']}"] += 1


class Workers:
    def __init__(self, fake, tmp_path, rng, sends_off_tick=False):
        self.fake, self.rng = fake, rng
        self.sends_off_tick = sends_off_tick
        self.stop_file = tmp_path / "stop"
        self.logs = tmp_path / "workers"
        self.logs.mkdir()
        self.count = itertools.count()
        self.procs: list[subprocess.Popen] = []
        self.kills = 0
        self.died = 0

    def spawn(self) -> subprocess.Popen:
        from tests.conftest import TEST_DATABASE_URL, TEST_REDIS_URL

        env = {**os.environ, "SOAK_SENDGRID_URL": self.fake.url,
               "SOAK_STOP_FILE": str(self.stop_file), "SOAK_LEASE": str(LEASE),
               "SOAK_RESEND_AFTER": str(RESEND_AFTER), "SOAK_MAX_SECONDS": "400",
               "TEST_DATABASE_URL": TEST_DATABASE_URL, "TEST_REDIS_URL": TEST_REDIS_URL,
               "SOAK_SENDS_OFF_TICK": "1" if self.sends_off_tick else "0"}
        with open(self.logs / f"worker-{next(self.count)}.log", "w") as log:
            return subprocess.Popen([sys.executable, "-m", "tests.messaging.soak_worker"],
                                    cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)

    def start(self) -> None:
        self.procs = [self.spawn() for _ in range(WORKERS)]

    def kill_one(self) -> None:
        victim = self.rng.randrange(len(self.procs))
        self.procs[victim].send_signal(signal.SIGKILL)
        self.procs[victim].wait()
        self.procs[victim] = self.spawn()
        self.kills += 1

    def keep_alive(self) -> None:
        for i, proc in enumerate(self.procs):
            if proc.poll() is not None:  # died by itself: counted, replaced
                self.died += 1
                self.procs[i] = self.spawn()

    def stop(self) -> None:
        self.stop_file.touch()
        for proc in self.procs:
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.send_signal(signal.SIGKILL)
                proc.wait()

    def log_text(self) -> str:
        return "\n".join(p.read_text() for p in sorted(self.logs.iterdir()))


def _deadlocks(url: str) -> int:
    engine = create_engine(url, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as conn:
            conn.execute(text("SELECT pg_stat_clear_snapshot()"))
            return conn.execute(text("SELECT deadlocks FROM pg_stat_database "
                                     "WHERE datname = current_database()")).scalar_one()
    finally:
        engine.dispose()


def _check_invariants(app, tenant_id, broken: list, when: str) -> None:
    with app.app_context():
        try:
            rows = db.session.execute(INVARIANTS, {"tenant": tenant_id}).all()
            db.session.rollback()
        finally:
            db.session.remove()
    for row in rows:
        broken.append(f"{when}: enrollment {row.id} {row.status} live={row.live} due={row.due}")


def _age_conditions(app, tenant_id, age: float = CONDITION_AGE) -> int:
    """The hour of the email conditions waiting longer than `age` seconds is up."""
    with app.app_context():
        try:
            now = clock.now()
            changed = db.session.execute(AGE_CONDITIONS, {
                "tenant": tenant_id, "now": now,
                "cutoff": now + timedelta(hours=1) - timedelta(seconds=age)}).rowcount
            db.session.commit()
            return changed
        finally:
            db.session.remove()


def _violations(timeline: Timeline, accepted: list[dict], enrollment_of: dict) -> tuple:
    """Messages the provider received for an enrollment paused or ended more than GRACE
    seconds before (and not resumed since); and how many came within the grace."""
    stops = {e: list(ts) for e, ts in timeline.stops.items()}
    for run_id, at in timeline.bounced_runs.items():
        stops.setdefault(enrollment_of[run_id], []).append(at)
    violations, within_grace = [], 0
    for entry in accepted:
        if not entry.get("step_run_id"):
            continue
        enrollment_id = enrollment_of[int(entry["step_run_id"])]
        received = entry["received_at"]
        last_go = max((g for g in timeline.goes.get(enrollment_id, []) if g <= received),
                      default=float("-inf"))
        stopped = [s for s in stops.get(enrollment_id, []) if last_go < s <= received]
        late = [s for s in stopped if s <= received - GRACE]
        if late:
            violations.append(f"run {entry['step_run_id']} (enrollment {enrollment_id}) "
                              f"reached the provider {received - min(late):.1f} s after a "
                              f"pause or end")
        elif stopped:
            within_grace += 1
    return violations, within_grace


@pytest.mark.parametrize("sends", ["in_the_tick", "send_jobs"])
def test_concurrent_soak(app, make_tenant, make_user, add_records, fake, tmp_path, sends):
    """`send_jobs`: as production runs them (SENDS_OFF_TICK), in RQ send jobs the workers take
    from the `sends` queue between ticks, SIGKILLed with them."""
    started = time.monotonic()
    rng = random.Random(15)
    tenant = make_tenant("soak")
    seller = make_user(tenant, roles=[Role.SELLER])
    signer = SendGridSigner()
    configure(app, tenant.id, sendgrid_key="SG.soak", from_address="s@soak.example",
              sendgrid_webhook_key=signer.public_key)
    ids = add_records(tenant, ENROLLMENTS, owner_id=seller.id)
    with app.app_context(), tenant_context(tenant.id):
        hello, follow, last = (builders.email_template(name) for name in
                               ("Hello", "Follow-up", "Last try"))
        seq = builders.sequence([
            {"type": "auto_email", "name": "Hello", "config": {"template_id": hello.id}},
            {"type": "task", "name": "Call"},
            {"type": "auto_email", "name": "Follow-up", "config": {"template_id": follow.id}},
            {"type": "email_condition", "name": "Opened?",
             "config": {"events": ["opened"], "match": "any", "limit_days": 0,
                        "limit_hours": 1, "move_on_event": True},
             "yes": [{"type": "task", "name": "They opened: call"}],
             "no": [{"type": "auto_email", "name": "Last try",
                     "config": {"template_id": last.id}},
                    {"type": "task", "name": "Call again"}]}])
        assert connect_many(ids, seq.lineage_id, assign=False)["connected"] == ENROLLMENTS
        db.session.commit()
        url = db.engine.url.render_as_string(hide_password=False)
    deadlocks_before = _deadlocks(url)

    fake.set_failure_rate(0.3, ("429", "500", "timeout"))
    fake.reset_in = -1  # the rate limit resets at once: the backoff does the waiting
    fake.slow_seconds = 0.5  # past the workers' 0.3 s timeout: accepted, answered too late

    timeline = Timeline()
    team = Team(app, tenant.id, seller.id, timeline, random.Random(rng.random()))
    provider = ProviderEvents(app, tenant, signer, fake, timeline, random.Random(rng.random()))
    workers = Workers(fake, tmp_path, random.Random(rng.random()),
                      sends_off_tick=sends == "send_jobs")
    threads = [threading.Thread(target=team.run, name="team", daemon=True),
               threading.Thread(target=provider.run, name="events", daemon=True)]
    broken: list[str] = []
    checks = aged = 0
    workers.start()
    try:
        for thread in threads:
            thread.start()
        churn_start = time.monotonic()
        next_kill = churn_start + rng.uniform(*KILL_EVERY[sends])
        next_check = churn_start + 3
        while time.monotonic() - churn_start < CHURN_SECONDS[sends]:
            now = time.monotonic()
            if now >= next_kill:
                workers.kill_one()
                next_kill = now + rng.uniform(*KILL_EVERY[sends])
            if now >= next_check:
                _check_invariants(app, tenant.id, broken, f"t+{now - churn_start:.0f}s")
                checks += 1
                aged += _age_conditions(app, tenant.id)
                next_check = now + 3
            workers.keep_alive()
            time.sleep(0.2)
        churn = time.monotonic() - churn_start

        # Drain: the provider recovers, the team stops (the paused are resumed), what the
        # provider accepted gets its events, then the clock moves past every condition's hour
        # and every resend window, and the sellers finish their tasks.
        team.stop.set()
        threads[0].join(timeout=30)
        fake.set_failure_rate(0.0)
        with app.app_context(), tenant_context(tenant.id):
            paused = db.session.execute(select(Enrollment.id).where(
                Enrollment.status == "paused")).scalars().all()
            db.session.remove()
        for enrollment_id in paused:
            before = time.monotonic()
            team._act(lambda e=enrollment_id: services.resume(_enrollment(e)))
            timeline.goes[enrollment_id].append(before)
        time.sleep(LEASE)  # calls in flight end; stale leases run out
        provider.stop.set()
        threads[1].join(timeout=30)
        provider.pump(everything=True)
        with app.app_context():
            clock.move_forward(timedelta(hours=2))
        drain_start = time.monotonic()
        while time.monotonic() - drain_start < DRAIN_SECONDS:
            with app.app_context(), tenant_context(tenant.id):
                open_runs = db.session.execute(select(StepRun.id).where(
                    StepRun.status == "open")).scalars().all()
                running = db.session.execute(select(Enrollment.id).where(
                    Enrollment.status.in_(("active", "paused")))).scalars().all()
                busy = db.session.execute(select(StepRun.id).where(
                    StepRun.status.in_(("pending", "sending")))).scalars().all()
                db.session.remove()
            for run_id in open_runs:
                try:
                    team._act(lambda r=run_id: worklist.complete(r, seller.id, outcome="done"))
                except ServiceError:
                    pass
            provider.pump(everything=True)
            aged += _age_conditions(app, tenant.id, age=0)  # conditions started in the drain
            workers.keep_alive()
            if not running or (not open_runs and not busy and fake_quiet(fake, 3.0)):
                break
            time.sleep(0.5)
        _check_invariants(app, tenant.id, broken, "drained")
        drain = time.monotonic() - drain_start
    finally:
        team.stop.set()
        provider.stop.set()
        workers.stop()
        with app.app_context():
            clock.set_offset(0)
            db.session.remove()
            db.engine.dispose()  # our backends end: their statistics are flushed
    time.sleep(1.0)
    deadlocks = _deadlocks(url) - deadlocks_before
    logs = workers.log_text()

    with app.app_context(), tenant_context(tenant.id):
        enrollments = dict(db.session.execute(select(Enrollment.id, Enrollment.status)).all())
        runs = db.session.execute(select(StepRun.id, StepRun.enrollment_id, StepRun.step_type,
                                         StepRun.status, StepRun.error, StepRun.attempts)
                                  .order_by(StepRun.id)).all()
        db.session.remove()
    enrollment_of = {r.id: r.enrollment_id for r in runs}
    received = fake.per_step_run
    with fake.lock:
        accepted = list(fake.accepted)
    violations, within_grace = _violations(timeline, accepted, enrollment_of)
    twice = {run_id: n for run_id, n in received.items() if n > 1}
    first_received: dict[int, float] = {}
    for entry in accepted:
        if entry.get("step_run_id"):
            first_received.setdefault(int(entry["step_run_id"]), entry["received_at"])
    lags = [timeline.proved[r] - t for r, t in first_received.items() if r in timeline.proved]
    wrong = []
    sends: Counter = Counter()
    for run in runs:
        if run.step_type != "auto_email":
            continue
        sends[run.status] += 1
        got = received.get(str(run.id), 0)
        if run.status == "sent" and got != 1:
            wrong.append(f"run {run.id} is sent, the provider got it {got} times")
        elif run.status != "sent" and got:
            wrong.append(f"run {run.id} is {run.status} ({run.error}), the provider got it "
                         f"{got} times")
    ended = Counter(enrollments.values())
    requests = fake.request_count
    injected = Counter(r.get("failure") for r in fake.requests if r.get("failure"))
    print(f"\nsoak: {ENROLLMENTS} enrollments, {WORKERS} workers ({workers.kills} SIGKILLed, "
          f"{workers.died} died), churn {churn:.0f} s + drain {drain:.0f} s, total "
          f"{time.monotonic() - started:.0f} s; enrollments {dict(ended)}; email runs "
          f"{dict(sends)}; provider requests {requests}, accepted {len(accepted)}, faults "
          f"{dict(injected)}; team {dict(timeline.counts)}; conditions aged {aged}; invariant "
          f"checks {checks}, broken {len(broken)}; within grace {within_grace}, violations "
          f"{len(violations)}; sent twice {len(twice)}; deadlocks {deadlocks}; events' lag "
          f"max {max(lags, default=0):.1f} s")

    still = [e for e, status in enrollments.items() if status in ("active", "paused")]
    for enrollment_id in still[:5]:
        print(f"  still running: enrollment {enrollment_id} {enrollments[enrollment_id]}: "
              + ", ".join(f"{r.step_type} {r.status}"
                          + (f" ({r.error})" if r.status in LIVE else "")
                          for r in runs if r.enrollment_id == enrollment_id))
    problems = []
    if timeline.errors:
        problems.append(f"{len(timeline.errors)} errors in the test's threads, first:\n"
                        + _short(timeline.errors[0]))
    if workers.kills < 3:
        problems.append(f"only {workers.kills} workers killed")
    if not {"429", "500", "timeout"} <= set(injected):
        problems.append(f"faults injected: {dict(injected)}")
    if broken:
        problems.append("invariants broken:\n" + "\n".join(broken[:20]))
    if twice:
        problems.append(f"{len(twice)} runs sent twice:\n" + "\n".join(
            _twice(run_id, accepted, timeline, started) for run_id in list(twice)[:10]))
    if wrong:
        problems.append("provider counts:\n" + "\n".join(wrong[:20]))
    if violations:
        problems.append("sent to paused or ended enrollments:\n" + "\n".join(violations[:20]))
    if deadlocks:
        problems.append(f"PostgreSQL counted {deadlocks} deadlocks")
    for word in ("DeadlockDetected", "failed_tenants", "Traceback"):
        if word in logs:
            problems.append(f"workers' logs: {logs.count(word)}x {word}")
    leftover = [r for r in runs if r.status in ("pending", "sending")]
    if leftover:
        problems.append("runs still pending or sending after the drain:\n" + "\n".join(
            f"run {r.id} {r.step_type} {r.status} (attempts {r.attempts}, {r.error}) of "
            f"enrollment {r.enrollment_id} {enrollments[r.enrollment_id]}; its runs: "
            + ", ".join(f"{o.step_type} {o.status}" for o in runs
                        if o.enrollment_id == r.enrollment_id) for r in leftover[:10]))
    assert not problems, "\n\n".join(problems)


def _twice(run_id: str, accepted: list[dict], timeline: Timeline, started: float) -> str:
    """When the provider got a run's message, and when its first event was stored (seconds
    since the test started): an event stored before the second copy means the engine knew."""
    times = [e["received_at"] - started for e in accepted if e.get("step_run_id") == run_id]
    proved = timeline.proved.get(int(run_id))
    line = (f"run {run_id}: received at " + ", ".join(f"{t:.1f}" for t in times)
            + " s; first event stored at "
            + (f"{proved - started:.1f} s" if proved is not None else "never"))
    if proved is None or proved - started > min(times) + RESEND_AFTER - 1:
        return line + " (the event came after the resend window: the documented limit)"
    return line + " (the event was stored within the window: an engine bug)"


def _short(trace: str) -> str:
    """The last lines of a traceback: the exception and PostgreSQL's detail."""
    lines = trace.strip().splitlines()
    start = next((i for i, line in enumerate(lines) if "Error: (" in line), len(lines) - 8)
    return "\n".join(lines[:1] + lines[max(0, start):start + 8])

def fake_quiet(fake, seconds: float) -> bool:
    """Has the provider received nothing for `seconds`?"""
    with fake.lock:
        last = fake.requests[-1]["received_at"] if fake.requests else 0.0
    return time.monotonic() - last > seconds
