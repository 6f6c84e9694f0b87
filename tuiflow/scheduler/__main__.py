"""``python -m tuiflow.scheduler [--home DIR]``: run the scheduler daemon in the foreground."""

from __future__ import annotations

import argparse
import sys

from tuiflow.scheduler.daemon import TICK_S, main


def cli(argv: list[str] | None = None) -> int:
    """Parse the arguments and serve."""
    parser = argparse.ArgumentParser(prog="python -m tuiflow.scheduler", description=__doc__)
    parser.add_argument("--home", default=None)
    parser.add_argument("--tick", type=float, default=TICK_S, help="seconds between scheduling rounds")
    parser.add_argument("--sample-interval", type=float, default=1.0, help="telemetry interval, >= 0.25 s")
    parser.add_argument("--min-free-memory", type=float, default=None,
                        help="MiB other users may hold on a GPU before it counts as busy")
    args = parser.parse_args(argv)
    return main(args.home, args.tick, args.sample_interval, args.min_free_memory)


if __name__ == "__main__":
    sys.exit(cli())
