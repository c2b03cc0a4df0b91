from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import RadioField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import InputRequired

from saas.i18n import _l


class StopTestForm(FlaskForm):
    version = RadioField(_l("Version to send from now on"),
                         choices=[SelectChoice("A", _l("Version A")),
                                  SelectChoice("B", _l("Version B"))],
                         validators=[InputRequired(_l("Choose the version to send from now on."))])
