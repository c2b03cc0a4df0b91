"""What the record page's Up next panel shows: for every sequence the record is connected to, the
current activity (or wait), the rest of its branch and the steps already done.

Four queries whatever the number of enrollments: enrollments with their sequence, the record's
step runs, the steps of those sequence versions, and the names of the people who did them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from html import escape

from sqlalchemy import select

from saas.auth.models import User
from saas.engine.models import Enrollment, EnrollmentStatus, StepRun, StepRunStatus
from saas.extensions import db
from saas.i18n import _, _l, ngettext
from saas.records.models import Record
from saas.sequences.models import Sequence, Step, StepType
from saas.templates_ import services as template_services
from saas.templates_.models import MessageTemplate
from saas.web import dates
from saas.worklist.queries import ACTIVITY_TYPES, ICONS

CURRENT_STATUSES = (StepRunStatus.OPEN.value, StepRunStatus.WAITING.value,
                    StepRunStatus.PENDING.value, StepRunStatus.SENDING.value)
CALL_OUTCOMES = {"connected": _l("Connected"), "left_voicemail": _l("Left voicemail"),
                 "no_answer": _l("No answer"), "wrong_number": _l("Wrong number")}
TYPE_LABELS = {**ACTIVITY_TYPES, "auto_email": _l("Automated email"),
               "auto_sms": _l("Automated text"), "wait": _l("Wait"), "ab_test": _l("A/B test"),
               "email_condition": _l("Email condition"), "call_condition": _l("Call condition"),
               "field_condition": _l("Field condition"), "update_field": _l("Update field"),
               "move_to_sequence": _l("Move to sequence")}
STATUS_LABELS = {"completed": _l("Done"), "skipped": _l("Skipped"), "sent": _l("Sent"),
                 "failed": _l("Failed"), "unknown": _l("Sent (unconfirmed)"),
                 "cancelled": _l("Cancelled")}


def type_label(step_type: str) -> str:
    return str(TYPE_LABELS.get(step_type, step_type.replace("_", " ").capitalize()))


def icon(step_type: str) -> str:
    return ICONS.get(step_type, "◆" if "condition" in step_type else "•")


@dataclass
class Done:
    run: StepRun
    step: Step | None
    by: str

    @property
    def label(self) -> str:
        if self.run.outcome == "wait_skipped":
            return _("Skipped")  # a wait the seller ended early: "Skipped by Sam Seller"
        if self.run.status == StepRunStatus.COMPLETED.value and self.run.outcome in CALL_OUTCOMES:
            return str(CALL_OUTCOMES[self.run.outcome])
        if self.run.status == StepRunStatus.COMPLETED.value and self.run.outcome == "yes":
            return _("Yes")
        if self.run.status == StepRunStatus.COMPLETED.value and self.run.outcome == "no":
            return _("No")
        if self.run.status == StepRunStatus.COMPLETED.value and self.run.provider_message_id:
            return _("Sent")
        return str(STATUS_LABELS.get(self.run.status, self.run.status.capitalize()))


@dataclass
class SequencePanel:
    enrollment: Enrollment
    sequence: Sequence
    current: StepRun | None
    current_step: Step | None
    upcoming: list[Step] = field(default_factory=list)
    done: list[Done] = field(default_factory=list)
    seller_name: str = ""
    planned: dict[int, datetime] = field(default_factory=dict)  # upcoming step id -> when

    @property
    def running(self) -> bool:
        return self.enrollment.status in (EnrollmentStatus.ACTIVE.value,
                                          EnrollmentStatus.PAUSED.value)

    @property
    def can_skip_wait(self) -> bool:
        return (self.current is not None and self.current_step is not None
                and self.current.status == StepRunStatus.WAITING.value
                and self.current_step.type == StepType.WAIT.value
                and bool((self.sequence.settings or {}).get("allow_skip_wait")))


def panels_for(record: Record) -> list[SequencePanel]:
    """Running enrollments first (newest first), then the ended ones."""
    enrollments = db.session.execute(
        select(Enrollment, Sequence).join(Sequence, Sequence.id == Enrollment.sequence_id)
        .where(Enrollment.record_id == record.id)
        .order_by(Enrollment.started_at.desc(), Enrollment.id.desc()).limit(20)
    ).all()
    if not enrollments:
        return []
    runs = db.session.execute(
        select(StepRun).where(StepRun.record_id == record.id,
                              StepRun.enrollment_id.in_([e.id for e, __ in enrollments]))
        .order_by(StepRun.id)
    ).scalars().all()
    steps = {s.id: s for s in db.session.execute(
        select(Step).where(Step.sequence_id.in_({s.id for __, s in enrollments}))).scalars()}
    people = {r.completed_by_id for r in runs if r.completed_by_id} | \
        {e.seller_id for e, __ in enrollments if e.seller_id}
    names = dict(db.session.execute(
        select(User.id, User.name).where(User.id.in_(people))).all()) if people else {}

    panels = []
    for enrollment, sequence in enrollments:
        mine = [r for r in runs if r.enrollment_id == enrollment.id]
        current = next((r for r in reversed(mine) if r.status in CURRENT_STATUSES), None)
        current_step = steps.get(current.step_id) if current else None
        panel = SequencePanel(enrollment, sequence, current, current_step,
                              seller_name=names.get(enrollment.seller_id, ""))
        anchor = current_step or steps.get(enrollment.current_step_id or -1)
        if anchor is not None and panel.running:
            panel.upcoming = [s for s in steps.values()
                              if s.sequence_id == anchor.sequence_id
                              and s.parent_id == anchor.parent_id and s.branch == anchor.branch
                              and s.position > anchor.position]
            panel.upcoming.sort(key=lambda s: s.position)
            if enrollment.status == EnrollmentStatus.ACTIVE.value:  # paused: nothing is due
                panel.planned = planned_times(panel, record)
        panel.done = [Done(r, steps.get(r.step_id),
                           names.get(r.completed_by_id, "") if r.completed_by_id else "")
                      for r in mine if r is not current and r.status not in CURRENT_STATUSES]
        panels.append(panel)
    panels.sort(key=lambda p: not p.running)
    return panels


def planned_times(panel: SequencePanel, record: Record) -> dict[int, datetime]:
    """When each upcoming step is due if everything before it happens on time (the current
    activity done now): the engine's own arithmetic, so waits in working time skip closure days
    and sends wait for the sending window. Stops at a condition (its branch is not known)."""
    from saas.engine import clock
    from saas.engine.advance import wait_due
    from saas.engine.working_time import activity_due, for_settings, send_due

    settings = panel.sequence.settings or {}
    working = for_settings(settings)
    now = clock.now()
    current = panel.current
    at = max(now, current.due_at) if current is not None and current.due_at else now
    planned: dict[int, datetime] = {}
    for step in panel.upcoming:
        try:
            kind = StepType(step.type)
        except ValueError:
            break
        if kind is StepType.AB_TEST or "condition" in step.type:
            break
        if kind is StepType.WAIT:
            at = wait_due(step, at, record.time_zone, working)
        elif kind.is_automated_send:
            at = send_due(at, record.time_zone, settings.get("window"), working)
        elif kind.is_manual:
            at = activity_due(at, working)
        else:
            continue
        planned[step.id] = at
    return planned


def template_for(run: StepRun, step: Step) -> MessageTemplate | None:
    """The step's template; for an A/B test step, the template of the record's version."""
    config = step.config or {}
    if step.type == StepType.AB_TEST.value:
        version = run.ab_version or config.get("default_version") or "A"
        config = (config.get("versions") or {}).get(version) or {}
    template_id = config.get("template_id")
    if not template_id:
        return None
    return db.session.execute(select(MessageTemplate).where(
        MessageTemplate.id == int(template_id))).scalar_one_or_none()


@dataclass
class Draft:
    """The composer's content: rendered from the template for this record, or what was typed."""

    channel: str                  # "email" or "sms"
    to: str | None
    subject: str = ""
    body: str = ""
    html: str = ""                # the template's HTML, sent when the body was not edited
    template_name: str | None = None
    error: str | None = None
    suppressed: bool = False


def tracker():
    """The messaging area's tracking (unsubscribe link, opens, clicks, replies) for the tenant."""
    from saas.auth.tenants import current_tenant
    from saas.messaging.config import config_for
    from saas.messaging.tracking import Tracker

    tenant = current_tenant()
    return Tracker(tenant.id, tenant.slug, config_for(tenant.id).inbound_domain)


def _workspace_language() -> str | None:
    from saas.auth.tenants import current_tenant

    tenant = current_tenant()
    return tenant.language if tenant is not None else None


def unsubscribe_url(run: StepRun, address: str | None) -> str:
    return tracker().unsubscribe_url(run.id, address) if address else ""


def draft_for(run: StepRun, step: Step, record: Record) -> Draft:
    from saas.messaging.suppression import is_suppressed

    channel = "sms" if run.step_type == StepType.SMS.value else "email"
    to = record.phone if channel == "sms" else record.email
    draft = Draft(channel=channel, to=to, suppressed=bool(to) and is_suppressed(to))
    template = template_for(run, step)
    if template is None:
        return draft
    # The version in the record's language, else the workspace's, else the template itself.
    template = template_services.version_for(template, record.language, _workspace_language())
    draft.template_name = template.name
    rendered = template_services.render(
        template, template_services.context_for(record, unsubscribe_url(run, to)))
    if rendered.error:
        draft.error = _("The template “%(template)s” could not be rendered: %(error)s",
                        template=template.name, error=rendered.error)
        return draft
    if channel == "sms":
        draft.body = rendered.body
    else:
        draft.subject, draft.body, draft.html = rendered.subject, rendered.text, rendered.html
    return draft


def html_of(body: str, draft: Draft) -> str:
    """The HTML to send: the template's own when the seller left the text as rendered, else the
    typed text as paragraphs."""
    if draft.html and _same(body, draft.body):
        return draft.html
    paragraphs = [p for p in body.replace("\r\n", "\n").split("\n\n") if p.strip()]
    return "".join("<p>" + escape(p).replace("\n", "<br>") + "</p>" for p in paragraphs)


def _same(a: str, b: str) -> bool:
    return a.replace("\r\n", "\n").strip() == b.replace("\r\n", "\n").strip()


def when_label(value: datetime | None) -> str:
    """A moment in the viewer's time zone: "Nov 24, 2026, 9:00 AM"."""
    return dates.format_datetime(value)


def wait_label(config: dict | None) -> str:
    """{"days": 1, "hours": 2} -> "1 day 2 hours"."""
    config = config or {}
    days, hours = int(config.get("days") or 0), int(config.get("hours") or 0)
    day_text = ngettext("%(num)d day", "%(num)d days", days)
    hour_text = ngettext("%(num)d hour", "%(num)d hours", hours)
    if days and hours:
        return _("%(days)s %(hours)s", days=day_text, hours=hour_text)
    if days:
        return day_text
    if hours:
        return hour_text
    return _("no time")
