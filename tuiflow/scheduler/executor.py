"""The local executor: starting runner processes and recording how they ended, for the daemon and
for foreground runs alike. A runner gets its own process group (so a cancel reaches everything it
started), the GPUs it was given in CUDA_VISIBLE_DEVICES, and its log file as stdout and stderr."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

from tuiflow.monitor import gpus_simulated
from tuiflow.store import Store, process_start_time


def log_path(home: Path, run_id: int) -> Path:
    """Where run ``run_id`` writes its output."""
    folder = home / "logs"
    folder.mkdir(mode=0o700, exist_ok=True)
    return folder / f"run-{run_id}.log"


def runner_env(gpus: Sequence[int], home: Path) -> dict[str, str]:
    """The environment of a runner: GPUs by PCI bus order, only the ones it was given."""
    env = dict(os.environ)
    env["CUDA_DEVICE_ORDER"] = "PCI_BUS_ID"
    env["CUDA_VISIBLE_DEVICES"] = ",".join(str(i) for i in gpus)  # empty: CPU only
    # What the recipe computes on (run.device): simulated GPUs are handed out, but compute on the CPU.
    env["TUIFLOW_DEVICE"] = "cuda:0" if gpus and not gpus_simulated() else "cpu"
    env["TUIFLOW_HOME"] = str(home)
    env.setdefault("PYTHONUNBUFFERED", "1")
    return env


def spawn(store: Store, run_id: int, gpus: Sequence[int] = ()) -> subprocess.Popen:
    """Start ``python -m tuiflow.runner RUN_ID`` for a claimed run and record its process."""
    home = store.home
    path = log_path(home, run_id)
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)  # logs are the owner's alone
    with open(descriptor, "ab", buffering=0) as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "tuiflow.runner", str(run_id), "--home", str(home)],
            stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT, env=runner_env(gpus, home),
            start_new_session=True, close_fds=True,
        )
    store.start_run(run_id, pid=process.pid, pid_start_time=process_start_time(process.pid), gpus=list(gpus),
                    log_path=str(path), host=socket.gethostname())
    return process


def stop_group(pid: int, sig: int) -> bool:
    """Send ``sig`` to the process group led by ``pid``; False when it is gone."""
    try:
        os.killpg(pid, sig)
        return True
    except ProcessLookupError:
        return False
    except PermissionError:
        return False


def record_exit(store: Store, run_id: int, returncode: int) -> None:
    """After a runner exited: a run it left unfinished (killed, crashed) ends as failed, with the
    signal or exit code; one it finished itself keeps its outcome."""
    run = store.get_run(run_id)
    if run.is_final:
        return
    if returncode < 0:
        name = _signal_name(-returncode)
        store.finish_run(run_id, "failed", signal=-returncode,
                         error=f"the runner was killed by {name} before it recorded an outcome")
    else:
        store.finish_run(run_id, "failed", exit_code=returncode,
                         error=f"the runner exited with code {returncode} before it recorded an outcome")


def _signal_name(number: int) -> str:
    try:
        return signal.Signals(number).name
    except ValueError:
        return f"signal {number}"
