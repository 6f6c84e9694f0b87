"""The Ray executor: the daemon hands each claimed run to a Ray cluster, which places it on a node
with the GPUs it asks for (``num_gpus``; a fraction 1/K for runs that share a GPU K ways) and sets
its CUDA_VISIBLE_DEVICES. Each run is a named, detached actor (`RunActor`) in the ``tuiflow``
namespace, so a daemon that restarts finds the runs Ray still runs; the records of every run go to
the head's store through one writer actor (`StoreWriter`) pinned to the daemon's node.

Ray's resources are then the allocator: the daemon holds none of this machine's GPUs for these
runs. The store stays the truth: Ray's view is read to learn what ended, never written back over it.

Ray is imported when the executor connects, never at `import tuiflow` (the extra ``tuiflow[ray]``).
"""

from __future__ import annotations

import hashlib
import logging
import os
import socket
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tuiflow.scheduler.allocator import UnsatisfiableRequest
from tuiflow.scheduler.executor import LocalExecutor, record_exit
from tuiflow.scheduler.interface import GONE, UNKNOWN, UNSTARTED, WORKER_LOST, Executor, Tracked
from tuiflow.store import Run, Store

NAMESPACE = "tuiflow"
"""The Ray namespace of tuiflow's actors."""

HANDING_GRACE_S = 0.5
"""How long after the daemon handed a run to Ray its resources may still show as free in Ray's view
(which lags): the daemon counts them as taken meanwhile."""

ACTOR_CONCURRENCY = 8  # a RunActor answers info and cancel while its wait() blocks


class RayUnavailable(Exception):
    """Ray is not installed, or its cluster cannot be reached: the daemon cannot use it."""


def home_key(home: str | os.PathLike[str]) -> str:
    """A short name for a home (on its host) that its actors' names carry: two homes never share one."""
    return hashlib.sha1(f"{socket.gethostname()}:{Path(home).resolve()}".encode()).hexdigest()[:12]


def run_actor_name(key: str, run_id: int, attempt: int) -> str:
    """The Ray name of a run's actor: one per attempt, so a retry never finds the one before."""
    return f"tuiflow-run-{key}-{run_id}-{attempt}"


def use_ray_token_if_configured() -> None:
    """Connect with the user's Ray token when there is one ($RAY_AUTH_TOKEN, $RAY_AUTH_TOKEN_PATH or
    ~/.ray/auth_token), as `ray start` does; an explicit $RAY_AUTH_MODE is left as the user set it.
    Authentication is never turned off here."""
    if "RAY_AUTH_MODE" in os.environ:
        return
    path = Path(os.environ.get("RAY_AUTH_TOKEN_PATH") or Path.home() / ".ray" / "auth_token").expanduser()
    if os.environ.get("RAY_AUTH_TOKEN") or path.is_file():
        os.environ["RAY_AUTH_MODE"] = "token"


def _probe(address: str) -> None:
    """RayUnavailable at once when nothing listens at HOST:PORT (Ray itself retries for a minute)."""
    host, _, port = address.rpartition(":")
    if not host or not port.isdigit():
        return  # "auto", or an address form Ray knows better
    try:
        socket.create_connection((host.strip("[]"), int(port)), timeout=5).close()
    except OSError as exc:
        raise RayUnavailable(f"cannot join the Ray cluster at {address}: nothing answers there "
                             f"({exc.strerror or exc}); is `ray start --head` running?") from None


@dataclass
class _RayRun:
    """What the executor keeps of a run it handed to Ray."""

    actor: Any
    info: Any  # ObjectRef of RunActor.info(): ready once Ray has placed the run
    done: Any  # ObjectRef of RunActor.wait(): ready once the runner has exited
    cpus: float
    gpus: float
    placed_at: float | None = None


class RayExecutor(Executor):
    """Runs as Ray actors on a Ray cluster; see the module's docstring."""

    name = "ray"
    places_runs = True

    def __init__(self, home: str | os.PathLike[str], *, address: str | None = None, num_cpus: float = 1.0) -> None:
        self.home = Path(home)
        self.address = address
        self.address_seen: str | None = None
        self.num_cpus = num_cpus
        self.key = home_key(home)
        self.writer_name = f"tuiflow-writer-{self.key}"
        self.node_id: str | None = None
        self._local = LocalExecutor()  # runs a local daemon left running on this machine
        self._live: dict[int, tuple[float, float]] = {}  # our runs on the cluster: their CPUs and GPUs
        self._handed: dict[int, float] = {}  # when each run was handed over (monotonic), while recent
        self._available: dict[str, float] = {}
        self._available_at = 0.0
        self._total: dict[str, float] = {}
        self._total_at = 0.0
        self._telemetry: Any = None
        self._actor_class: Any = None

    # --- connecting ----------------------------------------------------------------------------------
    def connect(self) -> None:
        """Join the cluster as a driver and make sure the home's writer actor runs on this node."""
        use_ray_token_if_configured()  # before Ray is imported: it reads its mode once
        try:
            import ray
            from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy
        except ImportError:
            raise RayUnavailable("Ray is not installed: pip install 'tuiflow[ray]'") from None
        from tuiflow.scheduler.ray_actors import RunActor, StoreWriter

        where = self.address or "auto"
        _probe(where)
        try:
            ray.init(address=where, namespace=NAMESPACE, log_to_driver=False, logging_level=logging.WARNING)
        except Exception as exc:
            first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
            hint = ""
            if "auth" in str(exc).lower() or "token" in str(exc).lower():
                hint = " (the cluster's token: $RAY_AUTH_TOKEN or ~/.ray/auth_token, with RAY_AUTH_MODE=token)"
            raise RayUnavailable(f"cannot join the Ray cluster at {where}: {first}{hint}") from None
        context = ray.get_runtime_context()
        self.node_id = context.get_node_id()
        self.address_seen = getattr(context, "gcs_address", None) or where
        self._actor_class = ray.remote(RunActor)
        self.writer = ray.remote(StoreWriter).options(
            name=self.writer_name, namespace=NAMESPACE, lifetime="detached", get_if_exists=True, num_cpus=0,
            max_restarts=-1, scheduling_strategy=NodeAffinitySchedulingStrategy(self.node_id, soft=False),
        ).remote(str(self.home))
        try:
            ray.get(self.writer.ping.remote(), timeout=120)
        except Exception as exc:
            raise RayUnavailable(f"the store's writer actor did not start on this node: {exc}") from None

    def close(self) -> None:
        """Leave the cluster; the runs (detached actors) and the writer go on."""
        import ray

        ray.shutdown()

    # --- placing -------------------------------------------------------------------------------------
    def gpus_for(self, run: Run) -> float:
        """The ``num_gpus`` a run asks Ray for; UnsatisfiableRequest for what Ray cannot give."""
        if run.gpus_requested == 0:
            return 0.0
        if run.gpus_allowed is not None:
            raise UnsatisfiableRequest(f"run {run.id} asks for particular GPUs ({run.gpus_allowed}): on a Ray cluster "
                                       "Ray picks them; submit it with a number of GPUs only")
        if run.per_gpu > 1:
            if run.gpus_requested > 1:
                raise UnsatisfiableRequest(f"run {run.id} asks for {run.gpus_requested} GPUs shared {run.per_gpu} "
                                           "ways: Ray shares a fraction of one GPU only (ask for 1 GPU per run)")
            return 1.0 / run.per_gpu
        return float(run.gpus_requested)

    def fits(self, run: Run) -> bool:
        """Whether the cluster has the run's GPUs and CPUs free now; UnsatisfiableRequest when the
        whole cluster has not. Free is the least of the cluster's total less what this daemon's runs
        take (exact, at once) and Ray's view of what is free (it sees other users' work too, but late:
        less the runs handed over in the last moments)."""
        import ray

        gpus = self.gpus_for(run)
        now = time.monotonic()
        if now - self._total_at > 5.0:
            self._total, self._total_at = ray.cluster_resources(), now
        if gpus > self._total.get("GPU", 0.0) + 1e-9:
            raise UnsatisfiableRequest(f"run {run.id} asks for {run.gpus_requested} GPU(s); the Ray cluster has "
                                       f"{self._total.get('GPU', 0.0):g}")
        if now - self._available_at > 0.05:
            self._available, self._available_at = dict(ray.available_resources()), now
        self._handed = {run_id: at for run_id, at in self._handed.items() if now - at < HANDING_GRACE_S}
        ours = [sum(need[i] for need in self._live.values()) for i in (0, 1)]
        recent = [sum(self._live.get(run_id, (0.0, 0.0))[i] for run_id in self._handed) for i in (0, 1)]
        for i, (key, need) in enumerate((("CPU", self.num_cpus), ("GPU", gpus))):
            free = min(self._total.get(key, 0.0) - ours[i], self._available.get(key, 0.0) - recent[i])
            if need > 0 and free + 1e-9 < need:
                return False
        return True

    def start(self, store: Store, run: Run, gpus: list[int]) -> Tracked:
        """Create the run's actor: Ray places it when it can, and it starts the runner there."""
        need = self.gpus_for(run)
        actor = self._actor_class.options(
            name=run_actor_name(self.key, run.id, run.attempt), namespace=NAMESPACE, lifetime="detached",
            num_gpus=need, num_cpus=self.num_cpus, max_restarts=0, max_concurrency=ACTOR_CONCURRENCY,
        ).remote(run.id, run.attempt, self.writer_name, NAMESPACE, str(self.home), run.workdir,
                 os.environ.get("TUIFLOW_RAY_DEVICE"))
        tracked = Tracked(run.id, None, None, [], handle=_RayRun(actor, actor.info.remote(), actor.wait.remote(),
                                                                  self.num_cpus, need))
        self._live[run.id] = (self.num_cpus, need)
        self._handed[run.id] = time.monotonic()
        return tracked

    # --- watching ------------------------------------------------------------------------------------
    def ended(self, tracked: Sequence[Tracked]) -> dict[int, int]:
        """The runs whose runner exited (its exit code) or whose actor died (WORKER_LOST)."""
        import ray

        codes = self._local.ended([t for t in tracked if t.handle is None])
        ours = {t.handle.done: t for t in tracked if t.handle is not None}
        self._note_placed(ray, [t for t in tracked if t.handle is not None and t.handle.placed_at is None])
        if ours:
            ready, _ = ray.wait(list(ours), num_returns=len(ours), timeout=0, fetch_local=True)
            for ref in ready:
                item = ours[ref]
                try:
                    codes[item.run_id] = int(ray.get(ref))
                except Exception as exc:  # the actor died: its worker, or its node
                    item.extra["why"] = (str(exc).strip().splitlines() or [type(exc).__name__])[0][:300]
                    codes[item.run_id] = WORKER_LOST
        return codes

    def _note_placed(self, ray: Any, waiting: list[Tracked]) -> None:
        """Learn where Ray placed the runs it has placed since (pid, node, GPUs)."""
        if not waiting:
            return
        refs = {t.handle.info: t for t in waiting}
        ready, _ = ray.wait(list(refs), num_returns=len(refs), timeout=0)
        for ref in ready:
            item = refs[ref]
            item.handle.placed_at = time.monotonic()
            try:
                where = ray.get(ref)
            except Exception:
                continue  # its actor died: `done` says so
            item.pid, item.start_time = where["pid"], where["start_time"]
            item.node, item.gpus = where["node"], where["gpus"]

    def cancel(self, tracked: Tracked, force: bool) -> None:
        """Signal the runner's process group on its node; a run Ray has not placed yet is dropped."""
        import ray

        if tracked.handle is None:
            self._local.cancel(tracked, force)
            return
        ready, _ = ray.wait([tracked.handle.info], timeout=0)
        if not ready:
            ray.kill(tracked.handle.actor, no_restart=True)
            return
        tracked.handle.actor.cancel.remote(force)

    def settle(self, store: Store, tracked: Tracked, code: int) -> None:
        """Record how the run ended if its runner did not (a lost worker: lost), then end its actor,
        which gives its GPUs back to Ray."""
        import ray

        if tracked.handle is None:
            self._local.settle(store, tracked, code)
            return
        self._live.pop(tracked.run_id, None)
        self._handed.pop(tracked.run_id, None)
        if code in (WORKER_LOST, UNKNOWN):
            if not store.get_run(tracked.run_id).is_final:
                where = f" on node {tracked.node}" if tracked.node else ""
                why = tracked.extra.get("why", "its actor is gone")
                store.finish_run(tracked.run_id, "lost", error=f"its Ray worker died{where}: {why}")
        else:
            record_exit(store, tracked.run_id, code)
        try:
            ray.kill(tracked.handle.actor, no_restart=True)
        except Exception:
            pass  # gone already

    # --- after a restart -------------------------------------------------------------------------------
    def adopt(self, store: Store, run: Run) -> Tracked | str:
        """The run's actor when Ray still has it; a run Ray never got goes back to the queue, one Ray
        forgot is lost (a runner a local daemon left on this machine is watched as that daemon did)."""
        import ray

        try:
            actor = ray.get_actor(run_actor_name(self.key, run.id, run.attempt), namespace=NAMESPACE)
        except ValueError:
            actor = None
        if actor is not None:
            return self._adopted(run, actor)
        if run.node is None and run.pid is None:
            return UNSTARTED
        if run.node is None and run.host == socket.gethostname():
            found = self._local.adopt(store, run)
            return found if isinstance(found, Tracked) else GONE
        return GONE

    def bury(self, store: Store, run: Run) -> None:
        """A run Ray forgot: its runner stopped with its actor; a local one's group is killed."""
        if run.node is None:
            self._local.bury(store, run)

    def strays(self, store: Store, watched: set[int]) -> list[Tracked]:
        """Actors of this home whose run the store no longer has running (cancelled while no daemon
        ran, say): watched again so that they are stopped and settled."""
        import ray

        found = []
        prefix = f"tuiflow-run-{self.key}-"
        for name in ray.util.list_named_actors():
            if not isinstance(name, str) or not name.startswith(prefix):
                continue
            try:
                run_id, attempt = (int(part) for part in name[len(prefix):].split("-"))
                run = store.get_run(run_id)
            except (ValueError, Exception):
                continue
            if run_id in watched or run.attempt != attempt or not run.is_final:
                continue
            try:
                actor = ray.get_actor(name, namespace=NAMESPACE)
            except ValueError:
                continue
            found.append(self._adopted(run, actor))
        return found

    def _adopted(self, run: Run, actor: Any) -> Tracked:
        """A run's actor a previous daemon started, watched again (its resources counted as ours)."""
        try:
            gpus = self.gpus_for(run)
        except UnsatisfiableRequest:
            gpus = 0.0
        self._live[run.id] = (self.num_cpus, gpus)
        return Tracked(run.id, run.pid, run.pid_start_time, list(run.gpus or []), node=run.node,
                       handle=_RayRun(actor, actor.info.remote(), actor.wait.remote(), self.num_cpus, gpus))

    def describe(self) -> dict[str, Any] | None:
        """The cluster's GPUs (clients check runs' requests against them) and address."""
        import ray

        now = time.monotonic()
        if now - self._total_at > 5.0:
            self._total, self._total_at = ray.cluster_resources(), now
        return {"gpus": self._total.get("GPU", 0.0), "address": self.address_seen}

    def sampled_pid(self, tracked: Tracked) -> int | None:
        """The runner's pid when it runs on the daemon's node."""
        if tracked.handle is not None and tracked.node != self.node_id:
            return None
        return tracked.pid

    # --- the nodes' telemetry (tuiflow.monitor.ray_nodes) ---------------------------------------------
    def start_telemetry(self, interval: float) -> None:
        """One sampler actor per node, when tuiflow has them."""
        try:
            from tuiflow.monitor.ray_nodes import NodeTelemetry  # type: ignore[import-not-found]
        except ImportError:
            return
        self._telemetry = NodeTelemetry(interval=interval)
        self._telemetry.start()

    def drain_telemetry(self) -> list[Any]:
        """The nodes' samples since the last call, each tagged with its node."""
        return self._telemetry.drain() if self._telemetry is not None else []

    def stop_telemetry(self) -> None:
        """Stop the nodes' samplers."""
        if self._telemetry is not None:
            self._telemetry.stop()
