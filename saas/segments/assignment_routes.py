"""The assignment rules page of a segment, and a seller's availability switch."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import refresh
from flask_login import current_user
from flask_wtf import FlaskForm
from wtforms import (
    FieldList,
    Form,
    FormField,
    IntegerField,
    RadioField,
    SelectChoice,
    SelectField,
    StringField,
)
from wtforms.validators import DataRequired, Length, NumberRange, Optional

from saas.admin.forms import CheckboxesField, ConfirmForm
from saas.auth import services as auth_services
from saas.auth.access import requires
from saas.auth.models import Role
from saas.auth.routes import show_error
from saas.errors import ServiceError
from saas.extensions import db
from saas.i18n import LANGUAGES, _, _l, language_choices
from saas.records.conditions import NO_VALUE, OPERATORS
from saas.records.fields import fields_for
from saas.records.validation import time_zones
from saas.segments import assignment
from saas.segments.models import AssignmentRule, Distribution, Segment, SellerTarget
from saas.segments.rules import describe
from saas.tenancy import get_or_404
from saas.web.ids import coerce_id
from saas.web.params import form_choice, form_text

bp = Blueprint("assignment", __name__, url_prefix="/<tenant>/segments")
account_bp = Blueprint("availability", __name__, url_prefix="/<tenant>/account")

CONDITION_ROWS = 3
MAX_HOURS = 24 * 365 * 10
TARGETS = [SelectChoice(SellerTarget.ANY.value, _l("Any available seller")),
           SelectChoice(SellerTarget.SPECIFIC.value, _l("Specific sellers")),
           SelectChoice(SellerTarget.MATCHING.value,
                        _l("Sellers whose country matches the record's"))]
DISTRIBUTIONS = [SelectChoice(Distribution.ROUND_ROBIN.value, _l("Round robin")),
                 SelectChoice(Distribution.LOAD_BALANCING.value,
                              _l("Load balancing (fewest open records)"))]
NONE = SelectChoice("", "—")


class ConditionRow(Form):
    field = SelectField(_l("Field"), choices=[], validate_choice=False)
    operator = SelectField(_l("Operator"), validate_choice=False,
                           choices=[NONE] + [SelectChoice(k, v) for k, v in OPERATORS.items()])
    value = StringField(_l("Value"))


class RuleForm(FlaskForm):
    name = StringField(_l("Name"), validators=[
        DataRequired(message=_l("Give the rule a name.")), Length(max=120)])
    conditions = FieldList(FormField(ConditionRow), min_entries=CONDITION_ROWS,
                         max_entries=CONDITION_ROWS)
    target = RadioField(_l("Assign to"), choices=TARGETS, default=SellerTarget.ANY.value)
    seller_ids = CheckboxesField(_l("Sellers"), choices=[], coerce=coerce_id,
                                 validate_choice=False)
    distribution = RadioField(_l("Distribution"), choices=DISTRIBUTIONS,
                              default=Distribution.ROUND_ROBIN.value)
    created_within_hours = IntegerField(
        _l("Only records created in the last … hours"), validators=[
            Optional(), NumberRange(min=1, max=MAX_HOURS,
                                    message=_l("Enter a number of hours from 1 to 87,600."))],
        description=_l("Leave empty to assign records whatever their age."))

    def condition_tree(self) -> tuple[dict, list[int]]:
        """The filled rows as an And group, and the form row index of each condition."""
        rules, rows = [], []
        for index, entry in enumerate(self.conditions):
            row = entry.form
            if not row.field.data:
                continue
            value = None if row.operator.data in NO_VALUE else (row.value.data or "").strip()
            rules.append({"field": row.field.data, "operator": row.operator.data,
                          "value": value})
            rows.append(index)
        return {"op": "and", "rules": rules}, rows


def _seller_label(seller) -> str:
    notes = [n for n in (seller.country, None if seller.available else _("unavailable")) if n]
    return _("%(name)s (%(notes)s)", name=seller.name, notes=", ".join(notes)) if notes \
        else seller.name


def _segment(segment_id: int) -> Segment:
    return get_or_404(Segment, segment_id)


def _rule(segment: Segment, rule_id: int) -> AssignmentRule:
    rule = get_or_404(AssignmentRule, rule_id)
    if rule.segment_id != segment.id:
        abort(404)
    return rule


@bp.route("/<int:segment_id>/assignment", methods=["GET", "POST"])
@requires(Role.SEQUENCE_MANAGER, sequences=True)
def rules(segment_id: int):
    segment = _segment(segment_id)
    fields = fields_for(segment.record_type)
    sellers = assignment.eligible_sellers_for_choice()
    form = RuleForm()
    for entry in form.conditions:
        entry.form.field.choices = [NONE] + [SelectChoice(k, f.label) for k, f in fields.items()]
    form.seller_ids.choices = [SelectChoice(s.id, _seller_label(s)) for s in sellers]
    valid = form.validate_on_submit()
    if request.method == "POST":
        tree, rows = form.condition_tree()
        values = {"name": form.name.data or "", "conditions": tree,
                  "target": form.target.data, "seller_ids": form.seller_ids.data or [],
                  "distribution": form.distribution.data,
                  "created_within_hours": form.created_within_hours.data}
        for key, message in assignment.rule_errors(segment, **values).items():
            valid = False
            if key.startswith("conditions:"):
                path = key.split(":", 1)[1]
                target = form.conditions[rows[int(path.split(".")[0])] if path else 0].form.value
            else:
                target = getattr(form, key, None)
            if target is None:
                flash(message, "error")
            elif message not in target.errors:
                target.errors = [*target.errors, message]
        if valid:
            try:
                assignment.add_rule(segment, **values)
            except ServiceError as error:
                show_error(form, error)
            else:
                db.session.commit()
                flash(_("The rule “%(name)s” is added.", name=form.name.data.strip()),
                      "success")
                return redirect(url_for("assignment.rules", segment_id=segment.id))
    status = 400 if request.method == "POST" else 200
    names = {s.id: s.name for s in sellers}
    listed = [(rule, describe(rule.conditions or {}, fields),
               ", ".join(names.get(i, _("(no longer a seller)")) for i in rule.seller_ids or []))
              for rule in assignment.rules_of(segment.id)]
    return render_template("segments/assignment.html", segment=segment, form=form,
                           rules=listed, confirm=ConfirmForm()), status


@bp.route("/<int:segment_id>/assignment/<int:rule_id>/delete", methods=["POST"])
@requires(Role.SEQUENCE_MANAGER, sequences=True)
def delete_rule(segment_id: int, rule_id: int):
    segment = _segment(segment_id)
    rule = _rule(segment, rule_id)
    if ConfirmForm().validate_on_submit():
        name = rule.name
        assignment.delete_rule(rule)
        db.session.commit()
        flash(_("The rule “%(name)s” is removed.", name=name), "success")
    return redirect(url_for("assignment.rules", segment_id=segment.id))


@bp.route("/<int:segment_id>/assignment/<int:rule_id>/move", methods=["POST"])
@requires(Role.SEQUENCE_MANAGER, sequences=True)
def move_rule(segment_id: int, rule_id: int):
    segment = _segment(segment_id)
    rule = _rule(segment, rule_id)
    if ConfirmForm().validate_on_submit():
        assignment.move_rule(rule, form_choice("direction", ("up", "down")))
        db.session.commit()
    return redirect(url_for("assignment.rules", segment_id=segment.id))


@account_bp.route("/availability", methods=["GET", "POST"])
@requires()
def availability():
    form = ConfirmForm()
    if form.validate_on_submit():
        assignment.set_available(current_user, not current_user.available)
        db.session.commit()
        flash(_("You are available: new records can be assigned to you.")
              if current_user.available else
              _("You are unavailable: assignment rules skip you until you switch back."),
              "success")
        return redirect(url_for("availability.availability"))
    return _account_page(form)


def _account_page(form, errors: dict | None = None, entered: str | None = None,
                  entered_language: str | None = None):
    return render_template("account/availability.html", form=form, errors=errors or {},
                           entered=entered, time_zones=sorted(time_zones()),
                           languages=language_choices(), entered_language=entered_language)


@account_bp.route("/time-zone", methods=["POST"])
@requires()
def time_zone():
    """The user's own time zone: the worklist's "today" and the times shown to them."""
    form = ConfirmForm()
    if not form.validate_on_submit():
        return redirect(url_for("availability.availability"))
    value = form_text("time_zone").strip()
    if value not in time_zones():
        return _account_page(form, {"time_zone": _(
            "“%(value)s” is not a time zone: choose one from the list, e.g. Europe/Paris.",
            value=value)}, value), 422
    auth_services.choose_time_zone(current_user, value)
    flash(_("Your time zone is now %(zone)s.", zone=value), "success")
    return redirect(url_for("availability.availability"))


@account_bp.route("/language", methods=["POST"])
@requires()
def language():
    """The user's own language on their profile; "" (the browser's language) stores None."""
    form = ConfirmForm()
    if not form.validate_on_submit():
        return redirect(url_for("availability.availability"))
    value = form_text("language", 16).strip()
    if value and value not in LANGUAGES:
        return _account_page(form, {"language": _(
            "Choose one of the languages in the list.")}, entered_language=value), 422
    auth_services.choose_language(current_user, value or None)
    refresh()  # the message below speaks the new language
    flash(_("Pages now speak %(language)s.", language=LANGUAGES[value]) if value else
          _("Pages now speak your browser's language."), "success")
    return redirect(url_for("availability.availability"))
