"""The Settings > Calendar forms (WTForms: the input boundary; the services check again)."""

from __future__ import annotations

from datetime import date

from flask_wtf import FlaskForm
from wtforms import SelectChoice, SelectField, StringField
from wtforms.validators import DataRequired, Length, ValidationError

from saas.admin.forms import CheckboxesField
from saas.calendars.services import PRESETS
from saas.i18n import _l

WEEKDAYS = [(0, _l("Monday")), (1, _l("Tuesday")), (2, _l("Wednesday")), (3, _l("Thursday")),
            (4, _l("Friday")), (5, _l("Saturday")), (6, _l("Sunday"))]


class WorkingWeekForm(FlaskForm):
    days = CheckboxesField(_l("Working days"), coerce=int,
                           choices=[SelectChoice(v, label) for v, label in WEEKDAYS],
                           validators=[DataRequired(message=_l("Choose at least one working "
                                                               "day."))])
    day_start = StringField(_l("Working hours start (HH:MM)"),
                            validators=[DataRequired(message=_l("Enter a time, e.g. 09:00.")),
                                        Length(max=5)], render_kw={"type": "time"})
    day_end = StringField(_l("Working hours end (HH:MM)"),
                          validators=[DataRequired(message=_l("Enter a time, e.g. 17:00.")),
                                      Length(max=5)], render_kw={"type": "time"})


class ClosureDayForm(FlaskForm):
    day = StringField(_l("Date"), validators=[DataRequired(message=_l(
        "Enter a date, e.g. 2026-12-25."))], render_kw={"type": "date"})
    name = StringField(_l("Name"), validators=[
        DataRequired(message=_l("Enter a name, e.g. Christmas Day.")),
        Length(max=120, message=_l("Use at most 120 characters."))])

    def validate_day(self, field) -> None:
        try:
            self.day_value = date.fromisoformat((field.data or "").strip()[:10])
        except ValueError:
            raise ValidationError(_l("Enter a date, e.g. 2026-12-25.")) from None

    day_value: date | None = None


class PresetForm(FlaskForm):
    preset = SelectField(_l("Public holidays"),
                         choices=[SelectChoice(p.key, p.label) for p in PRESETS.values()],
                         validators=[DataRequired(message=_l("Choose a preset from the list."))])
