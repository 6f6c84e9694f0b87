"""A parameterised no-op for trying the scheduler: sleeps, logs a metric every step, can fail."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

from tuiflow import recipe


@recipe(name="sleep", description="Sleep in steps, log a metric each step; optionally fail or spawn children",
        params={"seconds": 1.0, "steps": 5, "fail": ["no", "raise", "exit", "segfault", "kill"], "exit_code": 3,
                "fail_at": 0, "children": 0, "print_bytes": False, "seed": 0})
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
