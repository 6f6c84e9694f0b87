"""A parameterised no-op for trying the scheduler: sleeps, logs a metric every step, can fail."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

from tuiflow import Param, recipe


@recipe(name="sleep", description="Sleep in steps, log a metric each step; optionally fail or spawn children",
        params={
            "seconds": Param(1.0, help="how long the whole run sleeps, split evenly over its steps", unit="s"),
            "steps": Param(5, help="steps the sleep is cut into; a metric and the progress are logged after each"),
            "fail": Param("no", choices=("no", "raise", "exit", "segfault", "kill"),
                          help="fail on purpose at step fail_at: raise an exception, exit with exit_code, "
                               "segfault (SIGSEGV) or kill (SIGKILL); no: end well"),
            "exit_code": Param(3, help="the exit status of fail=exit"),
            "fail_at": Param(0, help="the step fail ends the run at, counted from 0 (0: before any sleep; "
                                     "steps or more: never)"),
            "children": Param(0, help="child processes started to sleep as long as the run (to try "
                                      "cancelling a run's process group)"),
            "print_bytes": Param(False, help="print a line that is not UTF-8 (to try a log of odd bytes)"),
            "seed": Param(0, help="unused; each repetition gets its own unless set"),
        })
def sleep(run):
    """Sleep ``seconds`` in ``steps`` steps, logging ``progress`` and ``value`` at each.

    ``fail`` ends the run at step ``fail_at``: ``raise`` an exception, ``exit`` with ``exit_code``,
    ``segfault`` (SIGSEGV) or ``kill`` (SIGKILL). ``children`` starts that many child processes that
    sleep as long as the run (to try cancelling a run's whole process group).
    """
    config = run.config
    steps = max(1, config["steps"])
    kids = [subprocess.Popen([sys.executable, "-c", "import time; time.sleep(3600)"])
            for _ in range(config["children"])]
    if config["print_bytes"]:
        sys.stdout.buffer.write(b"bytes that are not UTF-8: \xff\xfe\n")
        sys.stdout.flush()
    try:
        for step in range(steps):
            if config["fail"] != "no" and step == config["fail_at"]:
                _fail(config["fail"], config["exit_code"])
            time.sleep(config["seconds"] / steps)
            run.log(step=step + 1, progress=(step + 1) / steps, value=float(step * step))
            run.progress(step + 1, steps)
        print(f"slept {config['seconds']} s in {steps} steps", flush=True)
        return {"steps": steps, "seconds": config["seconds"]}
    finally:
        for kid in kids:
            kid.kill()
            kid.wait()


def _fail(how: str, code: int) -> None:
    print(f"failing on purpose: {how}", flush=True)
    if how == "raise":
        raise RuntimeError("the sleep recipe was told to fail")
    if how == "exit":
        os._exit(code)
    os.kill(os.getpid(), signal.SIGSEGV if how == "segfault" else signal.SIGKILL)
