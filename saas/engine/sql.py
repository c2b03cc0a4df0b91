"""The engine's SQL helpers live on the ground floor (saas/sql.py), shared with records."""

from saas.sql import id_any, id_array, id_in

__all__ = ["id_any", "id_array", "id_in"]
