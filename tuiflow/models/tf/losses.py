"""The named losses on TF tensors; outputs are logits, targets class ids or dense arrays."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import tensorflow as tf

LossFunction = Callable[[tf.Tensor, tf.Tensor], tf.Tensor]


def _class_last(outputs: tf.Tensor, targets: tf.Tensor, axis: int) -> tuple[tf.Tensor, tf.Tensor]:
    """Move the class axis to the end, where TF's losses want it (only channels-first images need it)."""
    rank = len(outputs.shape)
    if axis == -1 or rank <= 2:
        return outputs, targets
    order = [0, *range(2, rank), 1]
    if len(targets.shape) == rank:
        targets = tf.transpose(targets, order)
    return tf.transpose(outputs, order), targets


def dense_targets(outputs: tf.Tensor, targets: tf.Tensor, classes: int, axis: int) -> tf.Tensor:
    """Targets shaped like the outputs, as floats: class ids become one-hot, a missing class axis of 1 is added."""
    if len(targets.shape) == len(outputs.shape) - 1:
        if classes == 1:
            targets = tf.expand_dims(targets, axis)
        else:
            targets = tf.one_hot(tf.cast(targets, tf.int32), classes, axis=axis)
    return tf.cast(targets, outputs.dtype)


def make_loss(loss: str | Callable[..., Any], classes: int, axis: int) -> LossFunction:
    """The loss function for a config's `loss`; `axis` is the class axis of the outputs (-1 or 1)."""
    if callable(loss):
        return loss

    def cross_entropy(outputs: tf.Tensor, targets: tf.Tensor) -> tf.Tensor:
        outputs, targets = _class_last(outputs, targets, axis)
        if len(targets.shape) == len(outputs.shape):
            losses = tf.nn.softmax_cross_entropy_with_logits(tf.cast(targets, outputs.dtype), outputs)
        else:
            losses = tf.nn.sparse_softmax_cross_entropy_with_logits(tf.cast(targets, tf.int32), outputs)
        return tf.reduce_mean(losses)

    def binary_cross_entropy(outputs: tf.Tensor, targets: tf.Tensor) -> tf.Tensor:
        labels = dense_targets(outputs, targets, classes, axis)
        return tf.reduce_mean(tf.nn.sigmoid_cross_entropy_with_logits(labels, outputs))

    def mse(outputs: tf.Tensor, targets: tf.Tensor) -> tf.Tensor:
        return tf.reduce_mean(tf.square(outputs - dense_targets(outputs, targets, classes, axis)))

    def mae(outputs: tf.Tensor, targets: tf.Tensor) -> tf.Tensor:
        return tf.reduce_mean(tf.abs(outputs - dense_targets(outputs, targets, classes, axis)))

    def dice(outputs: tf.Tensor, targets: tf.Tensor) -> tf.Tensor:
        # soft Dice over the batch, one score per class, averaged: 1 - mean(2|P*T| / (|P| + |T|))
        targets = dense_targets(outputs, targets, classes, axis)
        probabilities = tf.nn.softmax(outputs, axis=axis) if classes > 1 else tf.sigmoid(outputs)
        rank = len(outputs.shape)
        dims = [dim for dim in range(rank) if dim != axis % rank]
        overlap = tf.reduce_sum(probabilities * targets, dims)
        total = tf.reduce_sum(probabilities, dims) + tf.reduce_sum(targets, dims)
        return 1 - tf.reduce_mean((2 * overlap + 1e-6) / (total + 1e-6))

    losses = {"ce": cross_entropy, "bce": binary_cross_entropy, "mse": mse, "mae": mae, "dice": dice}
    return losses[loss]
