"""The designer: tiles, the add-a-step choice, the step pane, delete and move. Every action is a
plain form; the page boosts them with htmx so only the designer is swapped."""

from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for

from saas.errors import ServiceError
from saas.i18n import _
from saas.records.conditions import OPERATORS
from saas.records.fields import fields_for
from saas.records.forms import CsrfForm
from saas.sequences import editing, queries, rules
from saas.sequences.blueprint import bp
from saas.sequences.models import Sequence, Step
from saas.sequences.steps import (
    BY_TYPE,
    DAY_NAMES,
    EVENT_LABELS,
    KINDS,
    METRIC_LABELS,
    OUTCOME_LABELS,
    TABS,
)
from saas.tenancy import get_or_404
from saas.web.ids import parse_id
from saas.web.params import (
    MAX_DESCRIPTION,
    choice_arg,
    form_choice,
    form_fields,
    form_text,
    text_arg,
)


def _step_of(sequence: Sequence, step_id: int) -> Step:
    step = get_or_404(Step, step_id)
    if step.sequence_id != sequence.id:
        from flask import abort

        abort(404)
    return step


def _parse_add(raw: str | None):
    """"<parent id or 'root'>:<branch>:<position>" from the + links."""
    parts = (raw or "").split(":")
    if len(parts) != 3:
        return None
    parent, branch, position = parts
    parent_id = None if parent == "root" else parse_id(parent)
    if (parent != "root" and parent_id is None) or not (
            position.isascii() and position.isdigit() and len(position) <= 4):
        return None
    return parent_id, branch, int(position)


def render_designer(sequence: Sequence, *, selected: Step | None = None, values=None,
                    errors=None, notes=None, status: int = 200):
    add_param = text_arg("add", 100) or None  # where the step pane adds a step (kept in its links)
    add = _parse_add(add_param) if selected is None else None
    tab_asked = choice_arg("tab", dict(TABS))  # a tab chosen in the pane, not its opening
    tab = tab_asked or "steps"
    problems = queries.problems_of(sequence) if sequence.status == "draft" else []
    flagged = {p.step_id for p in problems if p.step_id is not None}
    if selected is not None and notes is None and errors is None:
        notes = [m for step_id, m in ((p.step_id, p.message) for p in problems)
                 if step_id == selected.id]
    html = render_template(
        "sequences/designer.html", sequence=sequence, nodes=queries.tree(sequence),
        selected=selected, values=values if values is not None else (
            _values(selected) if selected else None),
        errors=errors or {}, notes=notes or [], add=add, add_param=add_param, tab=tab,
        tab_asked=bool(tab_asked), tabs=TABS,
        kinds=KINDS, by_type=BY_TYPE, flagged=flagged, problem_count=len(problems),
        readonly=sequence.status != "draft", versions=queries.versions(sequence.lineage_id),
        ab_tests=queries.ab_tests(sequence.id), draft=queries.newest_draft(sequence.lineage_id),
        running=queries.running_count(sequence.lineage_id),
        templates=queries.templates_by_kind(),
        sequences={k: v for k, v in queries.lineage_names(sequence.record_type).items()
                   if k != sequence.lineage_id},
        fields=fields_for(sequence.record_type), operators=OPERATORS,
        event_labels=EVENT_LABELS, outcome_labels=OUTCOME_LABELS, metric_labels=METRIC_LABELS,
        days=DAY_NAMES, form=CsrfForm())
    return html, status


def _values(step: Step) -> dict:
    return {"name": step.name, "description": step.description, "config": step.config or {}}


@bp.route("/<int:sequence_id>")
def designer(sequence_id: int):
    sequence = get_or_404(Sequence, sequence_id)
    selected = None
    if text_arg("step", 40):
        selected = _step_of(sequence, text_arg("step", 40))
    return render_designer(sequence, selected=selected)


def _back(sequence: Sequence, **args):
    return redirect(url_for("sequences.designer", sequence_id=sequence.id, **args))


@bp.route("/<int:sequence_id>/steps", methods=["POST"])
def add_step(sequence_id: int):
    sequence = get_or_404(Sequence, sequence_id)
    if not CsrfForm().validate_on_submit():
        flash(_("This form expired; nothing changed. Try again."), "error")
        return _back(sequence)
    place = _parse_add(form_text("place", 100, cut=True))
    if place is None:
        flash(_("Choose where to add the step with a + button."), "error")
        return _back(sequence)
    parent_id, branch, position = place
    try:
        step = editing.add_step(sequence, form_text("type", 100), parent_id=parent_id,
                                branch=branch, position=position)
    except ServiceError as error:
        flash(error.message, "error")
        return _back(sequence)
    return _back(sequence, step=step.id, _anchor="pane")


@bp.route("/<int:sequence_id>/steps/<int:step_id>", methods=["POST"])
def save_step(sequence_id: int, step_id: int):
    from saas.sequences.steps import config_from_form

    sequence = get_or_404(Sequence, sequence_id)
    step = _step_of(sequence, step_id)
    if not CsrfForm().validate_on_submit():
        flash(_("This form expired; nothing was saved. Try again."), "error")
        return _back(sequence, step=step.id)
    config = config_from_form(step.type, form_fields(), step.config)
    values = {"name": form_text("name", default=step.name),
              "description": form_text("description", MAX_DESCRIPTION, step.description),
              "config": config}
    try:
        notes = editing.save_step(sequence, step, name=values["name"],
                                  description=values["description"], config=config)
    except editing.StepInvalid as invalid:
        errors: dict[str, list[str]] = {}
        for field, message in invalid.problems:
            errors.setdefault(field, []).append(message)
        status = 200 if request.headers.get("HX-Request") else 422
        return render_designer(sequence, selected=step, values=values, errors=errors,
                               status=status)
    except ServiceError as error:
        flash(error.message, "error")
        return _back(sequence)
    if notes:
        flash(_("“%(name)s” is saved. Before activation: %(notes)s", name=step.name,
                notes=" ".join(str(message) for __, message in notes)), "success")
    else:
        flash(_("“%(name)s” is saved.", name=step.name), "success")
    if form_text("action", 100) == "save":
        return _back(sequence, step=step.id, _anchor="pane")
    return _back(sequence, _anchor=f"step-{step.id}")


@bp.route("/<int:sequence_id>/steps/<int:step_id>/delete", methods=["POST"])
def delete_step(sequence_id: int, step_id: int):
    sequence = get_or_404(Sequence, sequence_id)
    step = _step_of(sequence, step_id)
    if CsrfForm().validate_on_submit():
        keep = form_choice("keep", ("yes", "no", "none"), "none")
        try:
            editing.delete_step(sequence, step, keep=keep)
        except ServiceError as error:
            flash(error.message, "error")
        else:
            if step.type in rules.CONDITIONS and keep == "yes":
                done = _("“%(name)s” is deleted. Its Yes branch took its place.", name=step.name)
            elif step.type in rules.CONDITIONS and keep == "no":
                done = _("“%(name)s” is deleted. Its No branch took its place.", name=step.name)
            elif step.type in rules.CONDITIONS:
                done = _("“%(name)s” is deleted. Its Yes and No branches were deleted with it.",
                         name=step.name)
            else:
                done = _("“%(name)s” is deleted. The steps after it moved up.", name=step.name)
            flash(done, "success")
    return _back(sequence)


@bp.route("/<int:sequence_id>/steps/<int:step_id>/move", methods=["POST"])
def move_step(sequence_id: int, step_id: int):
    sequence = get_or_404(Sequence, sequence_id)
    step = _step_of(sequence, step_id)
    if CsrfForm().validate_on_submit():
        try:
            editing.move_step(sequence, step, form_choice("direction", ("up", "down"), "up"))
        except ServiceError as error:
            flash(error.message, "error")
    return _back(sequence, _anchor=f"step-{step.id}")
