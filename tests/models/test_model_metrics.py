"""Metrics agree with hand-computed values and scikit-learn, and aggregate exactly over batches."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn import metrics as sk

from tuiflow.models import (
    ClassificationMetrics,
    SegmentationMetrics,
    accuracy,
    confusion_matrix,
    dice,
    f1_score,
    iou,
    precision,
    recall,
)

TARGETS = np.array([0, 0, 1, 1, 2, 2])
PREDICTED = np.array([0, 1, 1, 1, 2, 0])


def test_by_hand():
    # class 0: TP 1, FP 1, FN 1; class 1: TP 2, FP 1, FN 0; class 2: TP 1, FP 0, FN 1
    assert confusion_matrix(TARGETS, PREDICTED, 3).tolist() == [[1, 1, 0], [0, 2, 0], [1, 0, 1]]
    assert accuracy(TARGETS, PREDICTED) == pytest.approx(4 / 6)
    assert precision(TARGETS, PREDICTED, 3, average=None) == pytest.approx([1 / 2, 2 / 3, 1])
    assert recall(TARGETS, PREDICTED, 3, average=None) == pytest.approx([1 / 2, 1, 1 / 2])
    assert f1_score(TARGETS, PREDICTED, 3, average=None) == pytest.approx([1 / 2, 4 / 5, 2 / 3])
    assert iou(TARGETS, PREDICTED, 3, average=None) == pytest.approx([1 / 3, 2 / 3, 1 / 2])
    assert iou(TARGETS, PREDICTED, 3) == pytest.approx((1 / 3 + 2 / 3 + 1 / 2) / 3)
    assert dice(TARGETS, PREDICTED, 3) == pytest.approx((1 / 2 + 4 / 5 + 2 / 3) / 3)
    assert precision(TARGETS, PREDICTED, 3, average="micro") == pytest.approx(4 / 6)


def test_scores_are_reduced_by_argmax():
    logits = np.eye(3)[PREDICTED] * 5 - 1
    assert accuracy(TARGETS, logits) == accuracy(TARGETS, PREDICTED)
    assert confusion_matrix(TARGETS, logits, 3).tolist() == confusion_matrix(TARGETS, PREDICTED, 3).tolist()


@pytest.mark.parametrize("average", ["macro", "micro", "weighted", None])
def test_against_scikit_learn(average):
    rng = np.random.default_rng(0)
    targets = rng.integers(0, 7, 500)
    predicted = np.where(rng.random(500) < 0.6, targets, rng.integers(0, 6, 500))  # class 6 never predicted
    options = {"average": average, "zero_division": 0}
    for ours, theirs in [
        (precision, sk.precision_score),
        (recall, sk.recall_score),
        (f1_score, sk.f1_score),
        (iou, sk.jaccard_score),
    ]:
        np.testing.assert_allclose(ours(targets, predicted, 7, average=average), theirs(targets, predicted, **options))
    assert accuracy(targets, predicted, 7) == pytest.approx(sk.accuracy_score(targets, predicted))
    np.testing.assert_array_equal(confusion_matrix(targets, predicted, 7), sk.confusion_matrix(targets, predicted))


def test_macro_skips_classes_never_seen_as_scikit_learn_does():
    # class 3 of 4 appears nowhere: left out of the mean, NaN per class
    assert precision(TARGETS, PREDICTED, 4) == pytest.approx(sk.precision_score(TARGETS, PREDICTED, average="macro"))
    assert np.isnan(recall(TARGETS, PREDICTED, 4, average=None)[3])


def test_epoch_aggregation_is_exact():
    rng = np.random.default_rng(1)
    targets = rng.integers(0, 5, 1000)
    scores = rng.normal(size=(1000, 5)) + np.eye(5)[targets]
    epoch = ClassificationMetrics(5)
    for start in range(0, 1000, 64):  # uneven last batch on purpose
        epoch.update(targets[start : start + 64], scores[start : start + 64])
    names = ["accuracy", "precision", "recall", "f1", "iou"]
    values = epoch.evaluate(names)
    predicted = scores.argmax(1)
    assert values["accuracy"] == pytest.approx(sk.accuracy_score(targets, predicted))
    assert values["f1"] == pytest.approx(sk.f1_score(targets, predicted, average="macro"))
    assert values["iou"] == pytest.approx(sk.jaccard_score(targets, predicted, average="macro"))
    per_batch = np.mean([accuracy(targets[s : s + 64], predicted[s : s + 64], 5) for s in range(0, 1000, 64)])
    assert per_batch != pytest.approx(values["accuracy"], abs=1e-9)  # the naive mean is not what we give
    assert epoch.evaluate("confusion_matrix").sum() == 1000
    epoch.reset()
    assert epoch.evaluate("accuracy") == 0.0


def test_binary_probabilities_are_thresholded():
    targets = np.array([0, 1, 1, 0])
    probabilities = np.array([0.2, 0.7, 0.4, 0.9])
    assert ClassificationMetrics(2).update(targets, probabilities).evaluate("accuracy") == 0.5
    assert ClassificationMetrics(2).update(targets, probabilities[:, None]).evaluate("accuracy") == 0.5
    assert ClassificationMetrics(2, threshold=0.3).update(targets, probabilities).evaluate("accuracy") == 0.75


@pytest.mark.parametrize("layout", ["channels_first", "channels_last"])
def test_segmentation_masks_in_either_layout(layout):
    rng = np.random.default_rng(2)
    masks = rng.integers(0, 3, (4, 6, 5))
    scores = rng.normal(size=(4, 3, 6, 5)) + 2 * np.moveaxis(np.eye(3)[masks], -1, 1)
    if layout == "channels_last":
        scores = np.moveaxis(scores, 1, -1)
    predicted = scores.argmax(1 if layout == "channels_first" else -1)
    metrics = SegmentationMetrics(3)
    metrics.update(masks[:2], scores[:2]).update(masks[2:], scores[2:])
    assert metrics.evaluate() == pytest.approx(sk.jaccard_score(masks.ravel(), predicted.ravel(), average="macro"))
    assert metrics.evaluate("dice") == pytest.approx(sk.f1_score(masks.ravel(), predicted.ravel(), average="macro"))
    assert SegmentationMetrics(3).update(masks, predicted).evaluate("iou") == metrics.evaluate("iou")


def test_ambiguous_class_axis_needs_saying():
    masks = np.zeros((2, 3, 3), dtype=int)
    scores = np.zeros((2, 3, 3, 3))
    with pytest.raises(ValueError, match="pass class_axis"):
        SegmentationMetrics(3).update(masks, scores)
    assert SegmentationMetrics(3, class_axis=1).update(masks, scores).evaluate("accuracy") == 1.0
    # a batch as long as the class count is not ambiguous: axis 0 is the batch's
    assert accuracy(np.arange(3), np.eye(3), 3) == 1.0


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: confusion_matrix([0, 1], [0, 3], 3), "predictions hold class ids from 0 to 3, outside"),
        (lambda: confusion_matrix([0, -1], [0, 1], 3), "targets hold class ids"),
        (lambda: confusion_matrix([0, 1], [0, 1, 1], 3), "do not match targets"),
        (lambda: confusion_matrix([0, 1], [0.5, 1.0], 3), "must be class ids"),
        (lambda: confusion_matrix([0, 1], np.zeros((2, 4)), 3), "no class axis of size 3"),
        (lambda: ClassificationMetrics(3).evaluate("auc"), "unknown metric 'auc'"),
        (lambda: ClassificationMetrics(3).evaluate("f1", average="mean"), "average must be one of"),
        (lambda: ClassificationMetrics(1), "num_classes must be an int >= 2"),
    ],
)
def test_errors(call, message):
    with pytest.raises(ValueError, match=message):
        call()
