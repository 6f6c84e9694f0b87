"""The named losses on torch tensors; outputs are logits, targets class ids or dense arrays."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch
import torch.nn.functional as F

LossFunction = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]


def _class_first(outputs: torch.Tensor, targets: torch.Tensor, axis: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Move the class axis to 1, where torch's losses want it (only channels-last images need it)."""
    if axis == 1 or outputs.dim() <= 2:
        return outputs, targets
    if targets.dim() == outputs.dim():
        targets = targets.movedim(-1, 1)
    return outputs.movedim(-1, 1), targets


def dense_targets(outputs: torch.Tensor, targets: torch.Tensor, classes: int, axis: int) -> torch.Tensor:
    """Targets shaped like the outputs, as floats: class ids become one-hot, a missing class axis of 1 is added."""
    if targets.dim() == outputs.dim() - 1:
        if classes == 1:
            targets = targets.unsqueeze(axis)
        else:
            targets = F.one_hot(targets.long(), classes)
            if axis != -1 and axis != targets.dim() - 1:
                targets = targets.movedim(-1, axis)
    return targets.to(outputs.dtype)


def make_loss(loss: str | Callable[..., Any], classes: int, axis: int) -> LossFunction:
    """The loss function for a config's `loss`; `axis` is the class axis of the outputs (1 or -1)."""
    if callable(loss):
        return loss

    def cross_entropy(outputs: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        outputs, targets = _class_first(outputs, targets, axis)
        if targets.dim() == outputs.dim():
            return F.cross_entropy(outputs, targets.to(outputs.dtype))
        return F.cross_entropy(outputs, targets.long())

    def binary_cross_entropy(outputs: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        return F.binary_cross_entropy_with_logits(outputs, dense_targets(outputs, targets, classes, axis))

    def mse(outputs: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        return F.mse_loss(outputs, dense_targets(outputs, targets, classes, axis))

    def mae(outputs: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        return F.l1_loss(outputs, dense_targets(outputs, targets, classes, axis))

    def dice(outputs: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        # soft Dice over the batch, one score per class, averaged: 1 - mean(2|P*T| / (|P| + |T|))
        targets = dense_targets(outputs, targets, classes, axis)
        probabilities = outputs.softmax(axis) if classes > 1 else outputs.sigmoid()
        dims = [dim for dim in range(outputs.dim()) if dim != axis % outputs.dim()]
        overlap = (probabilities * targets).sum(dims)
        total = probabilities.sum(dims) + targets.sum(dims)
        return 1 - ((2 * overlap + 1e-6) / (total + 1e-6)).mean()

    losses = {"ce": cross_entropy, "bce": binary_cross_entropy, "mse": mse, "mae": mae, "dice": dice}
    return losses[loss]
