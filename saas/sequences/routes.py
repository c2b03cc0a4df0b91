"""Sequences: the list, new (from scratch or a built-in template), import/export, settings and
the lifecycle (activate, edit as a new version, deactivate, clone, delete). The designer's views
are in designer_routes.py, on the same blueprint."""

from __future__ import annotations

from flask import Response, flash, g, redirect, render_template, request, url_for
from flask_login import current_user

from saas.errors import ServiceError
from saas.i18n import _, ngettext
from saas.records.fields import fields_for
from saas.records.forms import CsrfForm
from saas.sequences import queries, services, transfer
from saas.sequences.blueprint import bp
from saas.sequences.library import BUILT_INS, BY_KEY
from saas.sequences.models import Sequence
from saas.sequences.steps import DAY_NAMES
from saas.tenancy import get_or_404
from saas.web.numbers import format_number
from saas.web.params import MAX_DESCRIPTION, form_bool, form_fields, form_text, text_arg


@bp.route("")
@bp.route("/")
def index():
    return render_template("sequences/index.html", rows=queries.list_rows(), form=CsrfForm())


@bp.route("/new")
def new():
    return render_template("sequences/new.html", built_ins=BUILT_INS)


@bp.route("/new/details", methods=["GET", "POST"])
def create():
    # The start chosen on the previous page: a link's ?start=, then the form's hidden field.
    start = form_text("start", 100) if request.method == "POST" else text_arg("start", 100)
    built_in = BY_KEY.get(start)
    form = CsrfForm()
    values = {"name": str(built_in.name) if built_in else "",
              "description": str(built_in.description) if built_in else "",
              "record_type": "lead"}
    errors: dict[str, str] = {}
    if request.method == "POST":
        values = {"name": form_text("name"), "description": form_text("description",
                                                                        MAX_DESCRIPTION),
                  "record_type": form_text("record_type", 100)}
        if form.validate_on_submit():
            try:
                sequence = services.create_sequence(**values, start=start or None,
                                                    user_id=current_user.id)
            except services.SequenceInvalid as invalid:
                errors = invalid.errors
            else:
                flash(_("The sequence “%(name)s” is created. Add its steps with +.",
                        name=sequence.name), "success")
                return redirect(url_for("sequences.designer", sequence_id=sequence.id))
        else:
            errors = {"name": _("This form expired; nothing was saved. Try again.")}
    return render_template("sequences/create.html", values=values, errors=errors, form=form,
                           built_in=built_in, start=start,
                           record_types=g.tenant.record_types), 422 if errors else 200


@bp.route("/import", methods=["GET", "POST"])
def import_sequence():
    form, errors = CsrfForm(), []
    if request.method == "POST":
        upload = request.files.get("file")
        if not form.validate_on_submit():
            errors = [_("This form expired; nothing was imported. Try again.")]
        elif upload is None or not upload.filename:
            errors = [_("Choose a sequence export file (.json).")]
        else:
            try:
                sequence = transfer.import_json(upload.read(transfer.MAX_BYTES + 1),
                                                user_id=current_user.id)
            except transfer.ImportRefused as refused:
                errors = refused.errors
            else:
                flash(_("Imported “%(name)s” as a draft.", name=sequence.name), "success")
                return redirect(url_for("sequences.designer", sequence_id=sequence.id))
    return render_template("sequences/import.html", form=form, errors=errors), \
        422 if errors else 200


@bp.route("/<int:sequence_id>/export")
def export(sequence_id: int):
    sequence = get_or_404(Sequence, sequence_id)
    filename = "".join(c if c.isalnum() else "-" for c in sequence.name.lower()).strip("-")
    return Response(transfer.export_json(sequence), mimetype="application/json", headers={
        "Content-Disposition": f'attachment; filename="{filename or "sequence"}'
                               f'-v{sequence.version}.json"'})


@bp.route("/<int:sequence_id>/settings", methods=["GET", "POST"])
def settings(sequence_id: int):
    sequence = get_or_404(Sequence, sequence_id)
    form, errors = CsrfForm(), {}
    values = {"name": sequence.name, "description": sequence.description,
              **services.DEFAULT_SETTINGS, **(sequence.settings or {})}
    if request.method == "POST":
        parsed, __ = services.parse_settings(form_fields())
        values = {**values, **parsed, "name": form_text("name"),
                  "description": form_text("description", MAX_DESCRIPTION)}
        if form.validate_on_submit():
            try:
                services.save_settings(sequence, form_fields())
            except services.SequenceInvalid as invalid:
                errors = invalid.errors
            except ServiceError as error:
                errors = {"name": error.message}
            else:
                flash(_("The settings are saved."), "success")
                return redirect(url_for("sequences.designer", sequence_id=sequence.id))
    return render_template("sequences/settings.html", sequence=sequence, values=values,
                           errors=errors, form=form, days=DAY_NAMES,
                           fields=fields_for(sequence.record_type)), 422 if errors else 200


@bp.route("/<int:sequence_id>/settings/skip-wait", methods=["POST"])
def skip_wait_setting(sequence_id: int):
    """An active version's one setting that may change: whether sellers may skip a wait."""
    sequence = get_or_404(Sequence, sequence_id)
    if CsrfForm().validate_on_submit():
        allowed = form_bool("allow_skip_wait", "y")
        try:
            services.set_skip_wait(sequence, allowed)
        except ServiceError as error:
            flash(error.message, "error")
        else:
            flash(_("Sellers may now skip a wait time in this sequence.") if allowed else
                  _("Sellers can no longer skip a wait time in this sequence."), "success")
    return redirect(url_for("sequences.settings", sequence_id=sequence.id))


@bp.route("/<int:sequence_id>/activate", methods=["GET", "POST"])
def activate(sequence_id: int):
    sequence = get_or_404(Sequence, sequence_id)
    form, problems, error = CsrfForm(), [], None
    if request.method == "POST" and form.validate_on_submit():
        try:
            services.activate(sequence, understood=form_bool("understood", "y"))
        except services.CannotActivate as refused:
            problems = refused.problems
        except ServiceError as refused:
            error = refused.message
        else:
            flash(_("“%(name)s” is active: version %(version)s is the one new connections get.",
                    name=sequence.name, version=sequence.version), "success")
            return redirect(url_for("sequences.designer", sequence_id=sequence.id))
    elif request.method == "GET":
        problems = queries.problems_of(sequence) if sequence.status in ("draft", "inactive") \
            else []
    steps = {s.id: s for s in queries.steps_of(sequence.id)}
    status = 422 if request.method == "POST" else 200
    return render_template("sequences/activate.html", sequence=sequence, problems=problems,
                           error=error, steps=steps, form=form), status


def _lifecycle(sequence_id: int, act, done, target: str = "designer"):
    """`done(sequence, result)`: the sentence flashed once `act(sequence)` has succeeded."""
    sequence = get_or_404(Sequence, sequence_id)
    if not CsrfForm().validate_on_submit():
        flash(_("This form expired; nothing changed. Try again."), "error")
        return redirect(url_for("sequences.designer", sequence_id=sequence.id))
    try:
        result = act(sequence)
    except ServiceError as error:
        flash(error.message, "error")
        return redirect(url_for("sequences.designer", sequence_id=sequence.id))
    flash(done(sequence, result), "success")
    if target == "index":
        return redirect(url_for("sequences.index"))
    shown = result if isinstance(result, Sequence) else sequence
    return redirect(url_for("sequences.designer", sequence_id=shown.id))


@bp.route("/<int:sequence_id>/save", methods=["POST"])
def save(sequence_id: int):
    """Steps save as they are edited; this confirms it and says what activation still needs."""
    sequence = get_or_404(Sequence, sequence_id)
    if CsrfForm().validate_on_submit():
        problems = queries.problems_of(sequence) if sequence.status == "draft" else []
        if problems:
            flash(ngettext("“%(name)s” is saved. %(num)d thing to fix before activation.",
                           "“%(name)s” is saved. %(num)d things to fix before activation.",
                           len(problems), name=sequence.name), "success")
        else:
            flash(_("“%(name)s” is saved. It is ready to activate.", name=sequence.name),
                  "success")
    return redirect(url_for("sequences.designer", sequence_id=sequence.id))


@bp.route("/<int:sequence_id>/edit", methods=["GET", "POST"])
def edit(sequence_id: int):
    """POST: the draft to edit (a new version of an active one). GET (a link from another
    page): just the designer, no state change."""
    if request.method == "GET":
        sequence = get_or_404(Sequence, sequence_id)
        return redirect(url_for("sequences.designer", sequence_id=sequence.id))
    return _lifecycle(sequence_id, services.edit_version, lambda sequence, draft: _(
        "Editing version %(version)s (a draft). The active version is unchanged until you "
        "activate this one.", version=draft.version))


@bp.route("/<int:sequence_id>/clone", methods=["POST"])
def clone(sequence_id: int):
    return _lifecycle(sequence_id, lambda s: services.clone(s, user_id=current_user.id),
                      lambda sequence, copy: _("“%(copy)s” is a draft copy of “%(name)s”.",
                                               copy=copy.name, name=sequence.name))


@bp.route("/<int:sequence_id>/deactivate", methods=["GET", "POST"])
def deactivate(sequence_id: int):
    sequence = get_or_404(Sequence, sequence_id)
    if request.method == "GET":
        return render_template("sequences/confirm.html", sequence=sequence, form=CsrfForm(),
                               action="deactivate",
                               running=queries.running_count(sequence.lineage_id))
    return _lifecycle(sequence_id, services.deactivate, lambda sequence, count: ngettext(
        "“%(name)s” is inactive; %(count)s running record was disconnected.",
        "“%(name)s” is inactive; %(count)s running records were disconnected.",
        count, name=sequence.name, count=format_number(count)))


@bp.route("/<int:sequence_id>/delete", methods=["GET", "POST"])
def delete(sequence_id: int):
    sequence = get_or_404(Sequence, sequence_id)
    if request.method == "GET":
        return render_template("sequences/confirm.html", sequence=sequence, form=CsrfForm(),
                               action="delete", reason=services.delete_reason(sequence),
                               versions=queries.versions(sequence.lineage_id))
    return _lifecycle(sequence_id, services.delete_sequence, lambda sequence, __: _(
        "The sequence “%(name)s” and all its versions are deleted.", name=sequence.name),
        target="index")

