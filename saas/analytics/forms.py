from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import RadioField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import InputRequired


class StopTestForm(FlaskForm):
    version = RadioField("Version to send from now on", choices=[SelectChoice("A", "Version A"),
                                                                  SelectChoice("B", "Version B")],
                         validators=[InputRequired("Choose the version to send from now on.")])
