"""The one state change analytics offers: stopping an A/B test with a chosen version."""

from __future__ import annotations

from saas.admin import audit
from saas.engine import abtests
from saas.engine.models import AbTest
from saas.errors import ServiceError
from saas.extensions import db


def stop_ab_test(test_id: int, version: str, user_id: int | None) -> AbTest:
    """Stop a running test; every record reaching the step from now on gets `version`."""
    try:
        test = abtests.stop_test(test_id, version, user_id)
    except abtests.AbTestError as error:
        db.session.rollback()
        raise ServiceError(str(error), field="version") from error
    audit.record("ab_test.stopped", target=f"ab_test:{test.id}", version=version)
    db.session.commit()
    return test
