from flask_wtf import FlaskForm
from wtforms import EmailField, HiddenField, PasswordField, SelectChoice, SelectField, StringField
from wtforms.validators import (
    DataRequired,
    Email,
    EqualTo,
    Length,
    Optional,
    Regexp,
    ValidationError,
)

from saas.auth.services import SLUG_RE
from saas.i18n import _l, is_language, language_choices


class NewPasswordMixin:
    password = PasswordField(_l("Password"), validators=[DataRequired()],
                             render_kw={"autocomplete": "new-password"})
    confirm = PasswordField(
        _l("Confirm password"),
        validators=[DataRequired(), EqualTo("password", message=_l("The two passwords differ."))],
        render_kw={"autocomplete": "new-password"},
    )


class SignupForm(NewPasswordMixin, FlaskForm):
    org_name = StringField(_l("Organization name"), validators=[DataRequired(), Length(max=120)],
                           render_kw={"autofocus": True, "autocomplete": "organization"})
    slug = StringField(
        _l("Web address"),
        validators=[DataRequired(), Length(min=3, max=40), Regexp(
            SLUG_RE, message=_l("Use lowercase letters, digits or hyphens, starting and ending "
                                "with a letter or digit."))],
        description=_l("Your organization's address: /your-address/. 3 to 40 characters."),
    )
    name = StringField(_l("Your name"), validators=[DataRequired(), Length(max=120)],
                       render_kw={"autocomplete": "name"})
    email = EmailField(_l("Work email"),
                       validators=[DataRequired(), Email(check_deliverability=False),
                                   Length(max=254)],
                       render_kw={"autocomplete": "email"})
    # The workspace's default language (saas/i18n.py): the view preselects the browser's and
    # takes it when the field is not sent at all; a language we do not speak is a field error.
    language = SelectField(
        _l("Language of the workspace"), validate_choice=False,
        choices=[SelectChoice(code, name) for code, name in language_choices()],
        description=_l("Pages speak it when neither the user nor the browser chooses a "
                       "language; it is also the default language of records and emails."))

    def validate_language(self, field):
        if field.data and not is_language(field.data):
            raise ValidationError(_l("Choose one of the languages in the list."))


class FindOrganizationForm(FlaskForm):
    slug = StringField(_l("Your organization's web address"),
                       validators=[DataRequired(), Length(max=40)],
                       render_kw={"placeholder": "contoso"})


class LoginForm(FlaskForm):
    email = EmailField(_l("Email"), validators=[DataRequired(), Email(check_deliverability=False)],
                       render_kw={"autofocus": True, "autocomplete": "username"})
    password = PasswordField(_l("Password"), validators=[DataRequired()],
                             render_kw={"autocomplete": "current-password"})
    # Filled by static/js/browser-zone.js: the zone for a user who never chose one.
    browser_time_zone = HiddenField(validators=[Optional(), Length(max=64)])


class ForgotPasswordForm(FlaskForm):
    email = EmailField(_l("Email"), validators=[DataRequired(), Email(check_deliverability=False)],
                       render_kw={"autofocus": True, "autocomplete": "username"})


class SetPasswordForm(NewPasswordMixin, FlaskForm):
    pass


class AcceptInviteForm(NewPasswordMixin, FlaskForm):
    name = StringField(_l("Your name"), validators=[DataRequired(), Length(max=120)],
                       render_kw={"autocomplete": "name"})


class ChangePasswordForm(NewPasswordMixin, FlaskForm):
    current_password = PasswordField(_l("Current password"), validators=[DataRequired()],
                                     render_kw={"autocomplete": "current-password"})
