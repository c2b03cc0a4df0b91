"""Demo sequences for a demo workspace: "Trade show follow-up" (active) and "Demo request"
(a draft), from the built-in templates, in the workspace's language (« Suivi du salon
commercial » for a French one). The caller commits."""

from __future__ import annotations

from saas.auth.tenants import current_tenant
from saas.extensions import db
from saas.i18n import language_of, speaking
from saas.sequences import editing, queries, rules
from saas.sequences.library import BY_KEY, in_language
from saas.sequences.models import Sequence, SequenceStatus
from saas.sequences.services import DEFAULT_SETTINGS
from saas.timeutil import utcnow


def seed_sequences(language: str | None = None) -> list[Sequence]:
    """`language`: the content's language (default: the workspace's); stored as plain text."""
    if language is None:
        tenant = current_tenant()
        language = getattr(tenant, "language", None)
    language = language_of(language)
    made = []
    for key, active in (("trade_show", True), ("demo_request", False)):
        built_in = BY_KEY[key]
        with speaking(language):
            name, description = str(built_in.name), str(built_in.description)
        sequence = Sequence(name=name, description=description,
                            record_type="lead", version=1, status=SequenceStatus.DRAFT.value,
                            settings=dict(DEFAULT_SETTINGS))
        db.session.add(sequence)
        db.session.flush()
        sequence.lineage_id = sequence.id
        editing.create_nested(sequence.id, in_language(built_in.steps, language))
        if active and not rules.check_sequence(
                queries.as_dicts(queries.steps_of(sequence.id)), queries.rules_context(sequence)):
            sequence.status, sequence.activated_at = SequenceStatus.ACTIVE.value, utcnow()
        made.append(sequence)
    db.session.flush()
    return made
