"""Errors a service raises for a person to act on; views show them next to the field."""


class ServiceError(Exception):
    def __init__(self, message: str, field: str | None = None):
        # A lazy message (`_l`) is rendered now, in the language of the request or job raising
        # it: views flash it (the session stores text) and put it next to fields.
        message = str(message)
        super().__init__(message)
        self.message = message
        self.field = field
