"""Administration: users, roles, the licence, the audit log, the outbox and retention.

Registers in TICK_TASKS the retention job (`saas.admin.retention`): old segment events, message
event payloads, outbox messages, audit events and finished step runs' notes and errors are
purged or blanked, per tenant, every RETENTION_SECONDS.
"""

from saas.jobs import TICK_TASKS


def _retention() -> None:
    from saas.admin.retention import periodic  # the tick imports nothing at load time

    periodic()


if _retention not in TICK_TASKS:
    TICK_TASKS.append(_retention)
