from flask_wtf import FlaskForm
from wtforms import SelectChoice, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length

from saas.i18n import _l
from saas.records.models import CustomFieldKind

KIND_LABELS = {"text": _l("Text"), "number": _l("Number"), "date": _l("Date"),
               "choice": _l("Choice")}


class CsrfForm(FlaskForm):
    """Record forms are built from the field registry; this carries their CSRF token."""


class CustomFieldForm(FlaskForm):
    record_type = SelectField(_l("Record type"), choices=[
        SelectChoice("lead", _l("Leads")), SelectChoice("opportunity", _l("Opportunities"))])
    label = StringField(_l("Label"), validators=[DataRequired(), Length(max=80)])
    kind = SelectField(_l("Type"), choices=[SelectChoice(k.value, KIND_LABELS[k.value])
                                             for k in CustomFieldKind])
    choices = TextAreaField(_l("Choices"), description=_l("For a choice field: one per line."),
                            render_kw={"rows": 3})
