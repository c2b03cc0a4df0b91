"""Building sequences and connecting records through the models and the engine's advance(), for
the worklist tests, the isolation cases, the browser test and the benchmark.

Call inside an app context and a tenant context; nothing here commits.
"""

from __future__ import annotations

import itertools

from sqlalchemy import select

from saas.engine.advance import advance
from saas.engine.models import Enrollment, StepRun
from saas.extensions import db
from saas.records.models import Record
from saas.sequences.models import Sequence, Step
from saas.templates_.models import MessageTemplate

_n = itertools.count(1)


def email_template(name: str = "Intro", subject: str = "Hello {{ record.first_name }}",
                   html: str = "<p>Hi {{ record.first_name }}, nice to meet you.</p>",
                   text: str = "") -> MessageTemplate:
    template = MessageTemplate(kind="email", name=name, language="en", subject=subject,
                               html_body=html, text_body=text)
    db.session.add(template)
    db.session.flush()
    return template


def sms_template(name: str = "Ping", body: str = "Hi {{ record.first_name }}, call me back?"):
    template = MessageTemplate(kind="sms", name=name, language="en", body=body)
    db.session.add(template)
    db.session.flush()
    return template


def _add_steps(sequence: Sequence, steps: list[dict], parent: Step | None, branch: str) -> None:
    for position, spec in enumerate(steps):
        step = Step(sequence_id=sequence.id, parent_id=parent.id if parent else None,
                    branch=branch, position=position, type=spec["type"],
                    name=spec.get("name") or spec["type"].replace("_", " ").capitalize(),
                    description=spec.get("description", ""), config=spec.get("config", {}))
        db.session.add(step)
        db.session.flush()
        for sub in ("yes", "no"):
            if spec.get(sub):
                _add_steps(sequence, spec[sub], step, sub)


def sequence(steps: list[dict], *, name: str | None = None, settings: dict | None = None,
             record_type: str = "lead", status: str = "active") -> Sequence:
    """An active sequence (version 1) with `steps` on its main branch; a condition's spec may
    hold "yes" and "no" lists of steps."""
    seq = Sequence(name=name or f"Sequence {next(_n)}", record_type=record_type, status=status,
                   settings=settings or {}, version=1)
    db.session.add(seq)
    db.session.flush()
    seq.lineage_id = seq.id
    _add_steps(seq, steps, None, "main")
    db.session.flush()
    return seq


def lead(**values) -> Record:
    n = next(_n)
    data = {"record_type": "lead", "first_name": f"Lee{n}", "last_name": f"Lead{n:04d}",
            "company": f"Company {n}", "email": f"lead{n}@example.com", "phone": f"+336100{n:05d}",
            "status": "new", "custom": {}, "time_zone": "UTC"}
    data.update(values)
    record = Record(**data)
    db.session.add(record)
    db.session.flush()
    return record


def connect(record: Record, seq: Sequence, seller_id: int | None) -> Enrollment:
    """Connect the record and let the engine write its first step run."""
    enrollment = Enrollment(record_id=record.id, sequence_id=seq.id, lineage_id=seq.lineage_id,
                            seller_id=seller_id, status="active", source="manual",
                            steps_done=0)
    db.session.add(enrollment)
    db.session.flush()
    advance(enrollment)
    db.session.flush()
    return enrollment


def current_run(enrollment_id: int) -> StepRun | None:
    return db.session.execute(
        select(StepRun).where(StepRun.enrollment_id == enrollment_id)
        .order_by(StepRun.id.desc()).limit(1)
        .execution_options(populate_existing=True)).scalar_one_or_none()
