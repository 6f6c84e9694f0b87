"""Live telemetry: GPUs (NVML, or simulated with TUIFLOW_FAKE_GPUS), the host, and each run's process tree.

`read_gpus()` is the GPU layer; `Sampler` turns host, GPU and run readings into records for the
store's `samples` table once per tick; `apply_retention` keeps that table small.
"""

from tuiflow.monitor.gpus import (
    GpuInfo,
    GpuProcess,
    GpuReport,
    forget_run_process,
    gpus_simulated,
    keep_gpu_state_in,
    read_gpus,
    show_run_process,
)
from tuiflow.monitor.host import HostSample, HostSampler
from tuiflow.monitor.procs import ProcessTreeSampler, TreeSample
from tuiflow.monitor.retention import RetentionStep, apply_retention, retention_plan
from tuiflow.monitor.sampler import Sampler, SampleRecord, Sink

__all__ = [
    "GpuInfo",
    "GpuProcess",
    "GpuReport",
    "HostSample",
    "HostSampler",
    "ProcessTreeSampler",
    "RetentionStep",
    "SampleRecord",
    "Sampler",
    "Sink",
    "TreeSample",
    "apply_retention",
    "forget_run_process",
    "gpus_simulated",
    "keep_gpu_state_in",
    "read_gpus",
    "retention_plan",
    "show_run_process",
]
