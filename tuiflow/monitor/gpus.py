"""The GPU layer: one record type and one function, whether the GPUs are real (NVML), simulated or absent.

Everything above this module (sampler, allocator, scheduler, TUI) sees only `GpuInfo` and `GpuReport`
and works the same on fake and real GPUs. `TUIFLOW_FAKE_GPUS` switches to simulated GPUs
(see `tuiflow.monitor.fake_gpus`); otherwise NVML is asked, and a machine without an NVIDIA driver
gets an empty report with source "none" and the reason, never an exception.
"""

from __future__ import annotations

import os
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, NamedTuple

FAKE_GPUS_ENV = "TUIFLOW_FAKE_GPUS"

GpuSource = Literal["nvml", "fake", "none"]


class GpuProcess(NamedTuple):
    """A process holding memory on a GPU; memory_mb is None where the driver does not say."""

    pid: int
    memory_mb: float | None


@dataclass
class GpuInfo:
    """One GPU at one moment. Any field the driver fails to give is None; index is always known."""

    index: int
    uuid: str | None = None
    name: str | None = None
    memory_total_mb: float | None = None
    memory_used_mb: float | None = None
    utilization: float | None = None  # percent of time a kernel ran, 0-100
    temperature: float | None = None  # degrees Celsius
    power_w: float | None = None
    power_limit_w: float | None = None
    # None when the process list itself could not be read; [] when it was read and is empty.
    processes: list[GpuProcess] | None = field(default_factory=list)
    # The cluster node it is on (see tuiflow.monitor.ray_nodes); None: the daemon's own machine. Not in
    # `to_dict`: a telemetry record keeps its node beside its values.
    node: str | None = None

    @property
    def device(self) -> str:
        """The name of this GPU in telemetry records: "gpu0", "gpu1", ..."""
        return f"gpu{self.index}"

    @property
    def memory_free_mb(self) -> float | None:
        """Total minus used, or None when either is unknown."""
        if self.memory_total_mb is None or self.memory_used_mb is None:
            return None
        return max(0.0, self.memory_total_mb - self.memory_used_mb)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-able dict; processes become [[pid, memory_mb], ...]."""
        return {
            "index": self.index,
            "uuid": self.uuid,
            "name": self.name,
            "memory_total_mb": self.memory_total_mb,
            "memory_used_mb": self.memory_used_mb,
            "utilization": self.utilization,
            "temperature": self.temperature,
            "power_w": self.power_w,
            "power_limit_w": self.power_limit_w,
            "processes": None if self.processes is None else [[p.pid, p.memory_mb] for p in self.processes],
        }


@dataclass
class GpuReport:
    """What the GPU layer saw: the GPUs, where they came from, and why there are none when there are none."""

    gpus: list[GpuInfo]
    source: GpuSource
    reason: str = ""
    driver: str | None = None
    time: float = field(default_factory=time.time)

    @property
    def cpu_only(self) -> bool:
        """True when there is no GPU to run on."""
        return not self.gpus

    @property
    def status(self) -> str:
        """One line for a status bar: "2 GPUs (NVML, driver 550.54)" or "CPU-only: no NVIDIA driver (...)"."""
        if self.cpu_only:
            return f"CPU-only: {self.reason}" if self.reason else "CPU-only"
        count = f"{len(self.gpus)} GPU{'s' if len(self.gpus) != 1 else ''}"
        if self.source == "fake":
            return f"{count} (simulated, {FAKE_GPUS_ENV})"
        return f"{count} (NVML, driver {self.driver})" if self.driver else f"{count} (NVML)"

    def process_memory(self) -> dict[int, float]:
        """GPU memory per pid in MiB, summed over all GPUs (a pid with unknown memory counts 0)."""
        memory: dict[int, float] = {}
        for gpu in self.gpus:
            for proc in gpu.processes or ():
                memory[proc.pid] = memory.get(proc.pid, 0.0) + (proc.memory_mb or 0.0)
        return memory


def read_gpus(now: float | None = None) -> GpuReport:
    """Read every GPU once: simulated ones under TUIFLOW_FAKE_GPUS, else NVML, else an empty report.

    Never raises for missing hardware or a broken driver; raises ValueError (one line, naming the
    variable) for a malformed TUIFLOW_FAKE_GPUS, which is the user's to fix. `now` pins the clock of
    simulated GPUs (their utilisation, temperature and power are functions of time); NVML ignores it.
    """
    fake = os.environ.get(FAKE_GPUS_ENV, "").strip()
    if fake:
        from tuiflow.monitor.fake_gpus import read_fake_gpus

        return read_fake_gpus(fake, now=now)
    from tuiflow.monitor.nvml import read_nvml

    return read_nvml()


def gpus_simulated() -> bool:
    """Whether this process's GPUs are simulated (TUIFLOW_FAKE_GPUS): handed out, but no framework can
    compute on them."""
    return bool(os.environ.get(FAKE_GPUS_ENV, "").strip())


def cuda_usable() -> bool:
    """Whether a framework in this process can compute on a GPU: this machine has an NVIDIA driver and
    its GPUs are not simulated (a Ray node's GPUs may be only logical ones, as in a test cluster)."""
    return not gpus_simulated() and os.path.exists("/dev/nvidiactl")


def keep_gpu_state_in(folder: str | os.PathLike[str]) -> None:
    """Where the GPU layer may keep what every process of one tuiflow home must share: simulated GPUs
    keep there the registry of the run processes on them, so `tuiflow gpus` sees the daemon's runs.
    Real GPUs keep nothing ($TUIFLOW_FAKE_GPUS_STATE, when set, wins)."""
    from pathlib import Path

    from tuiflow.monitor import fake_gpus

    fake_gpus.default_state_dir = Path(folder)


def show_run_process(pid: int, gpus: Sequence[int]) -> None:
    """Tell the GPU layer a run's process `pid` was started on `gpus`. Real GPUs list their processes
    through NVML by themselves; simulated ones add it to their registry, so telemetry sees it too."""
    if gpus and gpus_simulated():
        from tuiflow.monitor.fake_gpus import assign_fake_process

        assign_fake_process(pid, gpus)


def forget_run_process(pid: int) -> None:
    """The run's process `pid` ended: simulated GPUs drop it from their registry (real ones need nothing)."""
    if gpus_simulated():
        from tuiflow.monitor.fake_gpus import release_fake_process

        release_fake_process(pid)
