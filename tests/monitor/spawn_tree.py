"""A run-like process tree for the monitor tests: `python spawn_tree.py CHILDREN GRANDCHILDREN BURNERS`.

The root starts CHILDREN sleeping children, one more child that starts GRANDCHILDREN sleeping
children of its own, and BURNERS children that spin on a CPU; prints one JSON line with the pids;
then reaps children (so a killed one disappears instead of lingering as a zombie) until stdin closes.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading

SLEEP = [sys.executable, "-c", "import time; time.sleep(600)"]
BURN = [sys.executable, "-c", "while True: pass"]
PARENT = [sys.executable, "-c",
          "import subprocess, sys, time\n"
          "n = int(sys.argv[1])\n"
          "kids = [subprocess.Popen(['sleep', '600']) for _ in range(n)]\n"
          "print(' '.join(str(k.pid) for k in kids), flush=True)\n"
          "time.sleep(600)\n"]


def reap() -> None:
    while True:
        try:
            os.wait()
        except ChildProcessError:
            threading.Event().wait(0.05)


def main() -> None:
    children, grandchildren, burners = (int(x) for x in sys.argv[1:4])
    sleepers = [subprocess.Popen(["sleep", "600"]) for _ in range(children)]
    spinners = [subprocess.Popen(BURN) for _ in range(burners)]
    middle = subprocess.Popen(PARENT + [str(grandchildren)], stdout=subprocess.PIPE, text=True)
    grand = [int(pid) for pid in middle.stdout.readline().split()]
    print(json.dumps({
        "root": os.getpid(),
        "children": [p.pid for p in sleepers] + [middle.pid],
        "burners": [p.pid for p in spinners],
        "middle": middle.pid,
        "grandchildren": grand,
    }), flush=True)
    threading.Thread(target=reap, daemon=True).start()
    sys.stdin.read()


if __name__ == "__main__":
    main()
