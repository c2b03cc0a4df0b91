"""Leads and opportunities: lists, record pages, create, edit, delete, bulk actions, export."""

from __future__ import annotations

from flask import (
    Blueprint,
    Response,
    abort,
    flash,
    g,
    redirect,
    render_template,
    request,
    stream_with_context,
    url_for,
)
from flask_login import current_user, login_required

from saas.auth.access import requires
from saas.auth.models import Role
from saas.errors import ServiceError
from saas.i18n import _, ngettext
from saas.records import queries, services
from saas.records.conditions import OPERATORS
from saas.records.export import csv_lines
from saas.records.fields import fields_for
from saas.records.forms import CsrfForm
from saas.records.models import Record, RecordType, language_name
from saas.records.validation import country_choices, country_name, time_zones
from saas.signals import answer, selection_connecting
from saas.tenancy import get_or_404, tenant_context
from saas.web.numbers import format_number
from saas.web.params import form_choice, form_fields, form_id, form_ids, query_fields

bp = Blueprint("records", __name__, url_prefix="/<tenant>")


@bp.before_request
@login_required
def _signed_in():
    return None


def _record_type(kind: str) -> RecordType:
    record_type = RecordType.LEAD if kind == "leads" else RecordType.OPPORTUNITY
    if record_type.value not in g.tenant.record_types:
        abort(404)
    return record_type


def _list(kind: str):
    record_type = _record_type(kind)
    fields = fields_for(record_type)
    query = queries.ListQuery.from_args(record_type, query_fields())
    page = queries.records_page(query, fields)
    return render_template(
        "records/list.html", record_type=record_type, kind=kind, query=query, page=page,
        fields=fields, sorts=queries.SORTS,
        owners=queries.owners(), owner_names=queries.owner_names(r.owner_id for r in page.items),
        form=CsrfForm(), list_endpoint=f"records.{kind}", operators=OPERATORS)


@bp.route("/leads")
def leads():
    return _list("leads")


@bp.route("/opportunities")
def opportunities():
    return _list("opportunities")


def _count(kind: str):
    """The list's count, fetched by htmx once the page shows (counting never delays the list)."""
    query = queries.ListQuery.from_args(_record_type(kind), query_fields())
    count = queries.count_capped(query)
    return render_template("records/_count.html", count=count, count_cap=queries.COUNT_CAP)


@bp.route("/leads/count")
def count_leads():
    return _count("leads")


@bp.route("/opportunities/count")
def count_opportunities():
    return _count("opportunities")


def _export(kind: str):
    record_type = _record_type(kind)
    query = queries.ListQuery.from_args(record_type, query_fields())
    query.after = None
    if queries.check_filters(query):
        flash(" ".join(query.errors), "error")
        return redirect(url_for(f"records.{kind}", **query.args()))
    tenant_id = g.tenant.id

    def body():
        # The response streams after the request's teardown: keep the tenant in context.
        with tenant_context(tenant_id):
            yield from csv_lines(query)

    return Response(stream_with_context(body()), mimetype="text/csv", headers={
        "Content-Disposition": f'attachment; filename="{kind}.csv"'})


@bp.route("/leads/export.csv")
@requires(Role.SEQUENCE_MANAGER)
def export_leads():
    return _export("leads")


@bp.route("/opportunities/export.csv")
@requires(Role.SEQUENCE_MANAGER)
def export_opportunities():
    return _export("opportunities")


def _form_context(record_type: str, **extra) -> dict:
    return dict(fields=fields_for(record_type), owners=queries.owners(),
                countries=country_choices(), time_zones=sorted(time_zones()),
                workspace_language=language_name(g.tenant.language), form=CsrfForm(), **extra)


def _new(kind: str):
    record_type = _record_type(kind)
    values = {"time_zone": g.tenant.time_zone, "owner_id": str(current_user.id)}
    errors: dict[str, str] = {}
    if request.method == "POST" and CsrfForm().validate_on_submit():
        values = form_fields().to_dict()  # checked field by field (records/validation.py)
        try:
            record = services.create_record(record_type, values)
        except services.RecordInvalid as invalid:
            errors = invalid.errors
        except ServiceError as error:
            flash(error.message, "error")
        else:
            flash(_("Lead %(name)s is created.", name=record.full_name)
                  if record_type == RecordType.LEAD else
                  _("Opportunity %(name)s is created.", name=record.full_name), "success")
            return redirect(url_for("records.show", record_id=record.id))
    status = 422 if errors else 200
    return render_template("records/form.html", record_type=record_type, record=None,
                           values=values, errors=errors, kind=kind,
                           **_form_context(record_type)), status


@bp.route("/leads/new", methods=["GET", "POST"])
def new_lead():
    return _new("leads")


@bp.route("/opportunities/new", methods=["GET", "POST"])
def new_opportunity():
    return _new("opportunities")


@bp.route("/records/<int:record_id>")
def show(record_id: int):
    record = get_or_404(Record, record_id)
    return render_template("records/show.html", record=record,
                           fields=fields_for(record.record_type), country_name=country_name,
                           language_name=language_name,
                           workspace_language=language_name(g.tenant.language),
                           owner_names=queries.owner_names([record.owner_id]), form=CsrfForm())


def _values_of(record: Record, fields) -> dict[str, str]:
    values = {}
    for key, f in fields.items():
        value = f.value_of(record)
        values[key] = "" if value is None else str(value)
    return values


@bp.route("/records/<int:record_id>/edit", methods=["GET", "POST"])
def edit(record_id: int):
    record = get_or_404(Record, record_id)
    fields = fields_for(record.record_type)
    values, errors = _values_of(record, fields), {}
    if request.method == "POST" and CsrfForm().validate_on_submit():
        values = form_fields().to_dict()  # checked field by field (records/validation.py)
        try:
            services.update_record(record, values)
        except services.RecordInvalid as invalid:
            errors = invalid.errors
        else:
            flash(_("%(name)s is saved.", name=record.full_name), "success")
            return redirect(url_for("records.show", record_id=record.id))
    return render_template("records/form.html", record_type=record.kind, record=record,
                           values=values, errors=errors, kind=record.kind.slug,
                           **_form_context(record.record_type)), 422 if errors else 200


@bp.route("/records/<int:record_id>/delete", methods=["POST"])
@requires(Role.SEQUENCE_MANAGER, Role.SELLER)
def delete(record_id: int):
    record = get_or_404(Record, record_id)
    kind = record.kind.slug
    if CsrfForm().validate_on_submit():
        services.delete_records([record.id])
        flash(_("%(name)s is deleted.", name=record.full_name), "success")
    return redirect(url_for(f"records.{kind}"))


def _bulk(kind: str):
    _record_type(kind)
    ids = form_ids()
    back = url_for(f"records.{kind}")
    if not CsrfForm().validate_on_submit() or not ids:
        flash(_("Select at least one record first."), "error")
        return redirect(back)
    action = form_choice("action", ("owner", "sequence", "delete"))
    try:
        if action == "owner":
            changed = services.change_owner(ids, form_id("owner_id"))
            flash(ngettext("The owner of one record is changed.",
                           "The owner of %(count)s records is changed.", changed,
                           count=format_number(changed)), "success")
        elif action == "sequence":
            flash(answer(selection_connecting, "", record_ids=ids,  # the engine connects
                         sequence_id=form_id("sequence_id"), user_id=current_user.id),
                  "success")
        elif action == "delete":
            deleted = services.delete_records(ids)
            flash(ngettext("One record deleted.", "%(count)s records deleted.", deleted,
                           count=format_number(deleted)), "success")
        else:
            flash(_("Choose what to do with the selected records."), "error")
    except ServiceError as error:
        flash(error.message, "error")
    return redirect(back)


@bp.route("/leads/bulk", methods=["POST"])
@requires(Role.SEQUENCE_MANAGER)
def bulk_leads():
    return _bulk("leads")


@bp.route("/opportunities/bulk", methods=["POST"])
@requires(Role.SEQUENCE_MANAGER)
def bulk_opportunities():
    return _bulk("opportunities")
