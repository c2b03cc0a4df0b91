"""Calendars: the tenant's working days and hours and its closure days (public holidays)."""
