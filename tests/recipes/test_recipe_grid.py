"""Experiments as grids: expansion, seeds per repetition, limits and errors before anything runs."""

from __future__ import annotations

import pytest

from tuiflow import recipe
from tuiflow.recipes import GridTooLarge, RecipeError, expand, parse_grid, recipe_of, rep_seed


@recipe(name="grid-demo", params={"lr": 1e-3, "hidden": 64, "mode": ["a", "b"], "seed": 0})
def grid_demo(run):
    return None


@recipe(name="no-seed", params={"x": 1})
def no_seed(run):
    return None


DEMO, NO_SEED = recipe_of(grid_demo), recipe_of(no_seed)


def test_product_of_grids_times_reps_over_the_base():
    grid = parse_grid(DEMO, ["lr=0.1,0.01", "mode=a,b"])
    planned = expand(DEMO, {"hidden": 32}, grid, reps=3, seed=7)
    assert len(planned) == 12
    assert {(p.config["lr"], p.config["mode"]) for p in planned} == {(0.1, "a"), (0.1, "b"), (0.01, "a"),
                                                                    (0.01, "b")}
    assert all(p.config["hidden"] == 32 for p in planned)
    assert [p.rep for p in planned[:3]] == [0, 1, 2]


def test_each_repetition_has_its_own_reproducible_seed():
    planned = expand(DEMO, {}, None, reps=3, seed=11)
    seeds = [p.seed for p in planned]
    assert len(set(seeds)) == 3
    assert seeds == [rep_seed(11, k) for k in range(3)] == [p.seed for p in expand(DEMO, {}, None, 3, 11)]
    assert [p.config["seed"] for p in planned] == seeds  # the recipe's own seed parameter follows
    assert seeds != [p.seed for p in expand(DEMO, {}, None, 3, 12)]
    fixed = expand(DEMO, {"seed": 5}, None, reps=2, seed=11)
    assert [p.config["seed"] for p in fixed] == [5, 5]  # a seed the user set is kept
    assert [p.config for p in expand(NO_SEED, {}, None, 2, 0)] == [{"x": 1}, {"x": 1}]


def test_grid_values_are_read_as_their_parameter_type():
    grid = parse_grid(DEMO, ["lr=1e-3, 1", "hidden=8"])
    assert list(grid) == [{"lr": 0.001, "hidden": 8}, {"lr": 1.0, "hidden": 8}]


@pytest.mark.parametrize(("texts", "message"), [
    (["lr"], "expected key=v1,v2"),
    (["lr="], "expected key=v1,v2"),
    (["rate=1,2"], "has no parameter 'rate'"),
    (["hidden=1,x"], "parameter 'hidden': expected an integer, got 'x'"),
    (["mode=a,c"], "'c' is not one of 'a', 'b'"),
    (["lr=1", "lr=2"], "given twice"),
])
def test_bad_grids_fail_before_anything_is_stored(texts, message):
    with pytest.raises(RecipeError, match=message):
        parse_grid(DEMO, texts)


def test_limits():
    big = parse_grid(DEMO, ["hidden=" + ",".join(map(str, range(600)))])
    with pytest.raises(GridTooLarge, match="1,200 runs, more than 1,000; add --yes"):
        expand(DEMO, {}, big, reps=2)
    assert len(expand(DEMO, {}, big, reps=2, limit=None)) == 1200
    with pytest.raises(RecipeError, match="the grid is empty"):
        expand(DEMO, {}, parse_grid(DEMO, []) * __import__("tuiflow").Domain(lr=[]))
    with pytest.raises(RecipeError, match="--reps must be"):
        expand(DEMO, {}, None, reps=0)
