"""Building what messaging tests send: templates, a sequence with an automated email or SMS,
records connected to it through the engine."""

from __future__ import annotations

from sqlalchemy import select

from saas.auth.models import User
from saas.engine.connect import connect_record
from saas.engine.models import StepRun
from saas.extensions import db
from saas.records.models import Record
from saas.sequences.models import Sequence, Step
from saas.templates_.models import MessageTemplate

HTML = ('<p>Hello {{ record.first_name }},</p><p>See <a href="https://example.com/offer?x=1">'
        'our offer</a>.</p><p><a href="{{ unsubscribe_url }}">Stop these emails</a></p>')


def email_template(name: str = "Welcome", html: str = HTML,
                   subject: str = "Hi {{ record.first_name }}") -> MessageTemplate:
    template = MessageTemplate(kind="email", name=name, language="en", subject=subject,
                               html_body=html, text_body="")
    db.session.add(template)
    db.session.flush()
    return template


def sms_template(body: str = "Hi {{ record.first_name }}, reply STOP to stop") -> MessageTemplate:
    template = MessageTemplate(kind="sms", name="Text", language="en", body=body)
    db.session.add(template)
    db.session.flush()
    return template


def add_steps(sequence: Sequence, specs: list[dict], parent: Step | None = None,
              branch: str = "main") -> None:
    for position, spec in enumerate(specs):
        step = Step(sequence_id=sequence.id, parent_id=parent.id if parent else None,
                    branch=branch, position=position, type=spec["type"],
                    name=spec.get("name", spec["type"]), config=spec.get("config", {}))
        db.session.add(step)
        db.session.flush()
        for sub in ("yes", "no"):
            if spec.get(sub):
                add_steps(sequence, spec[sub], step, sub)


def sequence(specs: list[dict], *, settings: dict | None = None,
             name: str = "Outreach") -> Sequence:
    seq = Sequence(name=name, record_type="lead", status="active", version=1,
                   settings=settings or {})
    db.session.add(seq)
    db.session.flush()
    seq.lineage_id = seq.id
    add_steps(seq, specs)
    db.session.flush()
    return seq


def seller() -> User:
    user = db.session.execute(select(User).where(User.email == "seller@example.com")) \
        .scalar_one_or_none()
    if user is None:
        user = User(email="seller@example.com", name="Sam Seller", roles=["seller"],
                    status="active", password_hash="x")
        db.session.add(user)
        db.session.flush()
    return user


def lead(email: str = "lead@example.com", phone: str | None = None,
         first_name: str = "Lea") -> Record:
    record = Record(record_type="lead", first_name=first_name, last_name="Lead", status="new",
                    email=email, phone=phone, custom={}, time_zone="UTC")
    db.session.add(record)
    db.session.flush()
    return record


def connect(records, seq: Sequence) -> list[StepRun]:
    """Connect the records; returns the step run each is now at."""
    user = seller()
    runs = []
    for record in records:
        enrollment = connect_record(record, seq.lineage_id, seller_id=user.id)
        runs.append(db.session.execute(select(StepRun).where(
            StepRun.enrollment_id == enrollment.id).order_by(StepRun.id.desc())).scalars().first())
    db.session.flush()
    return runs
