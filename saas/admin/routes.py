"""Settings for system administrators: users, licence, workspace, audit log, outbox."""

from __future__ import annotations

from flask import Blueprint, flash, g, redirect, render_template, url_for
from flask_login import current_user
from markupsafe import Markup, escape

from saas.admin import audit, queries, services
from saas.admin.forms import (
    ConfirmForm,
    EditUserForm,
    InviteForm,
    LicenceForm,
    WorkspaceForm,
    WorkspaceLanguageForm,
)
from saas.auth.access import admin_required
from saas.auth.models import User, UserStatus
from saas.auth.routes import invite_link, reset_link, show_error
from saas.errors import ServiceError
from saas.i18n import LANGUAGES, _, _l
from saas.messaging.config import config_for
from saas.messaging.models import OutboxMessage
from saas.records import fields as record_fields
from saas.records.custom_fields import add_custom_field
from saas.records.custom_fields import delete_custom_field as remove_custom_field
from saas.records.forms import CustomFieldForm
from saas.records.models import CustomField
from saas.tenancy import get_or_404
from saas.web.params import choice_arg, cursor_arg

bp = Blueprint("admin", __name__, url_prefix="/<tenant>/settings")


@bp.before_request
@admin_required
def _only_admins():
    return None


@bp.route("/")
def index():
    return redirect(url_for("admin.users"))


@bp.route("/users")
def users():
    status = choice_arg("status", UserStatus)
    page = queries.users_page(status=status, after=cursor_arg())
    return render_template("admin/users.html", page=page, status=status, confirm=ConfirmForm())


@bp.route("/users/invite", methods=["GET", "POST"])
def invite():
    form = InviteForm()
    if form.validate_on_submit():
        try:
            user = services.invite_user(email=form.email.data, name=form.name.data,
                                        roles=form.roles.data, inviter=current_user,
                                        accept_link=invite_link)
        except ServiceError as error:
            show_error(form, error)
        else:
            _flash_invitation(user.email, _("Invitation sent to %(email)s.", email=user.email))
            return redirect(url_for("admin.users"))
    return render_template("admin/invite.html", form=form)


def _flash_invitation(email: str, sent: str) -> None:
    """Without an email provider the invitation is only stored: say it waits in the Outbox, with
    a link to it, rather than that it was sent."""
    if config_for(g.tenant.id).email_provider != "outbox":
        flash(sent, "success")
        return
    flash(Markup(_(  # noqa: S704 - our own sentence; the address and the link are escaped
        "The invitation to %(email)s waits in the <a href=\"%(outbox)s\">Outbox</a>: no email "
        "provider is configured, so nothing was sent. Copy its link from there to the person.",
        email=escape(email), outbox=escape(url_for("admin.outbox")))), "info")


@bp.route("/users/<int:user_id>", methods=["GET", "POST"])
def edit_user(user_id: int):
    user = get_or_404(User, user_id)
    form = EditUserForm(obj=user)
    if form.validate_on_submit():
        try:
            services.update_user(user, name=form.name.data, roles=form.roles.data)
        except ServiceError as error:
            show_error(form, error)
        else:
            flash(_("%(name)s is updated.", name=user.name), "success")
            return redirect(url_for("admin.users"))
    return render_template("admin/edit_user.html", form=form, user=user, confirm=ConfirmForm())


def _user_action(user_id: int, action, done: str):
    user = get_or_404(User, user_id)
    if ConfirmForm().validate_on_submit():
        try:
            action(user)
        except ServiceError as error:
            flash(error.message, "error")
        else:
            flash(str(done) % {"name": user.name, "email": user.email}, "success")
    return redirect(url_for("admin.users"))


@bp.route("/users/<int:user_id>/deactivate", methods=["POST"])
def deactivate_user(user_id: int):
    return _user_action(user_id, services.deactivate_user,
                        _l("%(name)s is deactivated and signed out everywhere."))


@bp.route("/users/<int:user_id>/reactivate", methods=["POST"])
def reactivate_user(user_id: int):
    return _user_action(user_id, services.reactivate_user, _l("%(name)s is active again."))


@bp.route("/users/<int:user_id>/reset-password", methods=["POST"])
def reset_password(user_id: int):
    return _user_action(
        user_id, lambda u: services.send_password_reset(u, reset_link, by_admin=True),
        _l("A password reset link is on its way to %(email)s."))


@bp.route("/users/<int:user_id>/resend-invite", methods=["POST"])
def resend_invite(user_id: int):
    user = get_or_404(User, user_id)
    if ConfirmForm().validate_on_submit():
        try:
            services.resend_invite(user, current_user, invite_link)
        except ServiceError as error:
            flash(error.message, "error")
        else:
            _flash_invitation(user.email, _("A new invitation is on its way to %(email)s.",
                                            email=user.email))
    return redirect(url_for("admin.users"))


@bp.route("/licence", methods=["GET", "POST"])
def licence():
    form = LicenceForm(licence=g.tenant.licence)
    if form.validate_on_submit():
        services.set_licence(form.licence.data)
        flash(_("The licence is now %(licence)s.", licence=g.tenant.licence_kind.label), "success")
        return redirect(url_for("admin.licence"))
    return render_template("admin/licence.html", form=form)


@bp.route("/workspace", methods=["GET", "POST"])
def workspace():
    form = WorkspaceForm(opportunities=g.tenant.opportunities_enabled)
    if form.validate_on_submit():
        services.publish_workspace(opportunities=form.opportunities.data)
        flash(_("The workspace is published: sequences are ready to use."), "success")
        return redirect(url_for("admin.workspace"))
    return _workspace_page(form, WorkspaceLanguageForm(language=g.tenant.language))


def _workspace_page(form, language_form):
    quick = choice_arg("setup", ("quick",)) == "quick" or g.tenant.workspace_ready
    return render_template("admin/workspace.html", form=form, quick=quick,
                           language_form=language_form)


@bp.route("/workspace/language", methods=["POST"])
def workspace_language():
    """The workspace's default language (audited)."""
    language_form = WorkspaceLanguageForm()
    if language_form.validate_on_submit():
        try:
            services.set_workspace_language(language_form.language.data)
        except ServiceError as error:
            show_error(language_form, error)
        else:
            flash(_("The workspace's default language is now %(language)s.",
                    language=LANGUAGES[g.tenant.language]), "success")
            return redirect(url_for("admin.workspace"))
    form = WorkspaceForm(opportunities=g.tenant.opportunities_enabled)
    return _workspace_page(form, language_form), 422


@bp.route("/fields", methods=["GET", "POST"])
def custom_fields():
    form = CustomFieldForm()
    if not g.tenant.opportunities_enabled:
        form.record_type.choices = form.record_type.choices[:1]
    if form.validate_on_submit():
        try:
            field = add_custom_field(record_type=form.record_type.data, label=form.label.data,
                                     kind=form.kind.data, choices=form.choices.data)
        except ServiceError as error:
            show_error(form, error)
        else:
            flash(_("The field “%(label)s” is added.", label=field.label), "success")
            return redirect(url_for("admin.custom_fields"))
    by_type = {t: record_fields.custom_fields(t) for t in g.tenant.record_types}
    return render_template("admin/custom_fields.html", form=form, by_type=by_type,
                           confirm=ConfirmForm())


@bp.route("/fields/<int:field_id>/delete", methods=["POST"])
def delete_custom_field(field_id: int):
    field = get_or_404(CustomField, field_id)
    if ConfirmForm().validate_on_submit():
        remove_custom_field(field)
        flash(_("The field “%(label)s” and its values are removed.", label=field.label), "success")
    return redirect(url_for("admin.custom_fields"))


@bp.route("/audit")
def audit_log():
    page = queries.audit_page(after=cursor_arg())
    return render_template("admin/audit.html", page=page, action_label=audit.action_label,
                           shown=audit.shown, actor=audit.actor_shown)


@bp.route("/outbox")
def outbox():
    channel = choice_arg("channel", ("email", "sms"))
    page = queries.outbox_page(after=cursor_arg(), channel=channel)
    return render_template("admin/outbox.html", page=page, channel=channel)


@bp.route("/outbox/<int:message_id>")
def outbox_message(message_id: int):
    message = get_or_404(OutboxMessage, message_id)
    return render_template("admin/outbox_message.html", message=message)
