"""CSV import: upload, choose the columns, follow the progress, read the summary and the errors."""

from __future__ import annotations

from flask import (
    Blueprint,
    Response,
    flash,
    g,
    redirect,
    render_template,
    stream_with_context,
    url_for,
)
from flask_login import current_user
from werkzeug.exceptions import RequestEntityTooLarge

from saas.auth.access import requires
from saas.auth.models import Role
from saas.auth.routes import show_error
from saas.errors import ServiceError
from saas.i18n import _
from saas.imports import queries, services
from saas.imports.csvfile import TOO_LARGE, csv_text
from saas.imports.forms import ConfirmForm, UploadForm, mapping_form
from saas.imports.mapping import auto_mapping, importable_fields
from saas.imports.models import ImportJob, ImportStatus
from saas.records.models import RecordType
from saas.tenancy import get_or_404, tenant_context
from saas.web.params import choice_arg, cursor_arg

bp = Blueprint("imports", __name__, url_prefix="/<tenant>/imports")


@bp.before_request
@requires(Role.SEQUENCE_MANAGER)
def _only_managers():
    return None


@bp.route("")
def index():
    page = queries.imports_page(after=cursor_arg())
    return render_template("imports/index.html", page=page)


def _upload_form(**kwargs) -> UploadForm:
    form = UploadForm(record_type=choice_arg("record_type", g.tenant.record_types,
                                             RecordType.LEAD.value),
                      **kwargs)
    form.record_type.choices = [c for c in form.record_type.choices
                                if c.value in g.tenant.record_types]
    return form


@bp.errorhandler(RequestEntityTooLarge)
def _too_large(error):
    """A file past the server's request limit never reaches the form: say so next to the field."""
    form = _upload_form(formdata=None)
    form.file.errors = [str(TOO_LARGE)]
    return render_template("imports/new.html", form=form), 413


@bp.route("/new", methods=["GET", "POST"])
def new():
    form = _upload_form()
    if form.validate_on_submit():
        upload = form.file.data
        try:
            job = services.create_import(record_type=form.record_type.data,
                                         filename=upload.filename or "", content=upload.read(),
                                         user_id=current_user.id)
        except ServiceError as error:
            show_error(form, error)
        else:
            return redirect(url_for("imports.mapping", import_id=job.id))
    return render_template("imports/new.html", form=form)


@bp.route("/<int:import_id>/mapping", methods=["GET", "POST"])
def mapping(import_id: int):
    job = get_or_404(ImportJob, import_id)
    if job.status != ImportStatus.UPLOADED:
        return redirect(url_for("imports.show", import_id=job.id))
    fields = importable_fields(job.record_type)
    initial = ({int(i): key for i, key in job.mapping.items()} if job.mapping
               else auto_mapping(job.headers, fields))
    form = mapping_form(job.headers, fields, initial, job.duplicate_mode)
    problem = None
    if form.validate_on_submit():
        try:
            services.start_import(job, mapping=form.chosen(),
                                  duplicate_mode=form.duplicate_mode.data)
        except ServiceError as error:
            problem = error.message
        else:
            return redirect(url_for("imports.show", import_id=job.id))
    return render_template("imports/mapping.html", job=job, form=form, problem=problem,
                           preview=queries.preview_lines(job), record_type=RecordType(
                               job.record_type))


@bp.route("/<int:import_id>")
def show(import_id: int):
    job = get_or_404(ImportJob, import_id)
    if job.status == ImportStatus.UPLOADED:
        return redirect(url_for("imports.mapping", import_id=job.id))
    return render_template("imports/show.html", job=job, **_state(job))


@bp.route("/<int:import_id>/progress")
def progress(import_id: int):
    """The state fragment htmx polls every second until the import has finished."""
    job = get_or_404(ImportJob, import_id)
    return render_template("imports/_state.html", job=job, **_state(job))


def _state(job: ImportJob) -> dict:
    errors = (queries.first_errors(job.id)
              if job.status == ImportStatus.COMPLETED and job.error_count else [])
    # A reason the tick wrote is the English message: shown in the viewer's language.
    reason = _(job.failure_reason) if job.failure_reason else ""
    return {"errors": errors, "shown_errors": queries.SHOWN_ERRORS, "confirm": ConfirmForm(),
            "record_type": RecordType(job.record_type), "failure_reason": reason}


@bp.route("/<int:import_id>/errors.csv")
def errors_csv(import_id: int):
    job_id, tenant_id = get_or_404(ImportJob, import_id).id, g.tenant.id

    def body():
        # The response streams after the request's teardown: keep the tenant in context.
        with tenant_context(tenant_id):
            yield from csv_text(["line", "message"], queries.error_lines(job_id))

    return Response(stream_with_context(body()), mimetype="text/csv", headers={
        "Content-Disposition": f'attachment; filename="import-{job_id}-errors.csv"'})


@bp.route("/<int:import_id>/restart", methods=["POST"])
def restart(import_id: int):
    job = get_or_404(ImportJob, import_id)
    if ConfirmForm().validate_on_submit():
        try:
            services.restart_import(job)
        except ServiceError as error:
            flash(error.message, "error")
        else:
            flash(_("The import of “%(file)s” is starting again.", file=job.filename), "success")
    return redirect(url_for("imports.show", import_id=job.id))
