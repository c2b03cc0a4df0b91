"""The sequence runtime: connect, advance, the due-step tick, conditions, exits, A/B.

The tick (`saas.engine.tick.run_tick`) is registered in TICK_TASKS here.
"""

from saas.jobs import TICK_TASKS


def _engine_tick() -> None:
    from saas.engine.tick import run_tick  # the tick imports nothing at load time

    run_tick()


if _engine_tick not in TICK_TASKS:
    TICK_TASKS.append(_engine_tick)
