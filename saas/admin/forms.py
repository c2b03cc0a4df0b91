from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    EmailField,
    RadioField,
    SelectChoice,
    SelectField,
    SelectMultipleField,
    StringField,
)
from wtforms.validators import DataRequired, Email, Length
from wtforms.widgets import CheckboxInput, ListWidget

from saas.auth.models import Licence, Role
from saas.i18n import _l, language_choices


class CheckboxesField(SelectMultipleField):
    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


ROLE_CHOICES = [SelectChoice(r.value, r.label) for r in Role]


class InviteForm(FlaskForm):
    name = StringField(_l("Name"), validators=[DataRequired(), Length(max=120)],
                       render_kw={"autofocus": True})
    email = EmailField(_l("Email"), validators=[DataRequired(), Email(check_deliverability=False),
                                                Length(max=254)])
    roles = CheckboxesField(_l("Roles"), choices=ROLE_CHOICES, default=[Role.SELLER.value],
                            validators=[DataRequired(message=_l("Choose at least one role."))])


class EditUserForm(FlaskForm):
    name = StringField(_l("Name"), validators=[DataRequired(), Length(max=120)])
    roles = CheckboxesField(_l("Roles"), choices=ROLE_CHOICES,
                            validators=[DataRequired(message=_l("Choose at least one role."))])


class LicenceForm(FlaskForm):
    licence = RadioField(_l("Licence"),
                         choices=[SelectChoice(lic.value, lic.label) for lic in Licence],
                         validators=[DataRequired()])


class WorkspaceForm(FlaskForm):
    leads = BooleanField(_l("Leads"), default=True, render_kw={"disabled": True},
                         description=_l("Always included."))
    opportunities = BooleanField(_l("Opportunities"))


class WorkspaceLanguageForm(FlaskForm):
    """The workspace's default language (tenant.language)."""

    language = SelectField(
        _l("Default language"),
        choices=[SelectChoice(code, name) for code, name in language_choices()],
        validators=[DataRequired(message=_l("Choose a language."))],
        description=_l("Pages speak it when neither the user nor the browser chooses a "
                       "language; it is also the default language of records and emails."))


class ConfirmForm(FlaskForm):
    """A button that changes state: POST with CSRF, nothing else."""
