from flask_wtf import FlaskForm
from wtforms import SelectChoice, StringField
from wtforms.validators import DataRequired, Length

from saas.admin.forms import CheckboxesField
from saas.i18n import _l
from saas.outbound.events import EVENT_TYPES


class WebhookForm(FlaskForm):
    url = StringField(_l("URL"), validators=[DataRequired(), Length(max=2000)],
                      render_kw={"autofocus": True, "inputmode": "url",
                                 "placeholder": "https://hooks.example.com/sequences"},
                      description=_l("Where we POST each event, signed (Standard Webhooks)."))
    description = StringField(_l("Description"), validators=[Length(max=500)],
                              description=_l("What this webhook is for (optional)."))
    events = CheckboxesField(
        _l("Events"), choices=[SelectChoice(name, label) for name, label in EVENT_TYPES.items()],
        validators=[DataRequired(message=_l("Choose at least one event."))])
