from flask_wtf import FlaskForm
from wtforms import SelectChoice, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length

from saas.i18n import _l
from saas.templates_.models import LANGUAGES


class TemplateForm(FlaskForm):
    """One form for both kinds; the page shows the email or the SMS fields. Merge fields are
    checked by the service, which reports each problem with its line."""

    name = StringField(_l("Name"), validators=[
        DataRequired(message=_l("Give the template a name.")),
        Length(max=120, message=_l("At most 120 characters."))])
    language = SelectField(_l("Language"), default="en",
                           choices=[SelectChoice(code, label) for code, label in LANGUAGES])
    subject = StringField(_l("Subject"), validators=[
        Length(max=255, message=_l("At most 255 characters."))])
    html_body = TextAreaField(_l("HTML body"), render_kw={"rows": 14, "spellcheck": "false"})
    text_body = TextAreaField(
        _l("Text body"), render_kw={"rows": 8},
        description=_l("Leave empty to send a text version generated from the HTML body."))
    body = TextAreaField(_l("Message"), render_kw={"rows": 6, "data-sms-counter": "sms-count"})


class VersionForm(TemplateForm):
    """A template's version in another language: the same fields but the name (the version
    is known by its template's name and its language)."""

    name = None

    def offer_languages(self, codes) -> None:
        """Show only these languages in the select (after validation: a language already used
        is refused by the service with the field's message, not as an invalid choice)."""
        self.language.choices = [SelectChoice(code, label) for code, label in LANGUAGES
                                 if code in codes]
