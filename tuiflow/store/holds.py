"""The GPU reservation table: which run holds which GPU, for every run of the home, whoever runs it.

A run's GPUs are chosen and held in the same write transaction that claims it, by the daemon and by
a foreground command alike, so a GPU is never handed out twice. A hold is not tied to the run's
status but to a process: the runner's once it started, before that the process that claimed the run.
It ends when whoever sees that process gone releases it (the daemon reaping, the foreground command
waiting, a reader finding a run lost), or when the next claim finds the process gone. So a cancelled
run, or one whose foreground command died, keeps its GPUs while its runner lives.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Callable, Sequence

from .base import StoreBase
from .owners import process_alive
from .records import GpuHold, to_json

HOLD_SELECT = f"SELECT {', '.join(GpuHold.COLUMNS)} FROM gpu_holds"

GpuChooser = Callable[[list[GpuHold]], "list[int] | None"]
"""Given the live holds of the home, the GPUs a run gets now, or None when it must wait.

It runs inside the claiming transaction; an exception it raises rolls the claim back.
"""


def hold_alive(hold: GpuHold) -> bool:
    """Whether the process behind a hold still runs: the runner's, else the claimer's."""
    if hold.pid is not None:
        return process_alive(hold.pid, hold.pid_start_time)
    return process_alive(hold.holder_pid, hold.holder_start_time)


class HoldsStore(StoreBase):
    """Reading, taking and releasing GPU holds; see `Store` for the whole API."""

    def gpu_holds(self) -> list[GpuHold]:
        """The holds whose process still runs, by GPU then run."""
        rows = self._read(f"{HOLD_SELECT} ORDER BY gpu, run_id")
        return [hold for hold in (GpuHold(*row) for row in rows) if hold_alive(hold)]

    def release_gpus(self, run_id: int) -> list[int]:
        """Free what a run holds (its process is gone); returns the GPUs. Releasing twice is harmless."""
        with self._write() as conn:
            gpus = [r[0] for r in conn.execute("SELECT gpu FROM gpu_holds WHERE run_id = ? ORDER BY gpu", (run_id,))]
            conn.execute("DELETE FROM gpu_holds WHERE run_id = ?", (run_id,))
        return gpus

    def _live_holds(self, conn: sqlite3.Connection) -> list[GpuHold]:
        """The live holds, inside a write transaction, dropping those whose process has gone."""
        holds = [GpuHold(*row) for row in conn.execute(f"{HOLD_SELECT} ORDER BY gpu, run_id")]
        dead = [hold for hold in holds if not hold_alive(hold)]
        if dead:
            conn.executemany("DELETE FROM gpu_holds WHERE run_id = ? AND gpu = ?", [(h.run_id, h.gpu) for h in dead])
        return [hold for hold in holds if hold not in dead]

    @staticmethod
    def _take_gpus(conn: sqlite3.Connection, run_id: int, gpus: Sequence[int], per_gpu: int,
                   holder: tuple[int, float | None]) -> None:
        now = time.time()
        conn.executemany(
            """INSERT OR REPLACE INTO gpu_holds (run_id, gpu, per_gpu, holder_pid, holder_start_time, since)
               VALUES (?, ?, ?, ?, ?, ?)""",
            [(run_id, gpu, per_gpu, holder[0], holder[1], now) for gpu in gpus],
        )
        conn.execute("UPDATE runs SET gpus = ? WHERE id = ?", (to_json(sorted(gpus)), run_id))

    @staticmethod
    def _hold_for_process(conn: sqlite3.Connection, run_id: int, gpus: Sequence[int] | None, pid: int,
                          pid_start_time: float | None) -> None:
        """The run's runner is `pid`: its holds follow that process from now on (holding `gpus` if
        the run holds none yet, for a runner started without a claim)."""
        if gpus:
            per_gpu = conn.execute("SELECT per_gpu FROM runs WHERE id = ?", (run_id,)).fetchone()[0]
            conn.executemany(
                "INSERT OR IGNORE INTO gpu_holds (run_id, gpu, per_gpu, since) VALUES (?, ?, ?, ?)",
                [(run_id, gpu, per_gpu, time.time()) for gpu in gpus],
            )
        conn.execute("UPDATE gpu_holds SET pid = ?, pid_start_time = ? WHERE run_id = ?", (pid, pid_start_time, run_id))
