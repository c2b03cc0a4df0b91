"""Test-only hook points between the engine's transactions: a no-op in production.

A test installs a callable at a named point (`install("before_call", fn)`) to run "pause" or
"disconnect" exactly there, in another session, and checks the invariants afterwards. Points:

- `before_advance`: the tick claimed a batch of due waits (and conditions), their runs and
  enrollments locked and the waits expired, before it moves them on (same transaction: another
  session that pauses or ends one of them waits for the batch's commit);
- `after_batch`: the tick committed the batch (waits moved on, sends claimed), before delivery;
- `after_claim`: the tick committed its sends' claim (`sending`, token), before delivery;
- `before_check`: delivery starts a chunk, before it reads the enrollments it sends for;
- `before_store`: the outbox 'provider' composed the chunk's messages, before it marks their
  runs sent (same transaction as the checks: the enrollments locked, the runs not);
- `before_call`: the chunk's checks are committed, before the provider is called (no
  transaction open);
- `after_call`: the provider answered, before the outcomes are written;
- `before_reconcile`: a provider event was stored, before it decides its run;
- `connect_progress`: a connect job committed its progress (heartbeat, last record).
"""

from __future__ import annotations

from collections.abc import Callable

_installed: dict[str, Callable[..., None]] = {}


def at(point: str, **context) -> None:
    hook = _installed.get(point)
    if hook is not None:
        hook(**context)


def install(point: str, hook: Callable[..., None]) -> None:
    _installed[point] = hook


def clear() -> None:
    _installed.clear()
