"""Message templates: the list, the email and SMS editors, preview against a record, deletion,
and each template's versions in other languages (edited, previewed and deleted through the same
pages as the template itself)."""

from __future__ import annotations

import re

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from markupsafe import Markup, escape
from sqlalchemy import select

from saas.auth.access import requires
from saas.auth.models import Role
from saas.errors import ServiceError
from saas.extensions import db
from saas.i18n import _
from saas.messaging import rendering
from saas.records.forms import CsrfForm
from saas.records.models import Record
from saas.templates_ import services
from saas.templates_.forms import TemplateForm, VersionForm
from saas.templates_.models import LANGUAGES, MessageTemplate, TemplateKind, language_name
from saas.tenancy import get_or_404
from saas.web.params import choice_arg, text_arg

bp = Blueprint("message_templates", __name__, url_prefix="/<tenant>/templates")


@bp.before_request
@requires(Role.SEQUENCE_MANAGER, sequences=True)
def _gate():
    return None


@bp.app_template_global()
def template_choices(kind: str) -> list[tuple[int, str]]:
    """The step form's template picker: (id, "name · its languages"), versions not listed."""
    return services.picker_choices(kind)


_MERGE_TAG = re.compile(r"(\{\{.*?\}\}|\{%.*?%\})")


@bp.app_template_filter("merge_tags")
def merge_tags(text: str) -> Markup:
    """A template's text with its merge tags set as code (they are not words to translate)."""
    parts = _MERGE_TAG.split(str(text or ""))
    return Markup("").join(Markup("<code>{}</code>").format(p) if i % 2 else escape(p)
                           for i, p in enumerate(parts))


@bp.route("")
def index():
    kind = choice_arg("kind", TemplateKind)
    stmt = select(MessageTemplate).where(MessageTemplate.translation_of_id.is_(None)) \
        .order_by(MessageTemplate.kind, MessageTemplate.name, MessageTemplate.id)
    if kind in set(TemplateKind):
        stmt = stmt.where(MessageTemplate.kind == kind)
    else:
        kind = ""
    templates = db.session.execute(stmt).scalars().all()
    spoken = services.languages_by_template(templates)
    languages = {tid: ", ".join(language_name(c) for c in codes) for tid, codes in spoken.items()}
    return render_template("message_templates/index.html", templates=templates, kind=kind,
                           languages=languages)


def _render_editor(form, template: MessageTemplate | None, kind: str, status: int,
                   main: MessageTemplate | None = None):
    sms = rendering.count_sms(form.body.data or "") if kind == TemplateKind.SMS else None
    versions = services.versions_of(template) if template is not None and main is None else []
    return render_template(
        "message_templates/edit.html", template=template, form=form, kind=TemplateKind(kind),
        sms=sms, delete_form=CsrfForm(), merge_fields=rendering.RECORD_FIELDS,
        custom_keys=services.custom_keys(), main=main, versions=versions,
        unused=[(code, name) for code, name in LANGUAGES
                if template is not None and main is None
                and code not in {template.language, *(v.language for v in versions)}]), status


def _show_errors(form, invalid: services.TemplateInvalid) -> None:
    for field, messages in invalid.errors.items():
        if field in form:
            form[field].errors = list(form[field].errors) + messages


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
            _show_errors(form, invalid)
            status = 422
        else:
            flash(_("The template “%(name)s” is saved.", name=saved.name), "success")
            return redirect(url_for("message_templates.edit", template_id=saved.id))
    elif request.method == "POST":
        status = 422
    return _render_editor(form, template, kind, status)


def _version_editor(main: MessageTemplate, version: MessageTemplate | None,
                    language: str | None = None):
    """A version's page: the template's form without the name (it is the template's)."""
    form = VersionForm(obj=version if version is not None else main)
    status = 200
    if version is None and request.method == "GET":
        form.language.data = language
    if form.validate_on_submit():
        try:
            saved = services.save_version(
                main, version, language=form.language.data,
                subject=form.subject.data or "", html_body=form.html_body.data or "",
                text_body=form.text_body.data or "", body=form.body.data or "")
        except services.TemplateInvalid as invalid:
            _show_errors(form, invalid)
            status = 422
        else:
            flash(_("The %(language)s version of “%(name)s” is saved.",
                    language=language_name(saved.language), name=main.name), "success")
            return redirect(url_for("message_templates.edit", template_id=saved.id))
    elif request.method == "POST":
        status = 422
    offered = services.unused_languages(main)
    if version is not None:
        offered.append(version.language)
    form.offer_languages(offered)
    return _render_editor(form, version, main.kind, status, main=main)


@bp.route("/new", methods=["GET", "POST"])
def new():
    kind = text_arg("kind", 16) or TemplateKind.EMAIL.value
    if kind not in set(TemplateKind):
        abort(404)
    return _editor(None, kind)


@bp.route("/<int:template_id>", methods=["GET", "POST"])
def edit(template_id: int):
    template = get_or_404(MessageTemplate, template_id)
    if template.translation_of_id is not None:
        return _version_editor(services.main_of(template), template)
    return _editor(template, template.kind)


@bp.route("/<int:template_id>/versions/new", methods=["GET", "POST"])
def new_version(template_id: int):
    """Add a version in another language; prefilled with the template's own content."""
    main = services.main_of(get_or_404(MessageTemplate, template_id))
    unused = services.unused_languages(main)
    if not unused:
        flash(_("“%(name)s” has a version in every language.", name=main.name), "error")
        return redirect(url_for("message_templates.edit", template_id=main.id))
    language = choice_arg("language", unused) or unused[0]
    return _version_editor(main, None, language)


@bp.route("/<int:template_id>/preview")
def preview(template_id: int):
    template = get_or_404(MessageTemplate, template_id)
    main = services.main_of(template) if template.translation_of_id is not None else None
    query = text_arg("q")
    record = None
    if text_arg("record_id", 40):
        record = get_or_404(Record, text_arg("record_id", 40))
    candidates = services.find_records(query)
    if record is None and not query and candidates:
        record = candidates[0]
    result = services.preview(template, record) if record is not None else None
    return render_template("message_templates/preview.html", template=template, record=record,
                           candidates=candidates, query=query, result=result, main=main)


@bp.route("/<int:template_id>/delete", methods=["GET", "POST"])
def delete(template_id: int):
    """GET asks for confirmation; POST deletes (unless an active sequence uses the template).
    A template's versions go with it; a version goes alone."""
    template = get_or_404(MessageTemplate, template_id)
    main = services.main_of(template) if template.translation_of_id is not None else None
    form = CsrfForm()
    in_use = services.template_in_use(template.id) if main is None else None
    versions = services.versions_of(template) if main is None else []
    if request.method == "POST" and form.validate_on_submit():
        try:
            services.delete_template(template)
        except ServiceError as error:
            flash(str(error.message), "error")
            return redirect(url_for("message_templates.edit", template_id=template.id))
        if main is not None:
            flash(_("The %(language)s version of “%(name)s” is deleted.",
                    language=language_name(template.language), name=main.name), "success")
            return redirect(url_for("message_templates.edit", template_id=main.id))
        flash(_("The template “%(name)s” is deleted.", name=template.name), "success")
        return redirect(url_for("message_templates.index"))
    return render_template("message_templates/delete.html", template=template, form=form,
                           in_use=in_use, main=main, versions=versions)
