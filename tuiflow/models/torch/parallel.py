"""One torch network on several devices: each batch split over them, outputs gathered, one update.

On GPUs this is `torch.nn.DataParallel`, chosen over DistributedDataParallel because a model here
lives in the run's own process, inside a pipeline's state: DataParallel is single-process and needs
nothing else, while DDP needs a process per device and a process group, which the engine's
in-process model does not have. DataParallel replicates the network onto each GPU on every forward,
scatters the batch, runs the replicas in threads and gathers the outputs on the first GPU; the loss
is computed there on the whole batch and its gradients flow back to the one set of weights.

On a list of CPU entries DataParallel does not split (it runs the network unchanged), so
`CpuReplicas` does the same work on the CPU: one replica per entry sharing the network's weights,
the batch scattered over them, the replicas run on threads (torch releases the GIL in its kernels),
the outputs gathered in order. As with DataParallel, the gradients are those of the whole batch,
except that batch-norm statistics are each replica's share of it, and only the first replica's
running statistics are kept.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import torch
from torch import nn

Forward = Callable[[torch.Tensor], torch.Tensor]


def spread(network: nn.Module, devices: tuple[str, ...]) -> tuple[Forward, list[nn.Module]]:
    """The forward that splits a batch over `devices` ("cpu" entries or "gpu:N"), and the replicas
    it runs (the network alone for one device; for GPUs DataParallel makes them anew each call)."""
    if len(devices) == 1:
        return network, [network]
    if devices[0] == "cpu":
        replicas = CpuReplicas(network, len(devices))
        return replicas, replicas.replicas
    ids = [int(name.split(":")[1]) for name in devices]
    return nn.DataParallel(network, device_ids=ids, output_device=ids[0]), [network]


def _sharing_weights(network: nn.Module) -> nn.Module:
    """A copy of `network` whose parameters ARE the network's (one tensor each, so every replica's
    gradients add up in it) and whose buffers are its own."""
    replica = copy.deepcopy(network)
    for original, copied in zip(network.modules(), replica.modules()):
        for name, parameter in original._parameters.items():
            copied._parameters[name] = parameter
    return replica


class CpuReplicas:
    """Data parallelism over CPU "devices": the batch split over replicas that run on threads."""

    def __init__(self, network: nn.Module, count: int):
        self.network = network
        self.replicas = [network] + [_sharing_weights(network) for _ in range(count - 1)]
        self._pool = ThreadPoolExecutor(count - 1, thread_name_prefix="tuiflow-replica")
        self._buffers = [list(replica.buffers()) for replica in self.replicas]
        self._training: bool | None = None

    def __call__(self, inputs: torch.Tensor) -> torch.Tensor:
        """The network's outputs for `inputs`, each replica computing its share of the batch."""
        if self._training is not self.network.training:
            self._training = self.network.training
            for replica in self.replicas[1:]:
                replica.train(self._training)
        chunks = [chunk for chunk in inputs.tensor_split(len(self.replicas)) if len(chunk)]
        if self._buffers[0]:
            with torch.no_grad():  # the running statistics as they are now, as DataParallel broadcasts them
                for buffers in self._buffers[1 : len(chunks)]:
                    torch._foreach_copy_(buffers, self._buffers[0])
        # grad and inference modes are per thread: each replica's thread takes the caller's
        grad, inference = torch.is_grad_enabled(), torch.is_inference_mode_enabled()

        def forward(replica: nn.Module, chunk: torch.Tensor) -> torch.Tensor:
            with torch.inference_mode(inference), torch.set_grad_enabled(grad):
                return replica(chunk)

        pending = [self._pool.submit(forward, replica, chunk) for replica, chunk in zip(self.replicas[1:], chunks[1:])]
        outputs = [self.network(chunks[0])] + [future.result() for future in pending]
        return outputs[0] if len(outputs) == 1 else torch.cat(outputs)
