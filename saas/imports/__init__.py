"""CSV import of leads and opportunities, run as a background job with a progress bar.

A periodic task (`saas.jobs.periodic_tasks`) reaps imports whose worker died (see
`services.reap_stale_imports`).
"""
