"""`python -m worker [--burst]`: one worker process (run several for more throughput)."""

import argparse
import logging

from saas import create_app
from worker.runner import run


def main() -> None:
    parser = argparse.ArgumentParser(description="Run a background worker.")
    parser.add_argument("--burst", action="store_true", help="work until the queues are empty")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    run(create_app(), burst=args.burst)


if __name__ == "__main__":
    main()
