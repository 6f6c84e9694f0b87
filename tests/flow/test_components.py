"""Item views of component data by id (BatchFlow's create_item_class), over every kind of source."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from tuiflow.flow import FlowError
from tuiflow.flow.components import create_item_class, is_iterable

IDS = np.arange(10)
IMAGES, LABELS = IDS + 1000, IDS + 100


def sources():
    str_ids = IDS.astype(str)
    return {
        "tuple": ((IMAGES.copy(), LABELS.copy()), IDS),
        "dict": ({"images": IMAGES.copy(), "labels": LABELS.copy()}, IDS),
        "by id": ({"images": dict(zip(str_ids, IMAGES)), "labels": dict(zip(str_ids, LABELS))}, str_ids),
        "table": (pd.DataFrame({"images": IMAGES, "labels": LABELS}), IDS),
        "table by name": (pd.DataFrame({"images": IMAGES, "labels": LABELS}, index=str_ids), str_ids),
    }


@pytest.mark.parametrize("kind", list(sources()))
def test_views_of_views_read_their_items_by_id(kind):
    source, ids = sources()[kind]
    full = create_item_class(("images", "labels"), source)
    middle = create_item_class(("images", "labels"), full, ids[2:8], crop=True)
    inner = create_item_class(("images", "labels"), middle, list(ids[4:6]))
    one = create_item_class(("images", "labels"), inner, ids[5])
    labels = full.labels  # the whole column, as the source holds it
    labels = list(labels.values()) if isinstance(labels, dict) else labels
    assert np.asarray(labels).tolist() == LABELS.tolist()
    assert middle.labels.tolist() == list(range(102, 108)) and inner.images.tolist() == [1004, 1005]
    assert one.labels == 105 and middle[ids[3]].labels == 103
    assert len(middle) == 6 and len(one) == 1
    with pytest.raises(KeyError, match="not an item of this view"):
        middle[ids[9]]


@pytest.mark.parametrize("kind", list(sources()))
def test_what_a_view_returns_is_a_copy_and_assigning_writes_the_source(kind):
    source, ids = sources()[kind]
    full = create_item_class(("images", "labels"), source)
    part = create_item_class(("images", "labels"), full, ids[2:5])
    got = part.labels
    got[0] = -1
    assert full[ids[2]].labels == 102  # the source did not change
    part.labels = [7, 8, 9]
    assert full[ids[3]].labels == 8 and part.labels.tolist() == [7, 8, 9]


def test_without_names_the_source_is_cut_to_the_ids():
    assert create_item_class(None, LABELS, [2, 3]).tolist() == [102, 103]
    images, labels = create_item_class(None, (IMAGES, LABELS), np.array([4]))
    assert images.tolist() == [1004] and labels.tolist() == [104]
    assert create_item_class(None, {0: IMAGES, 1: LABELS}, 9)[1] == 109
    table = create_item_class(None, pd.DataFrame({"labels": LABELS}), [1, 2])
    assert table["labels"].tolist() == [101, 102]
    copied = create_item_class(None, LABELS, copy=True)
    copied[0] = 0
    assert LABELS[0] == 100


def test_bad_sources_are_clear_errors_and_is_iterable():
    with pytest.raises(FlowError, match="2 arrays for 1 components"):
        create_item_class("labels", (IMAGES, LABELS))
    with pytest.raises(FlowError, match="not int"):
        create_item_class(("labels",), 5)
    assert is_iterable([1]) and is_iterable(np.arange(2)) and not is_iterable("ab") and not is_iterable(3)
