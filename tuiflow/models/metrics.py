"""Classification and segmentation metrics in numpy, per batch and exactly over an epoch.

Everything derives from a confusion matrix (rows: true class, columns: predicted class), so an
epoch's value is computed from the summed matrices of its batches, never as a mean of batch ratios.

Targets are class ids. Predictions are class ids of the targets' shape, or scores (logits or
probabilities) with one more axis, the class axis, reduced by argmax; with two classes, scores of
the targets' shape (or with a class axis of size 1) are the probability of class 1, cut at
`threshold`. The class axis is found from the shapes; pass `class_axis` when they are ambiguous.

Averages: "macro" (the mean over the classes present in targets or predictions, as
scikit-learn does), "micro", "weighted" (by support) or None (one value per class; NaN for a class
that never appears). A ratio of 0/0 for a present class counts as 0.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

AVERAGES = ("macro", "micro", "weighted", None)


def to_labels(
    targets: Any, predictions: Any, num_classes: int, class_axis: int | None = None, threshold: float = 0.5
) -> tuple[np.ndarray, np.ndarray]:
    """Targets and predictions as flat arrays of class ids, checked to lie in [0, num_classes)."""
    targets, predictions = np.asarray(targets), np.asarray(predictions)
    if predictions.ndim == targets.ndim + 1:
        axis = _class_axis(targets.shape, predictions.shape, num_classes, class_axis)
        if predictions.shape[axis] == 1 and num_classes == 2:
            predictions = (np.take(predictions, 0, axis=axis) >= threshold).astype(np.int64)
        else:
            predictions = predictions.argmax(axis=axis)
    elif predictions.shape != targets.shape:
        raise ValueError(
            f"metrics: predictions of shape {predictions.shape} do not match targets of shape {targets.shape} "
            "(give class ids of the same shape, or scores with one more axis)"
        )
    elif predictions.dtype.kind == "f" and num_classes == 2 and not _integral(predictions):
        predictions = (predictions >= threshold).astype(np.int64)
    targets, predictions = _ids(targets, "targets", num_classes), _ids(predictions, "predictions", num_classes)
    return targets.ravel(), predictions.ravel()


def _integral(array: np.ndarray) -> bool:
    return bool(np.all(np.mod(array, 1) == 0))


def _ids(array: np.ndarray, what: str, num_classes: int) -> np.ndarray:
    if array.dtype.kind == "f":
        if not _integral(array):
            raise ValueError(f"metrics: {what} must be class ids, got non-integer values")
    elif array.dtype.kind not in "iub":
        raise ValueError(f"metrics: {what} must be numeric class ids, got dtype {array.dtype}")
    array = array.astype(np.int64, copy=False)
    if array.size and (array.min() < 0 or array.max() >= num_classes):
        raise ValueError(
            f"metrics: {what} hold class ids from {array.min()} to {array.max()}, outside [0, {num_classes})"
        )
    return array


def _class_axis(
    target_shape: tuple[int, ...], score_shape: tuple[int, ...], num_classes: int, class_axis: int | None
) -> int:
    rank = len(score_shape)
    if class_axis is not None:
        axis = class_axis % rank
        if score_shape[:axis] + score_shape[axis + 1 :] != target_shape:
            raise ValueError(
                f"metrics: class_axis={class_axis} of scores {score_shape} leaves no targets' shape {target_shape}"
            )
        return axis
    sizes = {num_classes, 1} if num_classes == 2 else {num_classes}
    candidates = [
        axis
        for axis in range(rank)
        if score_shape[axis] in sizes and score_shape[:axis] + score_shape[axis + 1 :] == target_shape
    ]
    if len(candidates) > 1 and candidates[0] == 0:  # axis 0 is the batch's, unless nothing else fits
        candidates = candidates[1:]
    if not candidates:
        raise ValueError(
            f"metrics: scores of shape {score_shape} have no class axis of size {num_classes} "
            f"next to targets of shape {target_shape}"
        )
    if len(candidates) > 1:
        raise ValueError(
            f"metrics: scores of shape {score_shape} could have their classes on axis "
            f"{' or '.join(map(str, candidates))}; pass class_axis"
        )
    return candidates[0]


def confusion_matrix(
    targets: Any, predictions: Any, num_classes: int, class_axis: int | None = None, threshold: float = 0.5
) -> np.ndarray:
    """The num_classes x num_classes count matrix: rows are true classes, columns predicted ones."""
    true, predicted = to_labels(targets, predictions, num_classes, class_axis, threshold)
    counts = np.bincount(true * num_classes + predicted, minlength=num_classes * num_classes)
    return counts.reshape(num_classes, num_classes)


def _ratio(numerator: np.ndarray, denominator: np.ndarray) -> np.ndarray:
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(denominator > 0, numerator / np.maximum(denominator, 1), 0.0)


def _average(values: np.ndarray, matrix: np.ndarray, average: str | None, micro: float) -> float | np.ndarray:
    support, predicted = matrix.sum(axis=1), matrix.sum(axis=0)
    present = (support + predicted) > 0
    if average is None:
        return np.where(present, values, np.nan)
    if average == "micro":
        return float(micro)
    if average == "weighted":
        return float(np.sum(values * support) / support.sum()) if support.sum() else 0.0
    if average == "macro":
        return float(values[present].mean()) if present.any() else 0.0
    raise ValueError(f"metrics: average must be one of {AVERAGES}, got {average!r}")


def _micro(matrix: np.ndarray) -> float:
    # with one label per item, micro precision, recall, F1, Dice all equal accuracy
    total = matrix.sum()
    return float(np.trace(matrix) / total) if total else 0.0


def accuracy_from(matrix: np.ndarray) -> float:
    """The share of items whose predicted class is the true one."""
    return _micro(matrix)


def precision_from(matrix: np.ndarray, average: str | None = "macro") -> float | np.ndarray:
    """TP / (TP + FP) per class, averaged."""
    return _average(_ratio(np.diag(matrix), matrix.sum(axis=0)), matrix, average, _micro(matrix))


def recall_from(matrix: np.ndarray, average: str | None = "macro") -> float | np.ndarray:
    """TP / (TP + FN) per class, averaged."""
    return _average(_ratio(np.diag(matrix), matrix.sum(axis=1)), matrix, average, _micro(matrix))


def f1_from(matrix: np.ndarray, average: str | None = "macro") -> float | np.ndarray:
    """2TP / (2TP + FP + FN) per class (the Dice score), averaged."""
    tp = np.diag(matrix)
    values = _ratio(2 * tp, matrix.sum(axis=0) + matrix.sum(axis=1))
    return _average(values, matrix, average, _micro(matrix))


def iou_from(matrix: np.ndarray, average: str | None = "macro") -> float | np.ndarray:
    """TP / (TP + FP + FN) per class (Jaccard), averaged; micro is the pooled TP / (TP + FP + FN)."""
    tp = np.diag(matrix)
    union = matrix.sum(axis=0) + matrix.sum(axis=1) - tp
    micro = float(tp.sum() / union.sum()) if union.sum() else 0.0
    return _average(_ratio(tp, union), matrix, average, micro)


METRICS = {
    "accuracy": lambda matrix, average: accuracy_from(matrix),
    "precision": precision_from,
    "recall": recall_from,
    "f1": f1_from,
    "dice": f1_from,
    "iou": iou_from,
    "confusion_matrix": lambda matrix, average: matrix.copy(),
}


def guess_classes(targets: Any, predictions: Any, class_axis: int | None = None) -> int:
    """The class count the arrays show: the size of the scores' class axis, else the largest id + 1."""
    targets, predictions = np.asarray(targets), np.asarray(predictions)
    if predictions.ndim == targets.ndim + 1:
        axes = [class_axis] if class_axis is not None else range(predictions.ndim - 1, -1, -1)
        for axis in axes:
            shape = list(predictions.shape)
            size = shape.pop(axis)
            if tuple(shape) == targets.shape:
                return max(size, 2)
        raise ValueError(f"metrics: scores of shape {predictions.shape} do not fit targets of shape {targets.shape}")
    return max(int(targets.max(initial=0)), int(predictions.max(initial=0)), 1) + 1


def _batch_metric(name: str, summary: str) -> Any:
    def metric(
        targets: Any,
        predictions: Any,
        num_classes: int | None = None,
        average: str | None = "macro",
        class_axis: int | None = None,
    ) -> float | np.ndarray:
        if num_classes is None:
            num_classes = guess_classes(targets, predictions, class_axis)
        return METRICS[name](confusion_matrix(targets, predictions, num_classes, class_axis), average)

    metric.__name__ = metric.__qualname__ = "f1_score" if name == "f1" else name
    metric.__doc__ = f"{summary} of one batch; `num_classes` defaults to what the arrays show."
    return metric


def accuracy(targets: Any, predictions: Any, num_classes: int | None = None, class_axis: int | None = None) -> float:
    """The share of items predicted right, in one batch."""
    if num_classes is None:
        num_classes = guess_classes(targets, predictions, class_axis)
    return accuracy_from(confusion_matrix(targets, predictions, num_classes, class_axis))


precision = _batch_metric("precision", "Precision, TP / (TP + FP),")
recall = _batch_metric("recall", "Recall, TP / (TP + FN),")
f1_score = _batch_metric("f1", "F1, 2TP / (2TP + FP + FN),")
iou = _batch_metric("iou", "IoU (Jaccard), TP / (TP + FP + FN),")
dice = _batch_metric("dice", "Dice, 2TP / (2TP + FP + FN),")


class ConfusionMetrics:
    """An epoch's confusion matrix, summed batch by batch; any metric of `METRICS` evaluated from it."""

    def __init__(self, num_classes: int, class_axis: int | None = None, threshold: float = 0.5):
        if isinstance(num_classes, bool) or not isinstance(num_classes, int) or num_classes < 2:
            raise ValueError(f"metrics: num_classes must be an int >= 2, got {num_classes!r}")
        self.num_classes, self.class_axis, self.threshold = num_classes, class_axis, threshold
        self.confusion = np.zeros((num_classes, num_classes), dtype=np.int64)

    def update(self, targets: Any, predictions: Any) -> ConfusionMetrics:
        """Add one batch; returns self so calls chain."""
        self.confusion += confusion_matrix(targets, predictions, self.num_classes, self.class_axis, self.threshold)
        return self

    def reset(self) -> None:
        """Forget every batch seen, for the next epoch."""
        self.confusion[:] = 0

    def evaluate(self, metrics: str | Sequence[str] = "accuracy", average: str | None = "macro") -> Any:
        """One metric's value for a name, a dict of them for a list of names."""
        names = [metrics] if isinstance(metrics, str) else list(metrics)
        for name in names:
            if name not in METRICS:
                raise ValueError(f"metrics: unknown metric {name!r} (choose from: {', '.join(METRICS)})")
        if average not in AVERAGES:
            raise ValueError(f"metrics: average must be one of {AVERAGES}, got {average!r}")
        values = {name: METRICS[name](self.confusion, average) for name in names}
        return values[metrics] if isinstance(metrics, str) else values


class ClassificationMetrics(ConfusionMetrics):
    """Classification metrics over an epoch: `update(targets, predictions)` per batch, then `evaluate`.

    Predictions of shape (N, C) are scores, of shape (N,) class ids (or, with two classes, probabilities).
    """


class SegmentationMetrics(ConfusionMetrics):
    """Pixel-wise metrics over an epoch (IoU, Dice and the classification ones).

    Targets are masks of class ids, (N, H, W); predictions are masks of ids or scores with a class axis,
    (N, C, H, W) or (N, H, W, C).
    """

    def evaluate(self, metrics: str | Sequence[str] = "iou", average: str | None = "macro") -> Any:
        """One metric's value for a name, a dict of them for a list of names; IoU by default."""
        return super().evaluate(metrics, average)
