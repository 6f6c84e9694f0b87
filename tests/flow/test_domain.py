"""The grid algebra: product, concatenation and zip of options."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tuiflow import Domain, Option

values = st.lists(st.integers(), min_size=0, max_size=5)


def test_product_concatenation_and_zip():
    grid = Domain(lr=[1e-3, 1e-2]) * Domain(hidden=[64, 128])
    assert list(grid) == [{"lr": 1e-3, "hidden": 64}, {"lr": 1e-3, "hidden": 128},
                          {"lr": 1e-2, "hidden": 64}, {"lr": 1e-2, "hidden": 128}]
    assert list(Domain(a=[1, 2]) + Domain(b=[3])) == [{"a": 1}, {"a": 2}, {"b": 3}]
    assert list(Domain(a=[1, 2]) @ Domain(b=[3, 4])) == [{"a": 1, "b": 3}, {"a": 2, "b": 4}]
    assert list(Option("x", [1, 2]) * Option("y", ["u"])) == [{"x": 1, "y": "u"}, {"x": 2, "y": "u"}]
    assert list(Domain({"a": [1], "b": [2, 3]})) == [{"a": 1, "b": 2}, {"a": 1, "b": 3}]
    assert list(Domain()) == [{}] and len(Domain(a=[])) == 0
    assert Domain(a=[1]) * {"b": [2]} is not None
    mixed = (Domain(a=[1, 2]) @ Domain(b=[3, 4])) * Domain(c=[0]) + Domain.of([{"a": 9}])
    assert list(mixed) == [{"a": 1, "b": 3, "c": 0}, {"a": 2, "b": 4, "c": 0}, {"a": 9}]
    assert mixed.parameters() == ["a", "b", "c"]


def test_iteration_gives_fresh_dicts():
    grid = Domain(a=[1])
    first = next(iter(grid))
    first["a"] = 99
    assert list(grid) == [{"a": 1}]


@pytest.mark.parametrize(("build", "message"), [
    (lambda: Domain(a=[1]) @ Domain(b=[1, 2]), "lengths must match"),
    (lambda: Domain(a=[1]) * Domain(a=[2]), r"both sides set \['a'\]"),
    (lambda: Domain(a=[1]) @ Domain(a=[2]), r"both sides set \['a'\]"),
    (lambda: Option("a", 3), "values must be a list"),
    (lambda: Option("a", "abc"), "values must be a list"),
    (lambda: Option("", [1]), "non-empty string"),
    (lambda: Domain([Option("a", [1]), Option("a", [2])]), "appears twice"),
])
def test_bad_grids_are_clear_errors(build, message):
    with pytest.raises(ValueError, match=message):
        build()


@given(values, values, values)
def test_sizes_follow_the_algebra(a, b, c):
    da, db, dc = Domain(a=a), Domain(b=b), Domain(c=c)
    assert len(da * db) == len(a) * len(b)
    assert len(da + db) == len(a) + len(b)
    assert len((da * db) * dc) == len(da * (db * dc))
    assert list((da * db) * dc) == list(da * (db * dc))
    if len(a) == len(b):
        assert [(x["a"], x["b"]) for x in da @ db] == list(zip(a, b))
