"""Administration: users, roles, the licence, the audit log, the outbox and retention.

The retention job (`saas.admin.retention`, a periodic task in `saas.jobs.periodic_tasks`): old
segment events, message event payloads, outbox messages, audit events and finished step runs'
notes and errors are purged or blanked, per tenant, every RETENTION_SECONDS.
"""
