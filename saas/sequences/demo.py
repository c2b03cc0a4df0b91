"""Demo sequences for the demo tenant: "Trade show follow-up" (active) and "Demo request"
(a draft), from the built-in templates. The caller commits."""

from __future__ import annotations

from saas.extensions import db
from saas.sequences import editing, queries, rules
from saas.sequences.library import BY_KEY
from saas.sequences.models import Sequence, SequenceStatus
from saas.sequences.services import DEFAULT_SETTINGS
from saas.timeutil import utcnow


def seed_sequences() -> list[Sequence]:
    made = []
    for key, active in (("trade_show", True), ("demo_request", False)):
        built_in = BY_KEY[key]
        sequence = Sequence(name=built_in.name, description=built_in.description,
                            record_type="lead", version=1, status=SequenceStatus.DRAFT.value,
                            settings=dict(DEFAULT_SETTINGS))
        db.session.add(sequence)
        db.session.flush()
        sequence.lineage_id = sequence.id
        editing.create_nested(sequence.id, built_in.steps)
        if active and not rules.check_sequence(
                queries.as_dicts(queries.steps_of(sequence.id)), queries.rules_context(sequence)):
            sequence.status, sequence.activated_at = SequenceStatus.ACTIVE.value, utcnow()
        made.append(sequence)
    db.session.flush()
    return made
