"""The sequence runtime: connect, advance, the due-step tick, conditions, exits, A/B.

The tick (`saas.engine.tick.run_tick`), the doctor and the resend of silent sends are periodic
tasks in `saas.jobs.periodic_tasks`. This package imports nothing.

The engine's promise: no step is lost, no message goes out twice, nothing goes to a record that
has left the sequence. How it is kept:

**Compare-and-set.** Every change of an enrollment's or a step run's status is one
`UPDATE ... WHERE id = :id AND status = :expected` (a claimed send also names its claim token)
whose row count is checked; 0 means someone else got there first: nothing is written and the
person is told ("This connection has ended").

**One lock order.** A transaction that touches enrollments and their step runs locks
1. the enrollments first, several in ascending id order (`lifecycle.lock_in_order`,
   `send_moves.lock_enrollments`), then
2. their step runs, then
3. anything else (records, outbox messages, events; the sender rows a send claim locks FOR
   UPDATE in id order to count against their caps, `senders`).
The tick's claim takes a run and its enrollment together with SKIP LOCKED, so it never waits
for a lock a person or a webhook holds. Seller actions (`activities._lock`), pause, resume and
disconnect (`services`), exits (`lifecycle.end_enrollments`), provider events
(`saas.engine.events`, `saas.engine.uncertain`), send outcomes (`sends`) and stale leases
(`uncertain.recover_stale`) all follow it. No provider is called while a lock is held or a
transaction is open (`sends`).

**Every outcome moves on.** An active or paused enrollment holds exactly one live step run
(open, waiting, pending, sending or unknown); an ended one none. A send that ends `sent`,
`failed` or `skipped` moves its enrollment on, paused or not; `saas.engine.doctor` checks this
and repairs what it safely can.

**Isolation.** In a tick, one tenant's failure is rolled back, logged and counted, and the other
tenants go on (`tick.isolated`).
"""
