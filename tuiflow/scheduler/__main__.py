"""``python -m tuiflow.scheduler [--home DIR]``: run the scheduler daemon in the foreground."""

from __future__ import annotations

import argparse
import math
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
    # A bad value would only end in a traceback in daemon.log: say it here, where it was given.
    if not (math.isfinite(args.tick) and args.tick > 0):
        parser.error(f"--tick must be more than 0 s, not {args.tick}")
    if not (math.isfinite(args.sample_interval) and args.sample_interval >= 0.25):
        parser.error(f"--sample-interval must be at least 0.25 s, not {args.sample_interval}")
    if args.min_free_memory is not None and not (math.isfinite(args.min_free_memory) and args.min_free_memory >= 0):
        parser.error(f"--min-free-memory must be 0 MiB or more, not {args.min_free_memory}")
    return main(args.home, args.tick, args.sample_interval, args.min_free_memory)


if __name__ == "__main__":
    sys.exit(cli())
