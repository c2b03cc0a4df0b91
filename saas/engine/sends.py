"""Automated sends: delivery without locks.

The tick has claimed the runs (`pending -> sending`, attempts + 1, a lease from `started_at` and
a claim token, committed). `deliver(ids, token)` works in chunks; per chunk:

1. **Checks, one short transaction.** The chunk's enrollments are locked (the one lock order:
   enrollment, then its runs) and read: a paused enrollment's claim goes back to `pending` (it
   runs after resume), an ended one's run is `cancelled`. Each message is rendered for its
   recipient (`saas.messaging.compose`): a message that cannot be made is `failed` with the
   reason; a suppressed address is `skipped`. The outbox "provider" stores its messages here.
   Commit.
2. **The call, no transaction open, no lock held**: SendGrid/Twilio concurrently
   (`saas.messaging.batch`).
3. **Outcomes, a new transaction**, each written only while the run is still `sending` with our
   token (compare-and-set; a `sent` outcome also settles a run the lease already made `unknown`):
   `sent`; `unknown` (timeout, 5xx), at once `sent` if a provider event for it was stored
   meanwhile; `failed`; a 429 or refused connection is `pending` again later (backoff, the
   untried rest of the chunk with it), `failed` after `SEND_MAX_ATTEMPTS`.

Every outcome moves the enrollment on: `failed` and `skipped` count as not delivered (an email
condition that follows takes "No"). Nothing is sent for an enrollment that was not active at the
check. A run left `sending` past its lease is settled by `saas.engine.uncertain.recover_stale`.
"""

from __future__ import annotations

import random
import secrets
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import String, case, func, literal, select, update
from sqlalchemy import inspect as sa_inspect
from sqlalchemy.dialects.postgresql import ARRAY

from saas.engine import clock, hooks
from saas.engine.graph import GraphCache, StepInfo
from saas.engine.models import EnrollmentStatus, StepRun
from saas.engine.send_moves import Moves, lock_enrollments
from saas.engine.sql import id_any, id_array, id_in
from saas.extensions import db
from saas.messaging import batch
from saas.messaging.compose import ComposeError, Composer, Outgoing
from saas.messaging.config import MessagingConfig, config_for
from saas.messaging.rendering import RenderError
from saas.messaging.result import SendResult
from saas.messaging.suppression import normalize, suppressed_among
from saas.records.models import Record
from saas.sequences.models import StepType
from saas.signals import messages_sent
from saas.tenancy import current_tenant_id

RUN_FIELDS = (StepRun.id, StepRun.enrollment_id, StepRun.sequence_id, StepRun.step_id,
              StepRun.record_id, StepRun.seller_id, StepRun.step_type, StepRun.ab_version,
              StepRun.attempts, StepRun.sender)
RATE_LIMITED = "Waiting for the provider's rate limit to reset."


def new_token() -> str:
    return secrets.token_hex(16)


def _setting(name: str) -> float:
    return float(current_app.config[name])


# A record's every column, as a plain row: loading ORM objects for a chunk and expiring them
# when a field update follows took 7% of the mixed path's Python (a sampling profile).
RECORD_COLUMNS = tuple(attr.class_attribute for attr in sa_inspect(Record).column_attrs)


def template_id_of(step: StepInfo, ab_version: str | None) -> int | None:
    config = step.config or {}
    if step.type == StepType.AB_TEST.value:
        config = (config.get("versions") or {}).get(ab_version or "A") or {}
    value = config.get("template_id")
    return int(value) if value else None


def backoff_seconds(attempts: int, retry_after: float | None) -> float:
    """Exponential backoff with full jitter, never before the provider's reset time."""
    base = _setting("SEND_RETRY_BASE_SECONDS")
    cap = _setting("SEND_RETRY_MAX_SECONDS")
    delay = min(cap, base * 2 ** max(0, attempts - 1))
    delay = random.uniform(delay / 2, delay)  # noqa: S311 - jitter, not security
    return max(delay, retry_after or 0.0)


def _cas(run_id: int, token: str, **values) -> bool:
    """Write a claimed run's outcome only while the claim is still ours."""
    return db.session.execute(
        update(StepRun).where(StepRun.id == run_id, StepRun.status == "sending",
                              StepRun.claim_token == token).values(**values)
        .execution_options(synchronize_session=False)).rowcount == 1


@dataclass
class Deliveries:
    """What the deliveries of the tenant in context read once: its messaging settings, the
    composer (its custom fields, sellers and template versions, read once each) and the
    sequences' graphs. A send sweep's turn keeps one for its claims (a few seconds at most)."""

    config: MessagingConfig = field(default_factory=lambda: config_for(current_tenant_id()))
    composer: Composer = field(init=False)
    graphs: GraphCache = field(default_factory=GraphCache)

    def __post_init__(self):
        self.composer = Composer(self.config)


def deliver(step_run_ids: list[int], token: str, kept: Deliveries | None = None) -> int:
    """Send these runs claimed with `token` for the tenant in context; returns how many were
    sent. `kept`: what earlier deliveries of this tenant read (else read now)."""
    kept = kept or Deliveries()
    config, composer, graphs = kept.config, kept.composer, kept.graphs
    composer.versions.clear()  # ORM rows of an earlier transaction: read again in this one
    chunk_size = int(current_app.config["SEND_CHUNK"])
    ids = sorted(set(step_run_ids))
    sent_total = 0
    resume_at = None
    for start in range(0, len(ids), chunk_size):
        chunk = ids[start:start + chunk_size]
        if resume_at is not None:  # the provider asked to slow down: the rest waits, untried
            _postpone(chunk, token, resume_at)
            continue
        sent, resume_at = _deliver_chunk(chunk, token, config, composer, graphs)
        sent_total += sent
    return sent_total


def _postpone(chunk: list[int], token: str, until: datetime) -> None:
    """The provider said to wait: this untried chunk goes back to pending, due `until` (held
    for a paused enrollment; cancelled for one that ended meanwhile)."""
    runs = db.session.execute(select(StepRun.id, StepRun.enrollment_id).where(
        id_any(StepRun.id, chunk), StepRun.status == "sending",
        StepRun.claim_token == token)).all()
    statuses = lock_enrollments(r.enrollment_id for r in runs)
    now = clock.now()
    for run in runs:
        _back_to_pending(run.id, token, statuses.get(run.enrollment_id), until, now,
                         RATE_LIMITED, untried=True)
    db.session.commit()


def _back_to_pending(run_id: int, token: str, enrollment_status: str | None, due: datetime,
                     now: datetime, error: str, *, untried: bool) -> bool:
    """A claimed run that is to go again later: pending (held while its enrollment is paused),
    or cancelled when the enrollment ended while it was claimed. True when it was cancelled
    (nothing more to wait for)."""
    if enrollment_status not in (EnrollmentStatus.ACTIVE.value, EnrollmentStatus.PAUSED.value):
        _cas(run_id, token, status="cancelled", completed_at=now, claim_token=None,
             error="The connection ended before the message was sent.")
        return True
    held = enrollment_status == EnrollmentStatus.PAUSED.value
    values = {"status": "pending", "claim_token": None, "error": error[:2000],
              "due_at": None if held else due, "held_due_at": due if held else None}
    if untried:  # the attempt does not count
        values["attempts"] = case((StepRun.attempts > 0, StepRun.attempts - 1), else_=0)
    _cas(run_id, token, **values)
    return False


def _deliver_chunk(chunk: list[int], token: str, config, composer: Composer,
                   graphs: GraphCache) -> tuple[int, datetime | None]:
    """Send one chunk; returns (how many were sent, when to resume if the provider said to
    wait, else None)."""
    hooks.at("before_check", run_ids=chunk)
    outgoing, runs, sent = _check_and_settle(chunk, token, config, composer, graphs)
    if not outgoing:
        return sent, None
    hooks.at("before_call", run_ids=[m.step_run_id for m in outgoing])
    results, untried = batch.send_many(config, outgoing)
    hooks.at("after_call", run_ids=list(results))
    # Messages the provider never got to (it said "slow down" first) are untried too.
    untried = set(untried) | {m.step_run_id for m in outgoing} - set(results)
    return _write_outcomes(results, untried, runs, token, graphs, sent)


def _check_and_settle(chunk, token, config, composer, graphs):
    """Step 1: (messages for real providers, {run id: run}, how many went to the outbox)."""
    runs = db.session.execute(  # plain rows: the ORM's identity map never holds stale runs
        select(*RUN_FIELDS).where(id_any(StepRun.id, chunk), StepRun.status == "sending",
                                  StepRun.claim_token == token).order_by(StepRun.id)).all()
    if not runs:
        db.session.rollback()
        return [], {}, 0
    now = clock.now()
    statuses = lock_enrollments(run.enrollment_id for run in runs)
    live = []
    for run in runs:
        status = statuses.get(run.enrollment_id)
        if status == EnrollmentStatus.ACTIVE.value:
            live.append(run)
        elif status == EnrollmentStatus.PAUSED.value:  # after resume, it goes as planned
            _cas(run.id, token, status="pending", due_at=None, held_due_at=now,
                 claim_token=None, attempts=max(0, (run.attempts or 1) - 1))
        else:  # ended (or gone) before the call: nothing goes out
            _cas(run.id, token, status="cancelled", completed_at=now, claim_token=None,
                 error="The connection ended before the message was sent.")
    records = {r.id: r for r in db.session.execute(  # plain rows: composing reads values only
        select(*RECORD_COLUMNS).where(id_in(Record.id, sorted({run.record_id for run in live})))
    )}
    composer.load_sellers({r.owner_id for r in records.values()} | {run.seller_id for run in live})
    template_ids = {run.id: template_id_of(graphs.get(run.sequence_id).steps[run.step_id],
                                         run.ab_version) for run in live}
    templates = composer.load_templates(template_ids.values())
    suppressed = suppressed_among(
        (r.phone if run.step_type == StepType.AUTO_SMS.value else r.email)
        for run in live if (r := records.get(run.record_id)) is not None)
    moves, skipped, outgoing, sent = Moves(), [], [], 0
    to_store: list[tuple] = []  # (run, message) for the outbox
    to_call: dict[str, list[int]] = defaultdict(list)
    for run in live:
        channel = "sms" if run.step_type == StepType.AUTO_SMS.value else "email"
        provider = batch.provider_for(config, channel)
        try:
            message: Outgoing = composer.compose(
                step_run_id=run.id, channel=channel, record=records.get(run.record_id),
                template=templates.get(template_ids[run.id]), seller_id=run.seller_id,
                sequence_id=run.sequence_id, sender=run.sender)
        except (ComposeError, RenderError) as error:
            if _cas(run.id, token, status="failed", completed_at=now, provider=provider,
                    claim_token=None, error=str(error)[:2000]):
                moves.add(run)
            continue
        if normalize(message.to) in suppressed:
            skipped.append((run, message.to))
        elif provider == "outbox":
            to_store.append((run, message))
        else:
            to_call[provider].append(run.id)
            outgoing.append(message)
    stored_ids = _store_in_outbox(to_store, token, config, now)
    for run, _ in to_store:
        if run.id in stored_ids:
            moves.add(run)
            sent += 1
    for provider, run_ids in to_call.items():  # which provider has them, before the call
        db.session.execute(update(StepRun).where(id_in(StepRun.id, run_ids))
                           .values(provider=provider)
                           .execution_options(synchronize_session=False))
    for run, address in skipped:
        _skip_suppressed(run, token, address, now, moves)
    if stored_ids:
        messages_sent.send(None, step_run_ids=sorted(stored_ids))
    moves.apply(graphs, now)
    db.session.commit()
    return outgoing, {run.id: run for run in live}, sent


def _store_in_outbox(pairs: list[tuple], token: str, config, now) -> set[int]:
    """The outbox 'provider' for a chunk's (run, message) pairs, in three statements whatever
    their number: the runs `sent` by compare-and-set on the claim, the messages of those it
    took stored (one insert), their outbox ids written back. Returns the runs it took."""
    if not pairs:
        return set()
    hooks.at("before_store", run_ids=[run.id for run, _ in pairs])
    taken = set(db.session.execute(
        update(StepRun).where(id_any(StepRun.id, [run.id for run, _ in pairs]),
                              StepRun.status == "sending", StepRun.claim_token == token)
        .values(status="sent", completed_at=now, provider="outbox", error=None)
        .returning(StepRun.id).execution_options(synchronize_session=False)).scalars())
    if taken:
        stored = batch.store_many(config, [message for run, message in pairs
                                           if run.id in taken])
        db.session.execute(_with_message_ids(
            {run_id: f"outbox-{outbox_id}" for run_id, outbox_id in stored.items()})
            .execution_options(synchronize_session=False))
    return taken


def _with_message_ids(message_ids: dict[int, str | None]):
    """An UPDATE of these runs setting each one's provider message id (on PostgreSQL the ids
    and message ids as two arrays: a short statement, parsed once by the driver, where a
    CASE has two parameters a run)."""
    run_ids = sorted(message_ids)
    if db.engine.dialect.name == "postgresql":
        given = select(
            func.unnest(id_array(run_ids)).label("id"),
            func.unnest(literal([message_ids[i] for i in run_ids], ARRAY(String)))
            .label("message_id")).subquery("given")
        return update(StepRun).where(StepRun.id == given.c.id).values(
            provider_message_id=given.c.message_id)
    return update(StepRun).where(id_in(StepRun.id, run_ids)).values(
        provider_message_id=case({i: message_ids[i] for i in run_ids}, value=StepRun.id))


def _skip_suppressed(run, token: str, address: str, now, moves: Moves) -> None:
    """Suppressed at send time: the run is skipped; the enrollment exits per its sequence's
    settings (the engine decides), else moves on past the step."""
    from saas.engine.events import exit_enrollments_for_address
    from saas.messaging.suppression import reason_for

    reason = reason_for(address) or "manual"
    if _cas(run.id, token, status="skipped", completed_at=now, outcome="suppressed",
            claim_token=None, error=f"{address} is on the suppression list ({reason}): not sent."):
        exit_enrollments_for_address(address, reason)
        moves.add(run)  # moves on only if it is still running


def _write_outcomes(results: dict[int, SendResult], untried: set[int], runs: dict, token: str,
                    graphs: GraphCache, sent: int) -> tuple[int, datetime | None]:
    """Step 3, in a new transaction: each outcome only while the claim is still ours."""
    from saas.engine.uncertain import decide_from_events

    now = clock.now()
    statuses = lock_enrollments(runs[i].enrollment_id for i in set(results) | untried)
    moves, unknown, pause = Moves(), [], None
    written = _write_sent({i: r.message_id for i, r in results.items() if r.status == "sent"},
                          token, now)
    for run_id in written:
        moves.add(runs[run_id])
        sent += 1
    if written:
        messages_sent.send(None, step_run_ids=written)
    for run_id, result in results.items():
        run = runs[run_id]
        if result.status == "sent":
            continue  # written above
        elif result.status == "unknown":
            if _cas(run.id, token, status="unknown", completed_at=now, claim_token=None,
                    error=(f"Uncertain send (attempt {run.attempts}): {result.error}.")[:2000]):
                unknown.append(run.id)
        elif result.status == "retry":
            delay = backoff_seconds(run.attempts, result.retry_after)
            pause = max(pause or 0.0, result.retry_after or 0.0, delay)
            if _retry(run, token, result.error or "retry", now, delay,
                      statuses.get(run.enrollment_id)):
                moves.add(run)
        elif _cas(run.id, token, status="failed", completed_at=now, claim_token=None,
                  error=(result.error or "The provider refused the message.")[:2000]):
            moves.add(run)
    spread = min(1.0, max(pause or 0.0, 0.05))  # spread the restart a little
    for run_id in untried:  # not tried: the provider asked us to wait
        run = runs[run_id]
        due = now + timedelta(seconds=(pause or 0.0) + random.uniform(0, spread))  # noqa: S311
        _back_to_pending(run.id, token, statuses.get(run.enrollment_id), due, now,
                         RATE_LIMITED, untried=True)
    moves.apply(graphs, now)
    decide_from_events(unknown, now)  # an event that came before the outcome decides now
    db.session.commit()
    return sent, (now + timedelta(seconds=pause) if pause is not None else None)


def _write_sent(message_ids: dict[int, str | None], token: str, now: datetime) -> set[int]:
    """The runs the provider accepted, `sent` in two statements for the whole chunk (not one
    per message): compare-and-set on the claim (`sending` with our token), then, for those it
    did not take, on `unknown` (the lease expired meanwhile: the send is settled all the same).
    Returns the ids written; a run some other path settled is left alone."""
    if not message_ids:
        return set()
    ids = sorted(message_ids)

    def write(run_ids: list[int], where: list, **extra) -> set[int]:
        stmt = _with_message_ids({i: message_ids[i] for i in run_ids}).where(*where)
        return set(db.session.execute(
            stmt.values(status="sent", completed_at=now, error=None, **extra)
            .returning(StepRun.id).execution_options(synchronize_session=False)).scalars())

    written = write(ids, [StepRun.status == "sending", StepRun.claim_token == token],
                    claim_token=None)
    rest = [i for i in ids if i not in written]
    if rest:  # as before the claim went: what settled it as unknown has cleared its token
        written |= write(rest, [StepRun.status == "unknown"])
    return written


def _retry(run, token: str, reason: str, now, delay: float,
           enrollment_status: str | None) -> bool:
    """Pending again later; `failed` after SEND_MAX_ATTEMPTS (True: it moves on)."""
    limit = int(_setting("SEND_MAX_ATTEMPTS"))
    if (run.attempts or 0) >= limit:
        return _cas(run.id, token, status="failed", completed_at=now, claim_token=None,
                    error=f"Gave up after {run.attempts} attempts; last: {reason}"[:2000])
    _back_to_pending(run.id, token, enrollment_status, now + timedelta(seconds=delay), now,
                     f"Attempt {run.attempts} not accepted ({reason}); retrying.",
                     untried=False)
    return False
