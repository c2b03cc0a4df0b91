"""`python -m worker [--burst]`: one worker process (run several for more throughput)."""

import argparse
import logging

from saas import create_app
from worker.runner import run


def main() -> None:
    parser = argparse.ArgumentParser(description="Run a background worker.")
    parser.add_argument("--burst", action="store_true", help="work until the queues are empty")
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                        help="a config override, e.g. --set TICK_SECONDS=1 (tests, drills)")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    overrides = dict(item.split("=", 1) for item in args.set if "=" in item)
    run(create_app(overrides or None), burst=args.burst)


if __name__ == "__main__":
    main()
