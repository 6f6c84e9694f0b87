"""Real GPUs through NVML (`nvidia-ml-py`, module `pynvml`), every call guarded.

NVML is initialised once per process and kept: a sample then costs a handful of C calls per GPU.
When initialisation fails (no driver, no library, no permission) the reason is remembered and
retried at most every `RETRY_SECONDS`, so a daemon started before the driver loaded finds the GPUs
later without paying for a failing dlopen on every tick.
"""

from __future__ import annotations

import atexit
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from tuiflow.monitor.gpus import GpuInfo, GpuProcess, GpuReport

RETRY_SECONDS = 60.0
MIB = 1024 * 1024

T = TypeVar("T")


@dataclass
class _Device:
    """What does not change while the process lives: the handle and the identity of one GPU."""

    index: int
    handle: Any
    uuid: str | None
    name: str | None
    memory_total_mb: float | None


@dataclass
class _Session:
    devices: list[_Device]
    driver: str | None


_lock = threading.Lock()
_session: _Session | None = None
_failure: str | None = None
_failed_at = 0.0


def _text(value: Any) -> str:
    # Older pynvml releases return bytes for names and UUIDs.
    return value.decode(errors="replace") if isinstance(value, bytes) else str(value)


def _guard(call: Callable[..., T], *args: Any) -> T | None:
    """The value of one NVML call, or None if it fails: one bad field must not hide the others."""
    try:
        return call(*args)
    except Exception:  # NVMLError and its many subclasses, or a ctypes error from an odd driver
        return None


def failure_reason(exc: BaseException) -> str:
    """Why NVML could not start, in words a user can act on."""
    name = type(exc).__name__
    if isinstance(exc, ImportError):
        return f"nvidia-ml-py is not installed ({exc})"
    if name == "NVMLError_LibraryNotFound":
        return f"no NVIDIA driver (NVML: {exc})"
    if name == "NVMLError_DriverNotLoaded":
        return f"NVIDIA driver not loaded (NVML: {exc})"
    if name == "NVMLError_NoPermission":
        return f"no permission to use the NVIDIA driver (NVML: {exc})"
    if name.startswith("NVMLError"):
        return f"NVML unavailable (NVML: {exc})"
    return f"NVML unavailable ({name}: {exc})"


def _start() -> _Session:
    import pynvml

    pynvml.nvmlInit()
    try:
        count = pynvml.nvmlDeviceGetCount()
    except Exception:
        pynvml.nvmlShutdown()
        raise
    devices = []
    for index in range(count):
        handle = _guard(pynvml.nvmlDeviceGetHandleByIndex, index)
        if handle is None:
            devices.append(_Device(index, None, None, None, None))
            continue
        uuid = _guard(pynvml.nvmlDeviceGetUUID, handle)
        name = _guard(pynvml.nvmlDeviceGetName, handle)
        memory = _guard(pynvml.nvmlDeviceGetMemoryInfo, handle)
        devices.append(_Device(
            index, handle,
            None if uuid is None else _text(uuid),
            None if name is None else _text(name),
            None if memory is None else memory.total / MIB,
        ))
    driver = _guard(pynvml.nvmlSystemGetDriverVersion)
    atexit.register(_guard, pynvml.nvmlShutdown)
    return _Session(devices, None if driver is None else _text(driver))


def _get_session() -> _Session | None:
    """The live NVML session, starting it if needed; None (with `_failure` set) when NVML is unusable."""
    global _session, _failure, _failed_at
    if _session is not None:
        return _session
    with _lock:
        if _session is not None:
            return _session
        if _failure is not None and time.monotonic() - _failed_at < RETRY_SECONDS:
            return None
        try:
            _session = _start()
            _failure = None
        except Exception as exc:
            _failure, _failed_at = failure_reason(exc), time.monotonic()
        return _session


def _processes(pynvml: Any, handle: Any) -> list[GpuProcess] | None:
    compute = _guard(pynvml.nvmlDeviceGetComputeRunningProcesses, handle)
    graphics = _guard(pynvml.nvmlDeviceGetGraphicsRunningProcesses, handle)
    if compute is None and graphics is None:
        return None
    # A process doing both compute and graphics is listed twice with the same memory: keep it once.
    memory: dict[int, float | None] = {}
    for proc in (compute or []) + (graphics or []):
        used = getattr(proc, "usedGpuMemory", None)
        mb = None if used is None else used / MIB
        previous = memory.get(proc.pid)
        memory[proc.pid] = mb if previous is None else max(previous, mb or 0.0)
    return [GpuProcess(pid, mb) for pid, mb in sorted(memory.items())]


def _read_device(pynvml: Any, device: _Device) -> GpuInfo:
    handle = device.handle
    info = GpuInfo(device.index, device.uuid, device.name, device.memory_total_mb, processes=None)
    if handle is None:
        return info
    memory = _guard(pynvml.nvmlDeviceGetMemoryInfo, handle)
    if memory is not None:
        info.memory_used_mb = memory.used / MIB
        info.memory_total_mb = memory.total / MIB
    rates = _guard(pynvml.nvmlDeviceGetUtilizationRates, handle)
    info.utilization = None if rates is None else float(rates.gpu)
    temperature = _guard(pynvml.nvmlDeviceGetTemperature, handle, pynvml.NVML_TEMPERATURE_GPU)
    info.temperature = None if temperature is None else float(temperature)
    power = _guard(pynvml.nvmlDeviceGetPowerUsage, handle)  # milliwatts
    info.power_w = None if power is None else power / 1000
    limit = _guard(pynvml.nvmlDeviceGetEnforcedPowerLimit, handle)
    info.power_limit_w = None if limit is None else limit / 1000
    info.processes = _processes(pynvml, handle)
    return info


def read_nvml() -> GpuReport:
    """Every GPU NVML sees, or an empty report with source "none" and the reason. Never raises."""
    session = _get_session()
    if session is None:
        return GpuReport([], "none", f"{_failure}; running CPU-only")
    import pynvml

    gpus = [_read_device(pynvml, device) for device in session.devices]
    if not gpus:
        return GpuReport([], "none", "the NVIDIA driver reports no GPUs; running CPU-only", session.driver)
    return GpuReport(gpus, "nvml", "", session.driver)


def _reset_for_tests() -> None:
    """Forget the session and any failure, so the next read starts NVML afresh."""
    global _session, _failure, _failed_at
    with _lock:
        _session, _failure, _failed_at = None, None, 0.0
