from flask_wtf import FlaskForm
from wtforms import SelectChoice, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length

from saas.records.models import CustomFieldKind


class CsrfForm(FlaskForm):
    """Record forms are built from the field registry; this carries their CSRF token."""


class CustomFieldForm(FlaskForm):
    record_type = SelectField("Record type", choices=[SelectChoice("lead", "Leads"),
                                                      SelectChoice("opportunity", "Opportunities")])
    label = StringField("Label", validators=[DataRequired(), Length(max=80)])
    kind = SelectField("Type", choices=[SelectChoice(k.value, k.value.capitalize())
                                             for k in CustomFieldKind])
    choices = TextAreaField("Choices", description="For a choice field: one per line.",
                            render_kw={"rows": 3})
