from flask_wtf import FlaskForm
from wtforms import EmailField, HiddenField, PasswordField, StringField
from wtforms.validators import DataRequired, Email, EqualTo, Length, Optional, Regexp

from saas.auth.services import SLUG_RE


class NewPasswordMixin:
    password = PasswordField("Password", validators=[DataRequired()],
                             render_kw={"autocomplete": "new-password"})
    confirm = PasswordField(
        "Confirm password",
        validators=[DataRequired(), EqualTo("password", message="The two passwords differ.")],
        render_kw={"autocomplete": "new-password"},
    )


class SignupForm(NewPasswordMixin, FlaskForm):
    org_name = StringField("Organization name", validators=[DataRequired(), Length(max=120)],
                           render_kw={"autofocus": True, "autocomplete": "organization"})
    slug = StringField(
        "Web address",
        validators=[DataRequired(), Length(min=3, max=40), Regexp(
            SLUG_RE, message="Use lowercase letters, digits or hyphens, starting and ending "
                             "with a letter or digit.")],
        description="Your organization's address: /your-address/. 3 to 40 characters.",
    )
    name = StringField("Your name", validators=[DataRequired(), Length(max=120)],
                       render_kw={"autocomplete": "name"})
    email = EmailField("Work email", validators=[DataRequired(), Email(check_deliverability=False),
                                                 Length(max=254)],
                       render_kw={"autocomplete": "email"})


class FindOrganizationForm(FlaskForm):
    slug = StringField("Your organization's web address",
                       validators=[DataRequired(), Length(max=40)],
                       render_kw={"placeholder": "contoso"})


class LoginForm(FlaskForm):
    email = EmailField("Email", validators=[DataRequired(), Email(check_deliverability=False)],
                       render_kw={"autofocus": True, "autocomplete": "username"})
    password = PasswordField("Password", validators=[DataRequired()],
                             render_kw={"autocomplete": "current-password"})
    # Filled by static/js/browser-zone.js: the zone for a user who never chose one.
    browser_time_zone = HiddenField(validators=[Optional(), Length(max=64)])


class ForgotPasswordForm(FlaskForm):
    email = EmailField("Email", validators=[DataRequired(), Email(check_deliverability=False)],
                       render_kw={"autofocus": True, "autocomplete": "username"})


class SetPasswordForm(NewPasswordMixin, FlaskForm):
    pass


class AcceptInviteForm(NewPasswordMixin, FlaskForm):
    name = StringField("Your name", validators=[DataRequired(), Length(max=120)],
                       render_kw={"autocomplete": "name"})


class ChangePasswordForm(NewPasswordMixin, FlaskForm):
    current_password = PasswordField("Current password", validators=[DataRequired()],
                                     render_kw={"autocomplete": "current-password"})
