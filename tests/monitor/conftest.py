"""Fixtures for the monitor tests: a clean GPU environment, and real process trees to watch."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import psutil
import pytest

from tuiflow.monitor import fake_gpus, nvml

SPAWN_TREE = Path(__file__).with_name("spawn_tree.py")


@pytest.fixture(autouse=True)
def _clean_gpu_environment(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    # The machine running the tests may have either variable set; each test states what it wants.
    monkeypatch.delenv(fake_gpus.FAKE_GPUS_ENV, raising=False)
    monkeypatch.delenv(fake_gpus.STATE_ENV, raising=False)
    fake_gpus.clear_fake_processes()
    nvml._reset_for_tests()
    yield
    fake_gpus.clear_fake_processes()
    nvml._reset_for_tests()


@dataclass
class Tree:
    """A live process tree started by spawn_tree.py."""

    popen: subprocess.Popen
    root: int
    children: list[int]
    burners: list[int]
    middle: int
    grandchildren: list[int]

    @property
    def pids(self) -> set[int]:
        return {self.root, *self.children, *self.burners, *self.grandchildren}

    def kill(self, pid: int, timeout: float = 5.0) -> None:
        """Kill one process of the tree and wait until its parent has reaped it."""
        os.kill(pid, signal.SIGKILL)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if not psutil.pid_exists(pid):
                return
            time.sleep(0.02)
        raise AssertionError(f"process {pid} still there after {timeout} s")

    def stop(self) -> None:
        try:
            os.killpg(self.popen.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        self.popen.stdin.close()
        self.popen.stdout.close()
        self.popen.wait(10)


@pytest.fixture
def spawn_tree() -> Iterator[Callable[..., Tree]]:
    """Start a process tree: spawn_tree(children=2, grandchildren=1, burners=0) -> Tree; all killed afterwards."""
    trees: list[Tree] = []

    def spawn(children: int = 2, grandchildren: int = 1, burners: int = 0) -> Tree:
        popen = subprocess.Popen(
            [sys.executable, str(SPAWN_TREE), str(children), str(grandchildren), str(burners)],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, start_new_session=True)
        tree = Tree(popen, **json.loads(popen.stdout.readline()))
        trees.append(tree)
        return tree

    yield spawn
    for tree in trees:
        tree.stop()
