"""Who listens to what the lower floors announce (`saas.signals`): connected once, in this
order, by `create_app`. Listeners of one signal run in the order they are connected here, in
the announcer's transaction.

    records            -> segments (membership), then the engine (exits, deletions, connects)
    messaging events   -> the engine (reconcile, exits, conditions; out-of-office pauses;
                          a sender's health and soft bounces)
    segments           -> the engine (connections forget a deleted segment)
    templates          -> design-time sequences (a template in use is not deleted)
    sequences (design) -> the engine (A/B tests start, deactivation, deletion, counts)
    engine and message events -> the outbound webhooks' outbox (saas.outbound.outbox), last,
                          so they see what the engine made of the event
"""

from __future__ import annotations

import saas.signals as signals


def connect_listeners() -> None:
    from saas.engine import answers as engine
    from saas.engine.events import on_recorded
    from saas.engine.replies import on_recorded as on_reply_recorded
    from saas.engine.sender_health import on_recorded as on_sender_event
    from saas.outbound import outbox
    from saas.segments.membership import on_records_changed
    from saas.sequences.queries import template_used_by

    pairs = (
        (signals.records_changed, on_records_changed),
        (signals.leads_disqualified, engine.leads_disqualified),
        (signals.records_deleting, engine.records_deleting),
        (signals.selection_connecting, engine.selection_connecting),
        (signals.message_event_recorded, on_recorded),
        (signals.message_event_recorded, on_reply_recorded),  # an out-of-office pauses
        (signals.message_event_recorded, on_sender_event),  # a sender's health, soft bounces
        (signals.segment_deleting, engine.segment_deleting),
        (signals.template_deleting, template_used_by),
        (signals.sequence_activated, engine.sequence_activated),
        (signals.sequence_deactivated, engine.sequence_deactivated),
        (signals.sequence_deleting, engine.sequence_deleting),
        (signals.running_count_asked, engine.running_count),
        (signals.running_counts_asked, engine.running_counts),
        (signals.ab_tests_asked, engine.ab_tests),
        (signals.message_event_recorded, outbox.on_message_event),
        (signals.records_connected, outbox.on_records_connected),
        (signals.steps_completed, outbox.on_steps_completed),
        (signals.messages_sent, outbox.on_messages_sent),
        (signals.enrollments_ended, outbox.on_enrollments_ended),
        (signals.ab_test_concluded, outbox.on_ab_test_concluded),
    )
    for signal, listener in pairs:
        signal.connect(listener, weak=False)  # connecting twice (many apps) keeps one
