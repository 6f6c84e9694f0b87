"""Runs placed on a cluster's nodes (the Ray executor): where each one runs, recorded without the
home's GPU holds, since the cluster's own resources are then the allocator and a node's GPU ids are
not this machine's."""

from __future__ import annotations

import os
import time
from collections.abc import Sequence

from .base import StoreBase
from .records import Run, to_json


class NodesStore(StoreBase):
    """Recording a run's process on a cluster node; see `Store` for the whole API."""

    def start_node_run(self, run_id: int, *, attempt: int, pid: int, pid_start_time: float | None,
                       gpus: Sequence[int], host: str, node: str,
                       log_path: str | os.PathLike[str] | None = None) -> Run | None:
        """Record the runner a cluster node started for attempt `attempt` of a claimed run: its pid
        (on that node), the node's hostname and id, the GPU ids the cluster gave it, and the time it
        really started (a run may wait for the cluster's resources after it was claimed). Takes no
        GPU hold. None, and nothing written, when the run has gone on to another attempt since."""
        now = time.time()
        with self._write() as conn:
            cursor = conn.execute(
                """UPDATE runs SET pid = ?, pid_start_time = ?, gpus = ?, host = ?, node = ?,
                   log_path = coalesce(?, log_path), started_at = ?, heartbeat_at = ?
                   WHERE id = ? AND attempt = ?""",
                (pid, pid_start_time, to_json(list(gpus)), host, node,
                 None if log_path is None else os.fspath(log_path), now, now, run_id, attempt),
            )
            if cursor.rowcount == 0:
                return None
            return self._run_in(conn, run_id)
