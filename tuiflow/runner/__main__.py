"""``python -m tuiflow.runner RUN_ID [--home DIR]``: execute one run of the store."""

from __future__ import annotations

import argparse
import sys

from tuiflow.runner.worker import execute


def main(argv: list[str] | None = None) -> int:
    """Parse the arguments and run."""
    parser = argparse.ArgumentParser(prog="python -m tuiflow.runner", description=__doc__)
    parser.add_argument("run_id", type=int, help="the id of a queued or claimed run")
    parser.add_argument("--home", default=None, help="the tuiflow home (default: $TUIFLOW_HOME or the data dir)")
    parser.add_argument("--remote", action="store_true",
                        help="started on a cluster node: reach the store through $TUIFLOW_REMOTE_FD only")
    args = parser.parse_args(argv)
    return execute(args.run_id, args.home, remote=args.remote)


if __name__ == "__main__":
    sys.exit(main())
