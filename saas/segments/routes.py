"""Segments: the list, the editor with its rule builder and simulation, activation."""

from __future__ import annotations

from flask import Blueprint, flash, g, redirect, render_template, request, url_for
from sqlalchemy import select

from saas.auth.access import requires
from saas.auth.models import Role
from saas.errors import ServiceError
from saas.extensions import db
from saas.i18n import _, ngettext
from saas.records.conditions import OPERATORS, OPERATORS_BY_KIND
from saas.records.fields import fields_for
from saas.records.forms import CsrfForm
from saas.records.models import RecordType
from saas.segments import builder, membership, services
from saas.segments.models import Segment
from saas.segments.rules import describe, empty_rules, validate
from saas.tenancy import get_or_404
from saas.web.numbers import format_number
from saas.web.params import MAX_DESCRIPTION, choice_arg, form_fields, form_text

bp = Blueprint("segments", __name__, url_prefix="/<tenant>/segments")


@bp.before_request
@requires(Role.SEQUENCE_MANAGER, sequences=True)
def _gate():
    return None


@bp.route("")
def index():
    segments = db.session.execute(select(Segment).order_by(
        Segment.record_type, Segment.priority.desc(), Segment.name)).scalars().all()
    summaries = {s.id: describe(s.rules, fields_for(s.record_type)) for s in segments}
    return render_template("segments/index.html", segments=segments, summaries=summaries)


# Bounds of the segment form's own fields: above the service's checks, which answer in the page.
SEGMENT_FIELDS = {"name": 1_000, "description": MAX_DESCRIPTION, "record_type": 100,
                  "priority": 100}


def _editor(segment: Segment | None):
    """GET shows; POST applies a builder action, simulates, or saves."""
    form = CsrfForm()
    if request.method == "GET":
        values = {"name": segment.name if segment else "",
                  "description": segment.description if segment else "",
                  "record_type": segment.record_type if segment else
                  choice_arg("record_type", RecordType, RecordType.LEAD.value),
                  "priority": str(segment.priority if segment else 0)}
        tree = segment.rules if segment and segment.rules.get("rules") else empty_rules()
        if not tree["rules"]:
            tree = builder.apply_action(tree, "add-row:r")
        return _render(segment, values, tree, {}, {}, None, form)

    values = {k: form_text(k, bound) for k, bound in SEGMENT_FIELDS.items()}
    tree = builder.tree_from_form(form_fields())
    action = form_text("action", 200, "save")
    if not form.validate_on_submit():
        flash(_("This form expired; nothing was saved. Try again."), "error")
        return _render(segment, values, tree, {}, {}, None, form)
    if action.startswith(("add-row:", "add-group:", "remove:")):
        return _render(segment, values, builder.apply_action(tree, action), {}, {}, None, form)
    if action.startswith("refresh:"):
        tree = builder.fit_to_fields(tree, fields_for(_record_type(values)))
        node = builder.find(tree, action.partition(":")[2])
        if request.headers.get("HX-Request") and node is not None and "rules" not in node:
            return _render(segment, values, tree, {}, {}, None, form,
                           only_row={"node": node, "path": action.partition(":")[2]})
        return _render(segment, values, tree, {}, {}, None, form)
    field_errors, rule_errors = {}, {}
    if action == "simulate":
        fields = fields_for(values["record_type"]) \
            if values["record_type"] in g.tenant.record_types else {}
        rule_errors = validate(tree, fields) if fields else {}
        simulation = None
        if fields and not rule_errors:
            simulation = membership.simulate(values["record_type"], tree)
        return _render(segment, values, tree, {}, rule_errors, simulation, form)
    try:
        saved = services.save_segment(segment, rules=tree, **values)
    except services.SegmentInvalid as invalid:
        field_errors, rule_errors = invalid.field_errors, invalid.rule_errors
    else:
        flash(_("The segment “%(name)s” is saved.", name=saved.name), "success")
        return redirect(url_for("segments.edit", segment_id=saved.id))
    return _render(segment, values, tree, field_errors, rule_errors, None, form, status=422)


def _record_type(values: dict) -> str:
    return values["record_type"] if values["record_type"] in g.tenant.record_types \
        else RecordType.LEAD.value


def _render(segment, values, tree, field_errors, rule_errors, simulation, form, status=200,
            only_row: dict | None = None):
    """The editor page, its form alone for htmx, or (`only_row`) one rule row for htmx."""
    fields = fields_for(_record_type(values))
    template = "segments/_editor.html" if request.headers.get("HX-Request") \
        else "segments/edit.html"
    return render_template(
        template, segment=segment, values=values, tree=tree, fields=fields,
        field_errors=field_errors, rule_errors=builder.errors_by_form_path(rule_errors),
        simulation=simulation, form=form, operators=OPERATORS,
        operators_by_kind=OPERATORS_BY_KIND, record_types=g.tenant.record_types,
        max_depth=builder.MAX_DEPTH, depth_of=builder.depth_of, only_row=only_row), status


@bp.route("/new", methods=["GET", "POST"])
def new():
    return _editor(None)


@bp.route("/<int:segment_id>", methods=["GET", "POST"])
def edit(segment_id: int):
    return _editor(get_or_404(Segment, segment_id))


def _action(segment_id: int, act, done):
    """Run `act` on the segment; `done(segment, result)` says what happened."""
    segment = get_or_404(Segment, segment_id)
    if CsrfForm().validate_on_submit():
        try:
            result = act(segment)
        except ServiceError as error:
            flash(error.message, "error")
        else:
            flash(done(segment, result or {}), "success")
    return redirect(url_for("segments.edit", segment_id=segment.id))


@bp.route("/<int:segment_id>/activate", methods=["POST"])
def activate(segment_id: int):
    return _action(segment_id, services.activate, lambda segment, result: ngettext(
        "“%(name)s” is active: %(count)s record is a member.",
        "“%(name)s” is active: %(count)s records are members.", segment.member_count,
        name=segment.name, count=format_number(segment.member_count)))


@bp.route("/<int:segment_id>/deactivate", methods=["POST"])
def deactivate(segment_id: int):
    return _action(segment_id, services.deactivate, lambda segment, result: _(
        "“%(name)s” is inactive: its membership no longer changes.", name=segment.name))


@bp.route("/<int:segment_id>/reevaluate", methods=["POST"])
def reevaluate(segment_id: int):
    return _action(segment_id, services.reevaluate, lambda segment, result: _(
        "Re-evaluated: %(joined)s joined, %(left)s left.",
        joined=format_number(result["joined"]), left=format_number(result["left"])))


@bp.route("/<int:segment_id>/delete", methods=["POST"])
def delete(segment_id: int):
    segment = get_or_404(Segment, segment_id)
    if CsrfForm().validate_on_submit():
        services.delete_segment(segment)
        flash(_("The segment “%(name)s” is deleted.", name=segment.name), "success")
    return redirect(url_for("segments.index"))
