"""The sequences blueprint: the list, the settings and the designer (`routes`,
`designer_routes`) put their views on it; only sequence managers reach them."""

from __future__ import annotations

from flask import Blueprint

from saas.auth.access import requires
from saas.auth.models import Role
from saas.sequences.steps import AB_OUTCOME_LABELS, AB_STATUS_LABELS, STATUS_LABELS

bp = Blueprint("sequences", __name__, url_prefix="/<tenant>/sequences")


@bp.before_request
@requires(Role.SEQUENCE_MANAGER, sequences=True)
def _gate():
    return None


@bp.context_processor
def _labels() -> dict:
    return {"status_labels": STATUS_LABELS, "ab_status_labels": AB_STATUS_LABELS,
            "ab_outcome_labels": AB_OUTCOME_LABELS}
