"""Message templates: the list, the email and SMS editors, preview against a record, deletion."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from sqlalchemy import select

from saas.auth.access import requires
from saas.auth.models import Role
from saas.errors import ServiceError
from saas.extensions import db
from saas.messaging import rendering
from saas.records.forms import CsrfForm
from saas.records.models import Record
from saas.templates_ import services
from saas.templates_.forms import TemplateForm
from saas.templates_.models import MessageTemplate, TemplateKind
from saas.tenancy import get_or_404
from saas.web.params import choice_arg, text_arg

bp = Blueprint("message_templates", __name__, url_prefix="/<tenant>/templates")


@bp.before_request
@requires(Role.SEQUENCE_MANAGER, sequences=True)
def _gate():
    return None


@bp.route("")
def index():
    kind = choice_arg("kind", TemplateKind)
    stmt = select(MessageTemplate).order_by(MessageTemplate.kind, MessageTemplate.name,
                                            MessageTemplate.id)
    if kind in set(TemplateKind):
        stmt = stmt.where(MessageTemplate.kind == kind)
    else:
        kind = ""
    templates = db.session.execute(stmt).scalars().all()
    return render_template("message_templates/index.html", templates=templates, kind=kind)


def _editor(template: MessageTemplate | None, kind: str):
    form = TemplateForm(obj=template)
    status = 200
    if form.validate_on_submit():
        try:
            saved = services.save_template(
                template, kind=kind, name=form.name.data, language=form.language.data,
                subject=form.subject.data or "", html_body=form.html_body.data or "",
                text_body=form.text_body.data or "", body=form.body.data or "")
        except services.TemplateInvalid as invalid:
            for field, messages in invalid.errors.items():
                if field in form:
                    form[field].errors = list(form[field].errors) + messages
            status = 422
        else:
            flash(f"The template “{saved.name}” is saved.", "success")
            return redirect(url_for("message_templates.edit", template_id=saved.id))
    elif request.method == "POST":
        status = 422
    sms = rendering.count_sms(form.body.data or "") if kind == TemplateKind.SMS else None
    return render_template(
        "message_templates/edit.html", template=template, form=form, kind=TemplateKind(kind),
        sms=sms, delete_form=CsrfForm(), merge_fields=rendering.RECORD_FIELDS,
        custom_keys=services.custom_keys()), status


@bp.route("/new", methods=["GET", "POST"])
def new():
    kind = text_arg("kind", 16) or TemplateKind.EMAIL.value
    if kind not in set(TemplateKind):
        abort(404)
    return _editor(None, kind)


@bp.route("/<int:template_id>", methods=["GET", "POST"])
def edit(template_id: int):
    template = get_or_404(MessageTemplate, template_id)
    return _editor(template, template.kind)


@bp.route("/<int:template_id>/preview")
def preview(template_id: int):
    template = get_or_404(MessageTemplate, template_id)
    query = text_arg("q")
    record = None
    if text_arg("record_id", 40):
        record = get_or_404(Record, text_arg("record_id", 40))
    candidates = services.find_records(query)
    if record is None and not query and candidates:
        record = candidates[0]
    result = services.preview(template, record) if record is not None else None
    return render_template("message_templates/preview.html", template=template, record=record,
                           candidates=candidates, query=query, result=result)


@bp.route("/<int:template_id>/delete", methods=["GET", "POST"])
def delete(template_id: int):
    """GET asks for confirmation; POST deletes (unless an active sequence uses the template)."""
    template = get_or_404(MessageTemplate, template_id)
    form = CsrfForm()
    in_use = services.template_in_use(template.id)
    if request.method == "POST" and form.validate_on_submit():
        try:
            services.delete_template(template)
        except ServiceError as error:
            flash(error.message, "error")
            return redirect(url_for("message_templates.edit", template_id=template.id))
        flash(f"The template “{template.name}” is deleted.", "success")
        return redirect(url_for("message_templates.index"))
    return render_template("message_templates/delete.html", template=template, form=form,
                           in_use=in_use)
