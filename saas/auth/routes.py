"""The front door: landing, sign-up, sign-in and out, invitations, passwords."""

from __future__ import annotations

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    g,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_login import current_user, login_required, logout_user
from sqlalchemy import select

from saas.admin import services as admin_services
from saas.auth import services
from saas.auth.forms import (
    AcceptInviteForm,
    ChangePasswordForm,
    FindOrganizationForm,
    ForgotPasswordForm,
    LoginForm,
    SetPasswordForm,
    SignupForm,
)
from saas.auth.models import Role, Tenant, User
from saas.auth.sessions import start_session
from saas.errors import ServiceError
from saas.extensions import client_ip, db, limiter
from saas.i18n import LANGUAGES, _, ngettext, select_locale
from saas.tenancy import tenant_context
from saas.web import links
from saas.web.home import figures as home_figures
from saas.web.home import worklist_open
from saas.web.params import form_text, next_arg, next_field

public_bp = Blueprint("public", __name__)
bp = Blueprint("auth", __name__, url_prefix="/<tenant>")


def show_error(form, error: ServiceError) -> None:
    field = getattr(form, error.field, None) if error.field else None
    if field is not None:
        field.errors = [*field.errors, error.message]
    else:
        flash(error.message, "error")


# --- public -------------------------------------------------------------------------------


@public_bp.route("/", methods=["GET", "POST"])
def landing():
    form = FindOrganizationForm()
    if form.validate_on_submit():
        slug = form.slug.data.strip().lower().strip("/")
        exists = db.session.execute(select(Tenant.id).where(Tenant.slug == slug)).first()
        if exists:
            return redirect(url_for("auth.login", tenant=slug))
        form.slug.errors.append(_("No organization has this address. Check the spelling, "
                                  "or sign up a new organization."))
    return render_template("home/landing.html", form=form)


@public_bp.route("/signup", methods=["GET", "POST"])
def signup():
    form = SignupForm()
    if request.method == "GET":
        form.language.data = select_locale()  # the browser's language, else English
    if form.validate_on_submit():
        try:
            user = services.sign_up(org_name=form.org_name.data, slug=form.slug.data,
                                    name=form.name.data, email=form.email.data,
                                    password=form.password.data,
                                    language=form.language.data or select_locale())
        except ServiceError as error:
            show_error(form, error)
        else:
            tenant_slug = form.slug.data.strip().lower()
            with tenant_context(user.tenant_id):
                start_session(user)
            flash(ngettext("Welcome! Your organization is on a %(num)d-day Sales Enterprise "
                           "trial.", "Welcome! Your organization is on a %(num)d-day Sales "
                           "Enterprise trial.", current_app.config["TRIAL_DAYS"]), "success")
            return redirect(url_for("auth.home", tenant=tenant_slug))
    return render_template("auth/signup.html", form=form)


@public_bp.route("/favicon.ico")
def favicon():
    """Browsers and crawlers ask for it at the root (pages link static/favicon.svg)."""
    return current_app.send_static_file("favicon.ico")


@public_bp.route("/healthz")
def healthz():
    db.session.execute(select(1))
    return {"status": "ok"}


# --- per tenant -----------------------------------------------------------------------------


def _login_account_key() -> str:
    email = services.normalise_email(form_text("email", 320, cut=True))
    return f"{g.tenant.id}:{email}"


def _login_failed(response) -> bool:
    return response.status_code != 302


@bp.route("/login", methods=["GET", "POST"])
@limiter.limit(lambda: current_app.config["LOGIN_LIMIT_PER_IP"], key_func=client_ip,
               methods=["POST"], scope="login-ip", deduct_when=_login_failed)
@limiter.limit(lambda: current_app.config["LOGIN_LIMIT_PER_ACCOUNT"], key_func=_login_account_key,
               methods=["POST"], scope="login-account", deduct_when=_login_failed)
def login():
    if current_user.is_authenticated:
        return redirect(url_for("auth.home"))
    form = LoginForm()
    if form.validate_on_submit():
        user = services.authenticate(form.email.data, form.password.data)
        if user is not None:
            services.adopt_browser_zone(user, form.browser_time_zone.data)
            start_session(user)
            return redirect(next_arg() or url_for("auth.home"))
        form.password.errors.append(_("Wrong email or password."))
    return render_template("auth/login.html", form=form)


@bp.route("/logout", methods=["POST"])
def logout():
    if current_user.is_authenticated:
        services.sign_out(current_user._get_current_object())
    logout_user()
    session.clear()
    flash(_("You are signed out."), "info")
    return redirect(url_for("auth.login"))


@bp.route("/")
@login_required
def home():
    # Sellers live on their worklist (once the tenant can use sequences).
    tenant = g.tenant
    if (Role.SELLER.value in current_user.roles and not current_user.has_role(Role.SEQUENCE_MANAGER)
            and worklist_open(tenant)):
        return redirect(url_for("worklist.index"))
    return render_template("home/home.html", figures=home_figures(current_user, tenant))


@bp.route("/forgot-password", methods=["GET", "POST"])
@limiter.limit("10 per hour", key_func=client_ip, methods=["POST"], scope="forgot-password")
def forgot_password():
    form = ForgotPasswordForm()
    if form.validate_on_submit():
        user = db.session.execute(
            select(User).where(User.email == services.normalise_email(form.email.data))
        ).scalar_one_or_none()
        if user is not None:
            admin_services.send_password_reset(user, reset_link, by_admin=False)
        flash(_("If this email belongs to an account here, a reset link is on its way."), "info")
        return redirect(url_for("auth.login"))
    return render_template("auth/forgot_password.html", form=form)


def reset_link(token: str) -> str:
    """Links in emails are built from PUBLIC_URL: the request's Host is the client's to choose."""
    return links.external("auth.reset_password", tenant=g.tenant.slug, token=token)


def invite_link(token: str) -> str:
    return links.external("auth.accept_invite", tenant=g.tenant.slug, token=token)


@bp.route("/reset-password/<token>", methods=["GET", "POST"])
def reset_password(token: str):
    user = admin_services.user_from_reset(token)
    if user is None:
        return render_template("auth/link_expired.html", what="password reset link"), 404
    form = SetPasswordForm()
    if form.validate_on_submit():
        try:
            admin_services.reset_password(user, form.password.data)
        except ServiceError as error:
            show_error(form, error)
        else:
            start_session(user)
            flash(_("Your password is changed and you are signed in."), "success")
            return redirect(url_for("auth.home"))
    return render_template("auth/reset_password.html", form=form, user=user)


@bp.route("/invitation/<token>", methods=["GET", "POST"])
def accept_invite(token: str):
    user = admin_services.user_from_invite(token)
    if user is None:
        return render_template("auth/link_expired.html", what="invitation"), 404
    form = AcceptInviteForm(obj=user) if request.method == "GET" else AcceptInviteForm()
    if form.validate_on_submit():
        try:
            admin_services.accept_invite(user, name=form.name.data, password=form.password.data)
        except ServiceError as error:
            show_error(form, error)
        else:
            start_session(user)
            flash(_("Welcome to %(organization)s!", organization=g.tenant.name), "success")
            return redirect(url_for("auth.home"))
    return render_template("auth/accept_invite.html", form=form, user=user)


@bp.route("/account/password", methods=["GET", "POST"])
@login_required
def change_password():
    form = ChangePasswordForm()
    if form.validate_on_submit():
        try:
            services.change_password(current_user, form.current_password.data,
                                     form.password.data)
        except ServiceError as error:
            show_error(form, error)
        else:
            start_session(current_user._get_current_object())
            flash(_("Your password is changed. Your other sessions are signed out."), "success")
            return redirect(url_for("auth.home"))
    return render_template("auth/change_password.html", form=form)


@bp.route("/language", methods=["POST"])
@login_required
def switch_language():
    """The user menu's switcher: the signed-in user's language, then back to the same page
    (a `next` on this site and tenant only, else home). A language we do not speak is a 400
    and changes nothing."""
    language = form_text("language", 16)
    if language not in LANGUAGES:
        abort(400, description=_("Choose one of the languages in the list."))
    services.choose_language(current_user._get_current_object(), language)
    return redirect(next_field() or url_for("auth.home"))
