"""The runner: one run, in its own process, from its record in the store to its outcome there."""

from tuiflow.runner.launch import log_path, process_start_time, record_exit, runner_env, spawn

__all__ = ["log_path", "process_start_time", "record_exit", "runner_env", "spawn"]
