from flask_wtf import FlaskForm
from wtforms import SelectChoice, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length

from saas.templates_.models import LANGUAGES


class TemplateForm(FlaskForm):
    """One form for both kinds; the page shows the email or the SMS fields. Merge fields are
    checked by the service, which reports each problem with its line."""

    name = StringField("Name", validators=[DataRequired(), Length(max=120)])
    language = SelectField("Language", default="en",
                           choices=[SelectChoice(code, label) for code, label in LANGUAGES])
    subject = StringField("Subject", validators=[Length(max=255)])
    html_body = TextAreaField("HTML body", render_kw={"rows": 14, "spellcheck": "false"})
    text_body = TextAreaField(
        "Text body", render_kw={"rows": 8},
        description="Leave empty to send a text version generated from the HTML body.")
    body = TextAreaField("Message", render_kw={"rows": 6, "data-sms-counter": "sms-count"})
