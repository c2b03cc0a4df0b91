"""Send sweeps: one RQ job serves the due sends of many tenants in turn, so a tenant with one
email due costs a claim and a delivery, not a job of its own.

The tenants are split into SEND_SWEEP_SHARDS shards by their id (`send_jobs.shard_of`); a shard
has one job id (`send-sweep-<shard>`, RQ `unique`), so two sweeps never serve the same tenant at
once, and the shards run in parallel on different workers. A sweep finds its shard's tenants with
due sends (one loose index scan, `send_jobs.tenants_with_sends`), takes them in the fair rotating
order (`turns.rotated`: no tenant always last) and gives each a **turn**: claim (one statement
naming that one tenant, FOR UPDATE SKIP LOCKED, windows, daily caps and the senders' caps applied
by `caps.claim_sends`, committed with a token and a lease), then deliver with no lock held
(`sends.deliver`: its checks, the provider call, the outcomes by compare-and-set, the 429 backoff
of that tenant), batch after batch for at most SEND_TENANT_SLICE seconds. SEND_SWEEP_TENANTS
tenants have their turn at once, each in a thread with its own database session and its own
provider-call threads (`batch.calls_on`: its share of the worker's SEND_CONCURRENCY), one turn
per tenant at a time: a tenant whose provider is slow or failing holds one of those threads for
its slice (its own calls time out there) while the others go on. A tenant whose turn leaves sends
due goes back in the line; the sweep scans again for tenants made due meanwhile, and stops when
none is left or SEND_JOB_BUDGET seconds have passed (the turns in progress finish their slice).

Nothing is claimed before a turn starts, so a sweep lost with Redis costs nothing and the next
tick enqueues it again; a sweep whose worker died leaves its claims to their lease
(`uncertain.recover_stale`) and is replaced (`send_jobs._replaceable`).
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait

from flask import current_app

from saas.engine import clock
from saas.engine.parallel import in_own_session
from saas.engine.send_jobs import send_for, tenants_with_sends
from saas.engine.turns import rotated
from saas.extensions import db
from saas.messaging import batch
from saas.messaging.providers import calls_per_tenant
from saas.tenancy import tenant_context

log = logging.getLogger(__name__)
RESCAN_SECONDS = 0.5  # at most one scan for newly due tenants this often while turns run


def send_sweep(shard: int, budget: float | None = None) -> dict:
    """The send sweep of one shard (RQ entry point, ids in): turns for its tenants with due
    sends until none is left or the budget is spent. Returns the counts."""
    config = current_app.config
    budget = float(config["SEND_JOB_BUDGET"]) if budget is None else budget
    deadline = time.monotonic() + budget
    at_once = max(1, int(config["SEND_SWEEP_TENANTS"]))
    if db.engine.dialect.name == "sqlite":  # one writer: turns one after the other
        at_once = 1
    sweep = _Sweep(shard, deadline, at_once)
    try:
        return sweep.run()
    finally:
        db.session.remove()


class _Sweep:
    def __init__(self, shard: int, deadline: float, at_once: int):
        self.shard, self.deadline, self.at_once = shard, deadline, at_once
        self.slice = float(current_app.config["SEND_TENANT_SLICE"])
        self.chunk = int(current_app.config["SEND_CHUNK"])
        # A worker's SEND_CONCURRENCY calls shared by the tenants served at once (measured:
        # 100 calls for each of 4 tenants, 800 in flight from two workers, timed out a fifth
        # of the sends against a provider answering in 100 ms).
        self.concurrency = calls_per_tenant(current_app.config)
        self.totals = {"tenants": 0, "turns": 0, "claimed": 0, "sent": 0, "deferred": 0,
                       "failed_tenants": 0, "scans": 0}
        self.line: deque[int] = deque()  # tenants waiting for a turn, in order
        self.done: set[int] = set()  # tenants whose last turn found nothing left to claim
        self.seen: set[int] = set()
        self.last_scan = 0.0

    def over(self) -> bool:
        return time.monotonic() >= self.deadline

    def scan(self, busy: set[int]) -> None:
        """Queue the shard's tenants with due sends that are neither in line nor in a turn,
        in the rotating order."""
        self.last_scan = time.monotonic()
        self.totals["scans"] += 1
        found = tenants_with_sends(clock.now(), self.shard)
        db.session.rollback()
        waiting = set(self.line) | busy
        self.line.extend(t for t in rotated(found) if t not in waiting and t not in self.done)

    def run(self) -> dict:
        self.scan(set())
        if self.at_once > 1:
            return self.run_parallel()
        while not self.over():
            if not self.line:
                self.scan(set())  # sends made due meanwhile (a send after a send)
                if not self.line:
                    break
            tenant_id = self.line.popleft()
            self.settle(tenant_id, self.turn(tenant_id))
        return self.totals

    def run_parallel(self) -> dict:
        pools = [ThreadPoolExecutor(self.concurrency, thread_name_prefix="provider-call")
                 for _ in range(self.at_once)]
        slots = iter(pools)
        slot_lock = threading.Lock()
        local = threading.local()

        def take_slot() -> None:  # each turn thread keeps one pool of provider-call threads
            with slot_lock:
                local.pool = next(slots)

        def turn(tenant_id: int) -> dict | None:
            with batch.calls_on(local.pool):
                return self.turn(tenant_id)

        in_thread = in_own_session(turn)
        running: dict[Future, int] = {}
        try:
            with ThreadPoolExecutor(self.at_once, thread_name_prefix="send-sweep",
                                    initializer=take_slot) as turns:
                try:
                    while True:
                        while self.line and len(running) < self.at_once and not self.over():
                            tenant_id = self.line.popleft()
                            running[turns.submit(in_thread, tenant_id)] = tenant_id
                        if not running:
                            if self.over():
                                break
                            self.scan(set())  # sends made due meanwhile (a send after a send)
                            if not self.line:
                                break
                            continue
                        finished, _ = wait(running, timeout=RESCAN_SECONDS,
                                           return_when=FIRST_COMPLETED)
                        for future in finished:
                            self.settle(running.pop(future), future.result())
                        if (not self.line and not self.over()
                                and time.monotonic() - self.last_scan >= RESCAN_SECONDS):
                            self.scan(set(running.values()))
                finally:  # the budget's end (or the job's timeout): the turns finish their slice
                    for future, tenant_id in list(running.items()):
                        self.settle(tenant_id, future.result())
        finally:
            for pool in pools:
                pool.shutdown(wait=False)
        return self.totals

    def turn(self, tenant_id: int) -> dict | None:
        """One tenant's turn, in its own tenant context: None when it failed (rolled back,
        logged; its claims, if any were committed, are left to their lease)."""
        until = min(self.deadline, time.monotonic() + self.slice)
        with tenant_context(tenant_id):
            try:
                counts = send_for(tenant_id, until, self.chunk)
            except Exception:
                db.session.rollback()
                log.exception("send sweep: tenant %s failed; retried by the next sweep",
                              tenant_id)
                return None
        return {**counts, "tenant": tenant_id, "more": time.monotonic() >= until}

    def settle(self, tenant_id: int, counts: dict | None) -> None:
        self.totals["turns"] += 1
        if tenant_id not in self.seen:
            self.seen.add(tenant_id)
            self.totals["tenants"] += 1
        if counts is None:
            self.totals["failed_tenants"] += 1
            self.done.add(tenant_id)  # not again in this sweep
            return
        for key in ("claimed", "sent", "deferred"):
            self.totals[key] += counts[key]
        if counts["more"] and counts["claimed"]:  # its slice ended with sends still due
            self.line.append(tenant_id)
        elif not counts["claimed"]:
            self.done.add(tenant_id)  # nothing it could take (locked, or all deferred)

