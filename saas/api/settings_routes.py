"""Settings → API keys: system administrators make, list and revoke the organization's keys."""

from __future__ import annotations

import secrets
from datetime import datetime, time
from zoneinfo import ZoneInfo

from flask import Blueprint, flash, redirect, render_template, url_for
from flask_login import current_user
from flask_wtf import FlaskForm
from sqlalchemy import select
from wtforms import DateField, SelectChoice, SelectField, StringField
from wtforms.validators import DataRequired, Length, Optional

from saas.admin.forms import ConfirmForm
from saas.api.keys import KeyInvalid, create_key, keys_list, revoke_key
from saas.api.models import KEY_ROLE_LABELS, ApiKey, KeyRole
from saas.auth.access import admin_required
from saas.auth.models import Role, User, UserStatus
from saas.auth.tenants import current_tenant
from saas.extensions import db, get_redis
from saas.i18n import _, _l
from saas.tenancy import get_or_404
from saas.timeutil import utcnow
from saas.web.ids import parse_id
from saas.web.params import exact_arg

bp = Blueprint("api_keys", __name__, url_prefix="/<tenant>/settings/api-keys")
SHOWN = "saas:api-key-shown:"


def _seller_id(value) -> int | None:
    return parse_id(value)


class KeyForm(FlaskForm):
    name = StringField(_l("Name"), validators=[DataRequired(message=_l(
        "Give the key a name, e.g. “Website form”.")), Length(max=100)],
        description=_l("Who or what uses it, so you know which key to revoke."))
    role = SelectField(_l("What it may do"),
                       choices=[SelectChoice(r.value, KEY_ROLE_LABELS[r.value]) for r in KeyRole],
                       default=KeyRole.READ_ONLY.value)
    seller_id = SelectField(_l("Seller it acts as"), coerce=_seller_id, validate_choice=False,
                            validators=[Optional()],
                            description=_l("Only for a key acting as a seller."))
    expires_on = DateField(_l("Expires on"), validators=[Optional()],
                           description=_l("Leave empty for a key that does not expire."))


def _sellers() -> list[User]:
    users = db.session.execute(select(User).where(User.status == UserStatus.ACTIVE.value)
                               .order_by(User.name, User.id)).scalars()
    return [u for u in users if u.has_role(Role.SELLER)]


@bp.before_request
@admin_required
def _only_admins():
    return None


def _page(form: KeyForm, token: str | None = None, status: int = 200):
    form.seller_id.choices = [SelectChoice("", _("Choose a seller"))] + [
        SelectChoice(u.id, f"{u.name} ({u.email})") for u in _sellers()]
    return render_template("admin/api_keys.html", form=form, keys=keys_list(), token=token,
                           confirm=ConfirmForm(), role_labels=KEY_ROLE_LABELS,
                           tenant=current_tenant(), now=utcnow()), status


def _keep_for_showing(token: str) -> str:
    """The new key, kept 5 minutes in Redis for the page after the redirect, which shows it
    once (a reload then shows nothing, and never makes a second key)."""
    nonce = secrets.token_urlsafe(16)
    get_redis().setex(f"{SHOWN}{current_user.id}:{nonce}", 300, token)
    return nonce


def _shown_once() -> str | None:
    nonce = exact_arg("shown", 40)
    if not nonce:
        return None
    value = get_redis().getdel(f"{SHOWN}{current_user.id}:{nonce}")
    return value.decode() if value else None


@bp.route("/", methods=["GET", "POST"])
def index():
    form = KeyForm()
    if not form.is_submitted():
        return _page(form, token=_shown_once())
    form.seller_id.choices = [SelectChoice(u.id, u.name) for u in _sellers()]
    if form.validate():
        expires = None
        if form.expires_on.data:
            expires = datetime.combine(form.expires_on.data, time(23, 59, 59),
                                       tzinfo=ZoneInfo(current_user.time_zone))
        try:
            token, key = create_key(name=form.name.data, role=form.role.data,
                                    created_by=current_user, seller_id=form.seller_id.data,
                                    expires_at=expires)
        except KeyInvalid as error:
            for name, message in error.errors.items():
                target = form.expires_on if name == "expires_at" else getattr(form, name)
                target.errors = [*target.errors, message]
        else:
            flash(_("The key “%(name)s” is made. Copy it now: it is not shown again.",
                    name=key.name), "success")
            return redirect(url_for("api_keys.index", shown=_keep_for_showing(token)))
    return _page(form, status=422)


@bp.route("/<int:key_id>/revoke", methods=["POST"])
def revoke(key_id: int):
    key = get_or_404(ApiKey, key_id)
    if ConfirmForm().validate_on_submit():
        if revoke_key(key):
            flash(_("The key “%(name)s” is revoked: requests with it are refused from now on.",
                    name=key.name), "success")
        else:
            flash(_("The key “%(name)s” was already revoked.", name=key.name), "info")
    return redirect(url_for("api_keys.index"))
