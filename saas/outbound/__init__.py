"""Outbound webhooks: a tenant's other tools hear what happens in its sequences.

The top floor (beside saas/web): it imports the engine and messaging, nothing imports it.
`events` (the event types and the payload), `outbox` (deliveries written in the event's
transaction, from the listeners saas/wiring.py connects), `delivery` (the job: claim, call,
record), `addresses` (where a webhook may go, checked again on the resolved address),
`notices` (disabling and telling the admins), `services`/`queries`/`routes` (Settings >
Webhooks).
"""
