"""The README's API examples (the sh block of "## The API") run as they are, with curl, against
a live server: each must answer 2xx (`curl -f`), and they must do what they say."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import threading
from pathlib import Path

import pytest
from sqlalchemy import select
from werkzeug.serving import make_server

from saas import create_app
from saas.auth.models import Role
from saas.engine.models import Enrollment
from saas.extensions import db
from saas.outbound.models import WebhookSubscription
from saas.records.models import Record
from saas.tenancy import tenant_context
from tests.conftest import app_config
from tests.engine.factories import build_sequence

README = Path(__file__).resolve().parents[2] / "README.md"


def _block() -> str:
    section = README.read_text().split("\n## The API\n", 1)[1].split("\n## ", 1)[0]
    return re.search(r"```sh\n(.*?)```", section, re.S).group(1)


@pytest.mark.skipif(not (shutil.which("curl") and shutil.which("jq")), reason="curl and jq")
def test_the_readme_examples_work(app, admin, make_user, make_key):
    seller = make_user(admin.tenant, roles=[Role.SELLER], name="Sam Seller")
    with app.app_context(), tenant_context(admin.tenant.id):
        sequence_id = build_sequence([{"type": "task", "name": "Research"}],
                                     name="Follow-up").id
        db.session.commit()
    live = create_app(app_config(OUTBOUND_WEBHOOK_ALLOW_PRIVATE=True))
    live.config["OUTBOUND_WEBHOOK_ALLOW_PRIVATE"] = True
    server = make_server("127.0.0.1", 0, live, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    script = _block().replace("https://crm.example.com/hooks/sequences", "https://localhost/h")
    env = {**os.environ, "KEY": make_key(admin), "SEQUENCE": str(sequence_id),
           "SELLER": str(seller.id),
           "API": f"http://127.0.0.1:{server.server_port}/api/v1/{admin.tenant.slug}"}
    try:
        done = subprocess.run(["bash", "-euo", "pipefail", "-c", script], env=env,
                              capture_output=True, text=True, timeout=60, check=False)
    finally:
        server.shutdown()
        thread.join(timeout=5)
    assert done.returncode == 0, done.stderr + done.stdout
    with app.app_context(), tenant_context(admin.tenant.id):
        ana = db.session.execute(select(Record).where(
            Record.email == "ana@contoso.example")).scalar_one()
        assert db.session.execute(select(Enrollment.sequence_id).where(
            Enrollment.record_id == ana.id)).scalar_one() == sequence_id
        assert db.session.execute(select(Record.id).where(
            Record.email == "bo@fabrikam.example")).scalar_one()
        assert db.session.execute(select(WebhookSubscription.events)).scalar_one() == [
            "email.replied", "enrollment.completed"]
    assert '"failed": 1' in done.stdout and '"secret": "whsec_' in done.stdout
