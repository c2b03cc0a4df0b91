"""What flows upward through the house: lower floors announce, higher floors listen.

Records, messaging, templates and the sequences' design time never import segments or the
engine. When something happens that a higher floor acts on, they send one of these signals
(blinker, which Flask ships); the listeners are connected in one place, `saas.wiring`, that
`create_app` calls, in a fixed order. A listener runs at once, in the sender's transaction (the
sender commits), so what it writes commits or rolls back with the change that caused it.

Some signals are questions: the sender asks (`answers`) and uses what the listeners return
(a count, a reason), with a default when no floor above answers.
"""

from __future__ import annotations

from blinker import Namespace

_house = Namespace()

# --- records (saas.records) ---
# Records were created, edited or imported (record_ids): segments refresh their members.
records_changed = _house.signal("records-changed")
# Leads were disqualified (record_ids): they leave every sequence they run in.
leads_disqualified = _house.signal("leads-disqualified")
# Records are about to be deleted (record_ids, locked): their connections end as history.
# Answers: how many connections ended.
records_deleting = _house.signal("records-deleting")
# A list selection is to be connected to a sequence (record_ids, sequence_id, user_id).
# Answers: the message for the person who asked.
selection_connecting = _house.signal("selection-connecting")

# --- messaging (saas.messaging) ---
# A provider event was recorded, once (kind, step_run_id, data, occurred_at, notify,
# suppressed: the reason the address was just suppressed, or None; event_id): the engine
# reconciles an uncertain send, exits the address's enrollments when suppressed, and follows
# the event (an out-of-office reply, kind "auto_reply", pauses: saas.engine.replies).
message_event_recorded = _house.signal("message-event-recorded")

# --- segments (saas.segments) ---
# A segment is about to be deleted (segment_id): connections made through it forget it.
segment_deleting = _house.signal("segment-deleting")

# --- templates (saas.templates_) ---
# May this template be deleted (template_id)? Answers: why not (a sentence), or None.
template_deleting = _house.signal("template-deleting")

# --- sequences, design time (saas.sequences) ---
# A version was activated (sequence_id): its A/B tests start with it.
sequence_activated = _house.signal("sequence-activated")
# A sequence was deactivated (lineage_id): its running records are disconnected.
# Answers: how many were disconnected.
sequence_deactivated = _house.signal("sequence-deactivated")
# A sequence's versions are about to be deleted (lineage_id, sequence_ids; none running):
# their connections' history goes with them.
sequence_deleting = _house.signal("sequence-deleting")
# How many records run in a lineage (lineage_id)? Answers: the count.
running_count_asked = _house.signal("running-count-asked")
# How many records run in each lineage? Answers: {lineage_id: count}.
running_counts_asked = _house.signal("running-counts-asked")
# The A/B tests of a version (sequence_id)? Answers: {step_id: test}.
ab_tests_asked = _house.signal("ab-tests-asked")

# --- the engine (saas.engine), heard by the outbound webhooks (saas.outbound) ---
# Each is sent in the engine's transaction with the ids it already holds (no query of its own),
# so a tenant with no webhook pays a function call.
# Records were connected: enrollment_ids, or (bulk) lineage_id, record_ids and started_at.
records_connected = _house.signal("records-connected")
# Step runs were completed (step_run_ids; those not `completed` now are left out).
steps_completed = _house.signal("steps-completed")
# Automated messages were sent (step_run_ids).
messages_sent = _house.signal("messages-sent")
# Enrollments may have ended at `at` (enrollment_ids; those not ended at `at` are left out).
enrollments_ended = _house.signal("enrollments-ended")
# An A/B test was concluded: a winner, inconclusive, or stopped by a person (test_id).
ab_test_concluded = _house.signal("ab-test-concluded")


def answers(signal, **kwargs) -> list:
    """Send `signal` and return what its listeners answered (None answers left out)."""
    return [value for _receiver, value in signal.send(None, **kwargs) if value is not None]


def answer(signal, default=None, **kwargs):
    """The first listener's answer, or `default` when none answers."""
    found = answers(signal, **kwargs)
    return found[0] if found else default
