"""A worker process for the fault test: runs the tick in a loop (as an RQ worker would) until
nothing is left to send, or until it is killed. Configuration comes from FAULT_* variables."""

from __future__ import annotations

import os
import time

from sqlalchemy import text

from saas import create_app
from saas.extensions import db
from tests.conftest import app_config


def main() -> None:
    app = create_app(app_config(
        SENDGRID_BASE_URL=os.environ["FAULT_SENDGRID_URL"],
        PROVIDER_TIMEOUT_SECONDS=os.environ.get("FAULT_TIMEOUT", "0.3"), SEND_CONCURRENCY=8,
        SEND_CHUNK=100,
        SEND_RETRY_BASE_SECONDS=0.05, SEND_RETRY_MAX_SECONDS=0.5, SEND_MAX_ATTEMPTS=12,
        ENGINE_SENDING_LEASE=float(os.environ.get("FAULT_LEASE", "2")),
        ENGINE_BATCH_PER_TENANT=300))
    deadline = time.monotonic() + float(os.environ.get("FAULT_MAX_SECONDS", "240"))
    from saas.engine.tick import run_tick

    with app.app_context():
        while time.monotonic() < deadline:
            run_tick(budget_seconds=5)
            left = db.session.execute(text(
                "SELECT count(*) FROM step_run WHERE step_type = 'auto_email' "
                "AND status IN ('pending', 'sending')")).scalar()
            db.session.remove()
            if not left:
                return
            time.sleep(0.05)


if __name__ == "__main__":
    main()
