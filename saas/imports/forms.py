"""The upload form, and the mapping form built for a file's columns."""

from __future__ import annotations

from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired, FileSize
from wtforms import RadioField, SelectChoice, SelectField

from saas.i18n import _, _l
from saas.imports.csvfile import MAX_BYTES, TOO_LARGE
from saas.imports.models import DuplicateMode
from saas.records.fields import Field
from saas.records.models import RecordType


class UploadForm(FlaskForm):
    # The service says which record types this workspace has, in words.
    record_type = SelectField(_l("Import into"), choices=[SelectChoice(t.value, t.plural_lazy)
                                                          for t in RecordType],
                              validate_choice=False)
    file = FileField(
        _l("CSV file"),
        validators=[FileRequired(_l("Choose the CSV file to import.")),
                    FileSize(MAX_BYTES, message=TOO_LARGE)],
        description=_l("UTF-8 text (with or without BOM), values separated by commas or "
                       "semicolons, the first line naming the columns. Up to 50 MB."),
        render_kw={"accept": ".csv,text/csv"})


class ConfirmForm(FlaskForm):
    """A button that changes state (Start again): POST with CSRF, nothing else."""


DUPLICATE_CHOICES = [
    SelectChoice(DuplicateMode.SKIP.value,
                 _l("Skip the line and leave the existing record as it is")),
    SelectChoice(DuplicateMode.UPDATE.value,
                 _l("Update the existing record with the line's values (only the imported "
                    "columns)")),
]


class MappingForm(FlaskForm):
    """One select per CSV column (`col_0`, `col_1`, ...), added by `mapping_form`."""

    duplicate_mode = RadioField(_l("When a line's email is already used by a record"),
                                choices=DUPLICATE_CHOICES, default=DuplicateMode.SKIP.value)
    column_count = 0
    field_labels: dict[str, str] = {}

    def columns(self) -> list[SelectField]:
        return [self[f"col_{i}"] for i in range(self.column_count)]

    def chosen(self) -> dict[int, str]:
        return {i: column.data for i, column in enumerate(self.columns()) if column.data}

    def validate(self, extra_validators=None) -> bool:
        valid = super().validate(extra_validators)
        first: dict[str, SelectField] = {}
        for column in self.columns():
            if not column.data or column.data not in self.field_labels:
                continue  # no field, or not one of ours (its own choice error says so)
            if column.data in first:
                column.errors = [*column.errors, _(
                    "“%(field)s” is already chosen for the column “%(column)s”. Choose "
                    "another field, or Don't import.", field=self.field_labels[column.data],
                    column=first[column.data].label.text)]
                valid = False
            else:
                first[column.data] = column
        return valid


def mapping_form(headers: list[str], fields: dict[str, Field], initial: dict[int, str],
                 duplicate_mode: str, **kwargs) -> MappingForm:
    choices = [SelectChoice("", _("Don't import"))] + [
        SelectChoice(key, _("%(field)s (custom field)", field=f.label) if f.custom else f.label)
        for key, f in fields.items()]
    attributes: dict = {"column_count": len(headers),
                        "field_labels": {key: f.label for key, f in fields.items()}}
    for i, header in enumerate(headers):
        attributes[f"col_{i}"] = SelectField(header, choices=choices, default=initial.get(i, ""))
    form_class = type("ColumnMappingForm", (MappingForm,), attributes)
    return form_class(duplicate_mode=duplicate_mode, **kwargs)
