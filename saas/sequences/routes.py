"""Sequences: the sequence manager's area (the designer arrives with its own issue)."""

from flask import Blueprint, render_template

from saas.auth.access import requires
from saas.auth.models import Role

bp = Blueprint("sequences", __name__, url_prefix="/<tenant>/sequences")


@bp.route("/")
@requires(Role.SEQUENCE_MANAGER, sequences=True)
def index():
    return render_template("sequences/index.html")
