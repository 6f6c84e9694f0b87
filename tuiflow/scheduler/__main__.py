"""``python -m tuiflow.scheduler [--home DIR]``: run the scheduler daemon in the foreground."""

from __future__ import annotations

import argparse
import math
import sys

from tuiflow.scheduler.daemon import TICK_S, main

# The same bounds as `tuiflow daemon start` (tuiflow/cli/app.py): a timer asked to wait 1e300 s
# overflows, and this daemon would say so only in its log, long after it started.
MAX_SECONDS = 86_400.0
MAX_MIB = 1_048_576.0


def cli(argv: list[str] | None = None) -> int:
    """Parse the arguments and serve."""
    parser = argparse.ArgumentParser(prog="python -m tuiflow.scheduler", description=__doc__)
    parser.add_argument("--home", default=None)
    parser.add_argument("--tick", type=float, default=TICK_S, help="seconds between scheduling rounds (at most a day)")
    parser.add_argument("--sample-interval", type=float, default=1.0, help="telemetry interval, 0.25 s to a day")
    parser.add_argument("--min-free-memory", type=float, default=None,
                        help="MiB other users may hold on a GPU before it counts as busy")
    parser.add_argument("--executor", choices=("local", "ray"), default="local",
                        help="where runs go: processes on this machine, or a Ray cluster")
    parser.add_argument("--address", default=None,
                        help="with --executor ray: the cluster (auto, or HOST:PORT; default: Ray's own, $RAY_ADDRESS)")
    parser.add_argument("--num-cpus", type=float, default=1.0, help="with --executor ray: CPUs each run asks Ray for")
    args = parser.parse_args(argv)
    if args.address is not None and args.executor != "ray":
        parser.error("--address is for --executor ray")
    if not (math.isfinite(args.num_cpus) and 0 <= args.num_cpus <= 1024):
        parser.error(f"--num-cpus must be 0 to 1024, not {args.num_cpus}")
    # A bad value would only end in a traceback in daemon.log: say it here, where it was given.
    if not (math.isfinite(args.tick) and args.tick > 0):
        parser.error(f"--tick must be more than 0 s, not {args.tick}")
    if args.tick > MAX_SECONDS:
        parser.error(f"--tick must be at most {MAX_SECONDS:,.0f} s (a day), not {args.tick:g}")
    if not (math.isfinite(args.sample_interval) and args.sample_interval >= 0.25):
        parser.error(f"--sample-interval must be at least 0.25 s, not {args.sample_interval}")
    if args.sample_interval > MAX_SECONDS:
        parser.error(f"--sample-interval must be at most {MAX_SECONDS:,.0f} s (a day), not {args.sample_interval:g}")
    if args.min_free_memory is not None and not (math.isfinite(args.min_free_memory) and args.min_free_memory >= 0):
        parser.error(f"--min-free-memory must be 0 MiB or more, not {args.min_free_memory}")
    if args.min_free_memory is not None and args.min_free_memory > MAX_MIB:
        parser.error(f"--min-free-memory must be at most {MAX_MIB:,.0f} MiB (1 TiB), not {args.min_free_memory:g}")
    return main(args.home, args.tick, args.sample_interval, args.min_free_memory, args.executor, args.address,
                args.num_cpus)


if __name__ == "__main__":
    sys.exit(cli())
