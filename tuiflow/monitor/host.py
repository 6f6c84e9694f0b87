"""Host telemetry with psutil: per-core CPU, memory, swap, disk and network rates, load average.

Rates and CPU percentages are over the time since the previous sample of the same `HostSampler`
(the first sample: since the sampler was made). The sampler keeps its own previous counters rather
than relying on `psutil.cpu_percent()`'s module-wide state, which any other caller in the process
would disturb.
"""

from __future__ import annotations

import os
import time
from dataclasses import asdict, dataclass
from typing import Any

import psutil

MIB = 1024 * 1024
# Below this many seconds between samples, deltas are noise: report None instead of a wild number.
MIN_DELTA_SECONDS = 0.05


@dataclass
class HostSample:
    """One host sample. Memory in MiB, rates in bytes per second, CPU in percent (100 = one core busy)."""

    time: float
    cpu_percent: float | None  # mean over cores
    per_core: list[float] | None
    memory_total_mb: float
    memory_used_mb: float
    memory_available_mb: float
    swap_total_mb: float
    swap_used_mb: float
    disk_read_bps: float | None
    disk_write_bps: float | None
    net_recv_bps: float | None
    net_sent_bps: float | None
    load_1: float | None
    load_5: float | None
    load_15: float | None

    def host_values(self) -> dict[str, Any]:
        """Everything but the per-core list, as a JSON-able dict (the "host" telemetry record)."""
        values = asdict(self)
        del values["time"], values["per_core"]
        return values

    def cpu_values(self) -> dict[str, Any]:
        """The per-core percentages and their mean (the "cpu" telemetry record)."""
        return {"cores": self.per_core, "total": self.cpu_percent}


def _busy_and_total(times: Any) -> tuple[float, float]:
    total = sum(times)
    # On Linux guest time is already counted in user/nice; counting it twice would exceed 100 %.
    total -= getattr(times, "guest", 0.0) + getattr(times, "guest_nice", 0.0)
    idle = times.idle + getattr(times, "iowait", 0.0)
    return total - idle, total


def _rate(now: float | None, before: float | None, seconds: float) -> float | None:
    if now is None or before is None or seconds < MIN_DELTA_SECONDS or now < before:
        return None  # a counter that went backwards was reset (a disk or NIC came and went)
    return (now - before) / seconds


def _mb(value: float) -> float:
    return round(value / MIB, 1)


class HostSampler:
    """Samples the host; keep one per consumer, since each sample is relative to the previous one."""

    def __init__(self) -> None:
        self._clock, self._cores, self._disk, self._net = self._counters()

    @staticmethod
    def _counters() -> tuple[float, list[tuple[float, float]], tuple[int, int] | None, tuple[int, int] | None]:
        cores = [_busy_and_total(t) for t in psutil.cpu_times(percpu=True)]
        try:
            disk_counters = psutil.disk_io_counters()
        except (OSError, RuntimeError):  # containers without /proc/diskstats
            disk_counters = None
        try:
            net_counters = psutil.net_io_counters()
        except (OSError, RuntimeError):
            net_counters = None
        disk = None if disk_counters is None else (disk_counters.read_bytes, disk_counters.write_bytes)
        net = None if net_counters is None else (net_counters.bytes_recv, net_counters.bytes_sent)
        return time.monotonic(), cores, disk, net

    def sample(self, now: float | None = None) -> HostSample:
        """Read the host now; `now` is the wall-clock time stamped on the sample (default: time.time())."""
        clock, cores, disk, net = self._counters()
        seconds = clock - self._clock
        per_core: list[float] | None = None
        if seconds >= MIN_DELTA_SECONDS and len(cores) == len(self._cores):
            per_core = []
            for (busy, total), (busy0, total0) in zip(cores, self._cores):
                span = total - total0
                per_core.append(round(min(100.0, max(0.0, 100 * (busy - busy0) / span)), 1) if span > 0 else 0.0)
        disk0, net0 = self._disk, self._net
        self._clock, self._cores, self._disk, self._net = clock, cores, disk, net

        memory = psutil.virtual_memory()
        swap = psutil.swap_memory()
        try:
            load: tuple[float | None, ...] = tuple(round(x, 2) for x in os.getloadavg())
        except (AttributeError, OSError):  # not available on this platform
            load = (None, None, None)

        def pair_rate(current: tuple[int, int] | None, before: tuple[int, int] | None, i: int) -> float | None:
            if current is None or before is None:
                return None
            value = _rate(current[i], before[i], seconds)
            return None if value is None else round(value, 1)

        return HostSample(
            time=time.time() if now is None else now,
            cpu_percent=None if per_core is None else round(sum(per_core) / max(1, len(per_core)), 1),
            per_core=per_core,
            memory_total_mb=_mb(memory.total),
            # What programs hold, the way `free` and btop count it: psutil's `used` leaves out shared memory.
            memory_used_mb=_mb(memory.total - memory.available),
            memory_available_mb=_mb(memory.available),
            swap_total_mb=_mb(swap.total),
            swap_used_mb=_mb(swap.used),
            disk_read_bps=pair_rate(disk, disk0, 0),
            disk_write_bps=pair_rate(disk, disk0, 1),
            net_recv_bps=pair_rate(net, net0, 0),
            net_sent_bps=pair_rate(net, net0, 1),
            load_1=load[0],
            load_5=load[1],
            load_15=load[2],
        )
