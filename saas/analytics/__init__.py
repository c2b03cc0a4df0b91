"""Analytics: per-sequence figures (SQL aggregates), charts, CSV export and the A/B panel."""
