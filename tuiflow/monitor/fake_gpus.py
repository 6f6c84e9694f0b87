"""Simulated GPUs for tests, CI and demos: `TUIFLOW_FAKE_GPUS=4` or a JSON list of GPU descriptions.

A fake GPU looks alive: utilisation, temperature and power move with time (deterministically, so a
test can pin `now`), and its memory used is what the processes "on" it hold plus any memory a
description says another user holds (`used_mb`, shown without a pid, as NVML shows a process of
another container).

Which process is on which fake GPU is a small registry the scheduler writes when it starts a run
(`assign_fake_process(pid, [0, 1], memory_mb=...)`) and may clear when the run ends
(`release_fake_process(pid)`). With `TUIFLOW_FAKE_GPUS_STATE` set to a directory the registry is the
file `fake_gpus.json` there, shared by every process (daemon, CLI, tests); unset, it lives in this
process's memory. Each entry records the process's create time, so a dead process, or a new one that
got its pid, never shows up on a GPU: the registry is right even if nobody releases anything.
"""

from __future__ import annotations

import json
import math
import os
import threading
import time
import uuid as uuidlib
from collections.abc import Iterable, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tuiflow.monitor.gpus import FAKE_GPUS_ENV, GpuInfo, GpuProcess, GpuReport
from tuiflow.monitor.procs import create_time

STATE_ENV = "TUIFLOW_FAKE_GPUS_STATE"
STATE_FILE = "fake_gpus.json"
DEFAULT_NAME = "Fake GPU"
DEFAULT_MEMORY_MB = 24576.0
DEFAULT_POWER_LIMIT_W = 300.0
DEFAULT_PROCESS_MB = 2048.0
MAX_FAKE_GPUS = 256
_KEYS = ("name", "memory_mb", "used_mb", "power_limit_w", "uuid")
_EXPECTED = ('expected a GPU count like 4 or a JSON list like [{"memory_mb": 24576, "name": "Fake A10"}] '
             f"(keys: {', '.join(_KEYS)})")
# Two reads of the same process's create time may differ by rounding of the boot time.
_CREATE_TIME_SLACK = 0.05


@dataclass(frozen=True)
class FakeGpuSpec:
    """The fixed description of one simulated GPU."""

    name: str = DEFAULT_NAME
    memory_mb: float = DEFAULT_MEMORY_MB
    used_mb: float = 0.0  # held by processes that are not ours and not listed (another user's job)
    power_limit_w: float = DEFAULT_POWER_LIMIT_W
    uuid: str | None = None


@dataclass(frozen=True)
class FakeProcess:
    """A registry entry: a process using `memory_mb` on each of the fake GPUs `gpus`."""

    pid: int
    create_time: float
    gpus: tuple[int, ...]
    memory_mb: float

    def to_dict(self) -> dict[str, Any]:
        """The entry as stored in fake_gpus.json."""
        return {"pid": self.pid, "create_time": self.create_time, "gpus": list(self.gpus),
                "memory_mb": self.memory_mb}


def _bad(text: str, problem: str) -> ValueError:
    return ValueError(f"{FAKE_GPUS_ENV}={text!r}: {problem}; {_EXPECTED}")


def _number(text: str, where: str, key: str, value: Any, minimum: float, positive: bool) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise _bad(text, f"{where}: {key} must be a number, got {value!r}")
    if value < minimum or (positive and value <= 0):
        raise _bad(text, f"{where}: {key} must be {'> 0' if positive else f'>= {minimum:g}'}, got {value!r}")
    return float(value)


def _spec(text: str, position: int, item: Any) -> FakeGpuSpec:
    where = f"GPU {position}"
    if not isinstance(item, dict):
        raise _bad(text, f"{where} is {type(item).__name__}, not an object")
    unknown = sorted(set(item) - set(_KEYS))
    if unknown:
        raise _bad(text, f"{where}: unknown key {unknown[0]!r}")
    name = item.get("name", DEFAULT_NAME)
    if not isinstance(name, str) or not name:
        raise _bad(text, f"{where}: name must be a non-empty string, got {name!r}")
    memory = _number(text, where, "memory_mb", item.get("memory_mb", DEFAULT_MEMORY_MB), 0, positive=True)
    used = _number(text, where, "used_mb", item.get("used_mb", 0.0), 0, positive=False)
    if used > memory:
        raise _bad(text, f"{where}: used_mb {used:g} is more than memory_mb {memory:g}")
    limit = _number(text, where, "power_limit_w", item.get("power_limit_w", DEFAULT_POWER_LIMIT_W), 0, positive=True)
    uuid = item.get("uuid")
    if uuid is not None and not isinstance(uuid, str):
        raise _bad(text, f"{where}: uuid must be a string, got {uuid!r}")
    return FakeGpuSpec(name, memory, used, limit, uuid)


def parse_fake_gpus(text: str) -> list[FakeGpuSpec]:
    """The GPUs a TUIFLOW_FAKE_GPUS value describes; a ValueError (one line, naming the variable) if malformed."""
    stripped = text.strip()
    try:
        value = json.loads(stripped)
    except ValueError:
        raise _bad(text, "not a count nor valid JSON") from None
    if isinstance(value, int) and not isinstance(value, bool):
        if not 0 <= value <= MAX_FAKE_GPUS:
            raise _bad(text, f"the count must be between 0 and {MAX_FAKE_GPUS}")
        return [FakeGpuSpec() for _ in range(value)]
    if not isinstance(value, list):
        raise _bad(text, f"got a JSON {type(value).__name__}")
    if len(value) > MAX_FAKE_GPUS:
        raise _bad(text, f"more than {MAX_FAKE_GPUS} GPUs")
    return [_spec(text, position, item) for position, item in enumerate(value)]


_parsed: tuple[str, list[FakeGpuSpec]] | None = None


def _specs(text: str) -> list[FakeGpuSpec]:
    # The variable is read on every sample; parse it again only when it changes.
    global _parsed
    if _parsed is None or _parsed[0] != text:
        _parsed = (text, parse_fake_gpus(text))
    return _parsed[1]


# ---- the registry of processes on fake GPUs ------------------------------------------------------

_memory_registry: dict[int, FakeProcess] = {}
_registry_lock = threading.Lock()
_file_cache: tuple[Path, int, int, int, list[FakeProcess]] | None = None


default_state_dir: Path | None = None  # set by `tuiflow.monitor.keep_gpu_state_in` (the tuiflow home)


def state_path(state_dir: str | os.PathLike[str] | None = None) -> Path | None:
    """The registry file: `state_dir`/fake_gpus.json, else under $TUIFLOW_FAKE_GPUS_STATE, else under
    the folder given to `keep_gpu_state_in`, else None (in this process's memory)."""
    folder = state_dir if state_dir is not None else os.environ.get(STATE_ENV) or default_state_dir
    return None if folder is None else Path(folder) / STATE_FILE


def _load(path: Path) -> list[FakeProcess]:
    try:
        data = json.loads(path.read_text())
        return [FakeProcess(int(e["pid"]), float(e["create_time"]), tuple(int(g) for g in e["gpus"]),
                            float(e["memory_mb"])) for e in data.get("processes", [])]
    except FileNotFoundError:
        return []
    except (ValueError, KeyError, TypeError, AttributeError):
        # A torn or hand-edited file: show no processes rather than break telemetry.
        return []


def _save(path: Path, entries: Iterable[FakeProcess]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f"{path.name}.{os.getpid()}.tmp")
    tmp.write_text(json.dumps({"version": 1, "processes": [e.to_dict() for e in entries]}))
    os.replace(tmp, path)  # readers see the old file or the new one, never half of one


@contextmanager
def _locked(path: Path | None):
    """Serialise read-modify-write of the registry between threads and, for a file, between processes."""
    with _registry_lock:
        if path is None:
            yield
            return
        path.parent.mkdir(parents=True, exist_ok=True)
        with open(path.with_name(path.name + ".lock"), "a") as lock:
            try:
                import fcntl

                fcntl.flock(lock, fcntl.LOCK_EX)
            except ImportError:  # not POSIX: the thread lock is all there is
                pass
            yield


def _alive(entry: FakeProcess) -> bool:
    created = create_time(entry.pid)
    return created is not None and abs(created - entry.create_time) <= _CREATE_TIME_SLACK


def _entries(path: Path | None) -> list[FakeProcess]:
    global _file_cache
    if path is None:
        return list(_memory_registry.values())
    try:
        stat = path.stat()
    except OSError:
        return []
    # Every write replaces the file, so a new inode (or mtime, or size) means new content.
    key = (path, stat.st_ino, stat.st_mtime_ns, stat.st_size)
    if _file_cache is not None and _file_cache[:4] == key:
        return _file_cache[4]
    entries = _load(path)
    _file_cache = (*key, entries)
    return entries


def _update(path: Path | None, change: dict[int, FakeProcess | None]) -> None:
    with _locked(path):
        current = {e.pid: e for e in (_memory_registry.values() if path is None else _load(path))}
        for pid, entry in change.items():
            if entry is None:
                current.pop(pid, None)
            else:
                current[pid] = entry
        live = [e for e in current.values() if _alive(e)]  # dead entries are pruned on every write
        if path is None:
            _memory_registry.clear()
            _memory_registry.update({e.pid: e for e in live})
        else:
            _save(path, live)


def assign_fake_process(pid: int, gpus: Sequence[int], memory_mb: float = DEFAULT_PROCESS_MB,
                        state_dir: str | os.PathLike[str] | None = None) -> bool:
    """Show process `pid` on fake GPUs `gpus`, holding `memory_mb` on each; False if the process is gone."""
    created = create_time(pid)
    if created is None:
        return False
    entry = FakeProcess(pid, created, tuple(sorted(set(gpus))), float(memory_mb))
    _update(state_path(state_dir), {pid: entry})
    return True


def release_fake_process(pid: int, state_dir: str | os.PathLike[str] | None = None) -> None:
    """Take process `pid` off the fake GPUs (a dead process disappears by itself; this is for a live one)."""
    _update(state_path(state_dir), {pid: None})


def fake_processes(state_dir: str | os.PathLike[str] | None = None) -> list[FakeProcess]:
    """The live processes the registry puts on fake GPUs."""
    return [e for e in _entries(state_path(state_dir)) if _alive(e)]


def clear_fake_processes(state_dir: str | os.PathLike[str] | None = None) -> None:
    """Empty the registry (tests, demos)."""
    path = state_path(state_dir)
    with _locked(path):
        if path is None:
            _memory_registry.clear()
        else:
            _save(path, [])


# ---- the simulation ------------------------------------------------------------------------------

def _wave(now: float, period: float, phase: float) -> float:
    return math.sin(2 * math.pi * now / period + phase)


def _fake_uuid(index: int) -> str:
    return "GPU-" + str(uuidlib.uuid5(uuidlib.NAMESPACE_URL, f"tuiflow:fake-gpu:{index}"))


def simulate(specs: Sequence[FakeGpuSpec], processes: Iterable[FakeProcess], now: float) -> list[GpuInfo]:
    """The fake GPUs at time `now`: a pure function of the descriptions, the processes and the time."""
    on_gpu: dict[int, list[GpuProcess]] = {}
    for proc in processes:
        for index in proc.gpus:
            on_gpu.setdefault(index, []).append(GpuProcess(proc.pid, proc.memory_mb))
    gpus = []
    for index, spec in enumerate(specs):
        procs = sorted(on_gpu.get(index, []))
        phase = index * 1.7
        if procs:  # training: high, breathing utilisation
            load = 72 + 18 * _wave(now, 37.0, phase) + 6 * _wave(now, 7.3, 2 * phase)
        elif spec.used_mb > 0:  # someone else's job, lighter
            load = 30 + 12 * _wave(now, 53.0, phase)
        else:  # idle
            load = 1 + _wave(now, 11.0, phase)
        utilization = float(round(min(100.0, max(0.0, load))))
        used = spec.used_mb + sum(p.memory_mb or 0.0 for p in procs)
        gpus.append(GpuInfo(
            index=index,
            uuid=spec.uuid or _fake_uuid(index),
            name=spec.name,
            memory_total_mb=spec.memory_mb,
            memory_used_mb=min(spec.memory_mb, used),
            utilization=utilization,
            temperature=float(round(33 + 0.45 * utilization + 2 * _wave(now, 120.0, phase))),
            power_w=round(spec.power_limit_w * (0.18 + 0.72 * utilization / 100) + 3 * _wave(now, 5.0, phase), 1),
            power_limit_w=spec.power_limit_w,
            processes=procs,
        ))
    return gpus


def read_fake_gpus(text: str, now: float | None = None) -> GpuReport:
    """The report for TUIFLOW_FAKE_GPUS=`text`, with the registry's live processes on the GPUs."""
    specs = _specs(text)
    now = time.time() if now is None else now
    gpus = simulate(specs, fake_processes(), now)
    reason = f"simulated GPUs ({FAKE_GPUS_ENV})" if gpus else f"{FAKE_GPUS_ENV}={text} simulates no GPUs"
    return GpuReport(gpus, "fake", reason, driver="fake", time=now)
