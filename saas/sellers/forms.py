"""The seller page's forms: capacity, and a time off with an optional colleague who covers."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import DateField, IntegerField, SelectField, StringField
from wtforms.validators import Length, NumberRange, Optional

from saas.i18n import _l
from saas.sellers.services import MAX_CAPACITY, MAX_NOTE
from saas.web.ids import coerce_id


def optional_id(value) -> int | None:
    """No colleague ("") is None; anything else must be an id."""
    return None if value in (None, "", "None") else coerce_id(value)


class CapacityForm(FlaskForm):
    capacity = IntegerField(
        _l("Capacity (open records at most)"),
        validators=[Optional(), NumberRange(min=1, max=MAX_CAPACITY, message=_l(
            "Enter a number of records from 1 to 100,000, or leave it empty for no limit."))],
        description=_l("Assignment rules skip the seller while they hold this many open "
                       "records. Leave empty for no limit."))


class TimeOffForm(FlaskForm):
    starts_on = DateField(_l("First day away"), validators=[Optional()])
    ends_on = DateField(_l("Last day away"), validators=[Optional()])
    note = StringField(_l("Note (optional)"), validators=[Optional(), Length(max=MAX_NOTE)])
    cover_id = SelectField(
        _l("Reassign to"), choices=[], coerce=optional_id, validate_choice=False,
        description=_l("A colleague who takes the seller's open activities and connections "
                       "on the first day away; the ones still open come back the day after."))
