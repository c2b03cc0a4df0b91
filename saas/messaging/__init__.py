"""Messaging: providers (SendGrid, Twilio, the outbox), rendering, tracking, suppression.

Registers in TICK_TASKS the resend of `unknown` sends that no provider event reconciled within
`UNKNOWN_RESEND_AFTER` seconds (`saas.messaging.reconcile`).
"""

from saas.jobs import TICK_TASKS


def _resend_silent_unknowns() -> None:
    from saas.messaging.reconcile import resend_all_tenants

    resend_all_tenants()


if _resend_silent_unknowns not in TICK_TASKS:
    TICK_TASKS.append(_resend_silent_unknowns)
