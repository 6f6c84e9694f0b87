"""Command-line text into the values `Lab` takes (`tuiflow.cli.parsing`): each value read as its parameter's
type, and every mistake one line in the words a user typed."""

from __future__ import annotations

import pytest

from tuiflow.cli.parsing import needs_gpu_indices, parse_gpus, parse_grid, parse_sets
from tuiflow.lab import ParamInfo, RecipeInfo
from tuiflow.recipes import RecipeError

RECIPE = RecipeInfo("toy", "a toy", "/toy.py", {
    "lr": ParamInfo("lr", 0.001, "float"),
    "layers": ParamInfo("layers", 2, "int"),
    "framework": ParamInfo("framework", "torch", "str", ["torch", "tf"]),
    "shuffle": ParamInfo("shuffle", True, "bool"),
    "extra": ParamInfo("extra", None, "any"),
})


def test_sets_are_read_as_their_parameters_types():
    assert parse_sets(RECIPE, ["lr=0.01", "layers=3", "framework=tf", "shuffle=no", "extra=5"]) == {
        "lr": 0.01, "layers": 3, "framework": "tf", "shuffle": False, "extra": 5}
    assert parse_sets(RECIPE, []) == {}


def test_grids_are_lists_of_typed_values():
    assert parse_grid(RECIPE, ["lr=0.1, 0.01", "layers=1,2,3"]) == {"lr": [0.1, 0.01], "layers": [1, 2, 3]}


@pytest.mark.parametrize(("call", "message"), [
    (lambda: parse_sets(RECIPE, ["lr"]), "recipe 'toy': 'lr' is not key=value"),
    (lambda: parse_sets(RECIPE, ["layer=3"]), "recipe 'toy' has no parameter 'layer' (did you mean 'layers'?)"),
    (lambda: parse_sets(RECIPE, ["layers=many"]), "recipe 'toy', parameter 'layers': expected an integer, got 'many'"),
    (lambda: parse_sets(RECIPE, ["framework=jax"]), "'jax' is not one of 'torch', 'tf'"),
    (lambda: parse_grid(RECIPE, ["lr="]), "--grid 'lr=': expected key=v1,v2,..."),
    (lambda: parse_grid(RECIPE, ["lr=1", "lr=2"]), "--grid 'lr' is given twice"),
    (lambda: parse_grid(RECIPE, ["lr=1,x"]), "parameter 'lr': expected a number, got 'x'"),
])  # fmt: skip
def test_mistakes_are_recipe_errors_that_say_what_and_where(call, message):
    with pytest.raises(RecipeError) as caught:
        call()
    assert message in str(caught.value)


def test_gpus_text_becomes_a_list_of_indices():
    assert parse_gpus(None, [0, 1]) is None and parse_gpus(" ALL ", [0, 1]) is None
    assert parse_gpus("none", [0, 1]) == [] and parse_gpus("cpu", []) == []
    assert parse_gpus("0-2,1", [0, 1, 2, 3]) == [0, 1, 2]
    assert not needs_gpu_indices("all") and not needs_gpu_indices(None) and needs_gpu_indices("0,1")
    with pytest.raises(ValueError, match=r"^GPU 5 does not exist: this machine has GPUs 0, 1$"):
        parse_gpus("5", [0, 1])
    with pytest.raises(ValueError, match=r"^GPU 0 does not exist: this machine has no GPUs$"):
        parse_gpus("0", [])
    with pytest.raises(ValueError, match="invalid GPU selection '2-1': expected 'all', 'none' or indices"):
        parse_gpus("2-1", [0, 1, 2])


# ---- --gpus text, every form (moved from the scheduler, which no longer parses text) -----------


@pytest.mark.parametrize(("text", "expected"), [
    ("none", []),
    ("0,2", [0, 2]),
    ("2, 0 ,2", [0, 2]),
    ("1-3", [1, 2, 3]),
    ("0,2-3", [0, 2, 3]),
    ("3", [3]),
])
def test_every_form_of_gpus_text(text, expected):
    assert parse_gpus(text, [0, 1, 2, 3]) == expected


def test_a_gpu_that_does_not_exist_is_named_with_what_exists():
    with pytest.raises(ValueError, match=r"^GPU 5 does not exist: this machine has GPUs 0, 1, 2, 3$"):
        parse_gpus("0,5", list(range(4)))
    with pytest.raises(ValueError, match=r"^GPU 0 does not exist: this machine has no GPUs$"):
        parse_gpus("0", [])


@pytest.mark.parametrize("text", ["", "x", "0,,1", "-1", "3-1", "1.5", "0-", "gpu0"])
def test_a_malformed_gpu_spec_is_a_clear_error(text):
    with pytest.raises(ValueError, match=r"invalid GPU selection .*expected 'all', 'none' or indices like 0,2"):
        parse_gpus(text, list(range(4)))
