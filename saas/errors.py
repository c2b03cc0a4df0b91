"""Errors a service raises for a person to act on; views show them next to the field."""


class ServiceError(Exception):
    def __init__(self, message: str, field: str | None = None):
        super().__init__(message)
        self.message = message
        self.field = field
