"""CSV import of leads and opportunities, run as a background job with a progress bar.

The periodic tick reaps imports whose worker died (see `services.reap_stale_imports`).
"""

from saas.jobs import TICK_TASKS


def _reap_stale_imports() -> None:
    from saas.imports.services import reap_stale_imports  # the tick imports nothing at load time

    reap_stale_imports()


if _reap_stale_imports not in TICK_TASKS:
    TICK_TASKS.append(_reap_stale_imports)
