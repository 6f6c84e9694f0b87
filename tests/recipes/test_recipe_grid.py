"""Experiments as grids: expansion, seeds per repetition, limits and errors before anything runs."""

from __future__ import annotations

import time

import pytest

from tuiflow import recipe
from tuiflow.recipes import (
    DEFAULT_LIMIT,
    MAX_RUNS,
    Grid,
    GridTooLarge,
    RecipeError,
    expand,
    parse_grid,
    recipe_of,
    rep_seed,
)


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
    with pytest.raises(GridTooLarge, match="1,200 runs, more than 1,000; raise the limit"):
        expand(DEMO, {}, big, reps=2)
    assert len(expand(DEMO, {}, big, reps=2, limit=None)) == 1200
    with pytest.raises(RecipeError, match="the grid is empty"):
        expand(DEMO, {}, __import__("tuiflow").Domain(lr=[]))  # a Domain from the library is taken too
    with pytest.raises(RecipeError, match="reps must be"):
        expand(DEMO, {}, None, reps=0)


def test_a_grid_is_counted_before_it_is_built_whatever_its_size():
    values = ",".join(map(str, range(1, 10_001)))
    started = time.monotonic()
    grid = parse_grid(DEMO, [f"lr={values}", f"hidden={values}", f"seed={values}"])
    assert grid.size == 10**12 and grid.parameters() == ["lr", "hidden", "seed"]
    for limit in (DEFAULT_LIMIT, None):  # --yes lifts the limit, not the ceiling
        with pytest.raises(GridTooLarge, match=f"10,000,000,000,000 runs \\(1,000,000,000,000 configs x 10 reps\\); "
                                               f"one experiment holds at most {MAX_RUNS:,}: split it"):
            expand(DEMO, {}, grid, reps=10, limit=limit)
    assert time.monotonic() - started < 1.0
    # Beyond what len() can return (sys.maxsize), still a number to compare, not an OverflowError
    assert Grid({f"p{i}": list(range(1000)) for i in range(8)}).size == 10**24
    with pytest.raises(GridTooLarge, match=f"{MAX_RUNS + 1:,} runs; one experiment holds at most {MAX_RUNS:,}"):
        expand(NO_SEED, {}, Grid({"x": list(range(MAX_RUNS + 1))}), limit=None)


def test_a_grid_keeps_the_order_of_its_product():
    grid = parse_grid(DEMO, ["lr=0.1,0.2", "mode=a,b"])
    assert list(grid) == [{"lr": 0.1, "mode": "a"}, {"lr": 0.1, "mode": "b"}, {"lr": 0.2, "mode": "a"},
                          {"lr": 0.2, "mode": "b"}]


@pytest.mark.parametrize("seed", [-1, 2**63, True, 1.5])
def test_the_experiment_seed_must_fit_the_store(seed):
    with pytest.raises(RecipeError, match=r"the seed must be a whole number from 0 to 2\*\*63 - 1"):
        expand(DEMO, {}, None, seed=seed)
    assert expand(DEMO, {}, None, seed=2**63 - 1)[0].seed == rep_seed(2**63 - 1, 0)


@pytest.mark.parametrize("text", ["9223372036854775808", "-9223372036854775809"])
def test_an_int_parameter_must_fit_in_64_bits(text):
    with pytest.raises(RecipeError, match=rf"parameter 'hidden': {text} is outside the 64-bit range"):
        DEMO.parse([f"hidden={text}"])
    with pytest.raises(RecipeError, match="outside the 64-bit range"):
        parse_grid(DEMO, [f"hidden=1,{text}"])
    with pytest.raises(RecipeError, match="outside the 64-bit range"):
        DEMO.config({"hidden": float(text) * 2})  # from Python: a whole float is taken as an int, if it fits
    assert DEMO.parse(["hidden=9223372036854775807", "hidden=-9223372036854775808"]) == {"hidden": -(2**63)}
