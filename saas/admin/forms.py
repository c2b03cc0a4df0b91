from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    EmailField,
    RadioField,
    SelectChoice,
    SelectMultipleField,
    StringField,
)
from wtforms.validators import DataRequired, Email, Length
from wtforms.widgets import CheckboxInput, ListWidget

from saas.auth.models import Licence, Role


class CheckboxesField(SelectMultipleField):
    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


ROLE_CHOICES = [SelectChoice(r.value, r.label) for r in Role]


class InviteForm(FlaskForm):
    name = StringField("Name", validators=[DataRequired(), Length(max=120)],
                       render_kw={"autofocus": True})
    email = EmailField("Email", validators=[DataRequired(), Email(check_deliverability=False),
                                            Length(max=254)])
    roles = CheckboxesField("Roles", choices=ROLE_CHOICES, default=[Role.SELLER.value],
                            validators=[DataRequired(message="Choose at least one role.")])


class EditUserForm(FlaskForm):
    name = StringField("Name", validators=[DataRequired(), Length(max=120)])
    roles = CheckboxesField("Roles", choices=ROLE_CHOICES,
                            validators=[DataRequired(message="Choose at least one role.")])


class LicenceForm(FlaskForm):
    licence = RadioField("Licence", choices=[SelectChoice(lic.value, lic.label) for lic in Licence],
                         validators=[DataRequired()])


class WorkspaceForm(FlaskForm):
    leads = BooleanField("Leads", default=True, render_kw={"disabled": True},
                         description="Always included.")
    opportunities = BooleanField("Opportunities")


class ConfirmForm(FlaskForm):
    """A button that changes state: POST with CSRF, nothing else."""
