"""Recipe parameters: types from defaults, choices, and clear errors before anything runs."""

from __future__ import annotations

import pytest

from tuiflow import Param, recipe
from tuiflow.recipes import ParamError, RecipeError, recipe_of


@recipe(name="demo", params={"lr": 1e-3, "hidden": 128, "epochs": 5, "name": "x", "flag": False,
                             "framework": ["torch", "tf"], "size": Param(None, type="int", help="optional"),
                             "anything": None})
def demo(run):
    """First line is the description.

    More text."""
    return run.config


DEMO = recipe_of(demo)


def test_declaration_gives_types_defaults_and_choices():
    assert DEMO.name == "demo" and DEMO.description == "First line is the description."
    assert {name: p.type_name for name, p in DEMO.params.items()} == {
        "lr": "float", "hidden": "int", "epochs": "int", "name": "str", "flag": "bool", "framework": "str",
        "size": "int", "anything": "any"}
    assert DEMO.params["framework"].default == "torch"
    assert DEMO.to_json()["params"]["framework"] == {"default": "torch", "type": "str", "choices": ["torch", "tf"]}
    assert DEMO.to_json()["params"]["size"] == {"default": None, "type": "int", "choices": None, "help": "optional"}
    assert DEMO.config()["lr"] == 1e-3


def test_overrides_are_checked_and_coerced():
    config = DEMO.config({"lr": 1, "hidden": 64.0, "framework": "tf", "flag": True, "size": 3, "anything": [1]})
    assert config["lr"] == 1.0 and isinstance(config["lr"], float)
    assert config["hidden"] == 64 and isinstance(config["hidden"], int)
    assert config["framework"] == "tf" and config["anything"] == [1]


@pytest.mark.parametrize(("overrides", "message"), [
    ({"lr": "fast"}, "recipe 'demo', parameter 'lr': expected a number, got 'fast'"),
    ({"hidden": 1.5}, "recipe 'demo', parameter 'hidden': expected an integer, got 1.5"),
    ({"hidden": True}, "recipe 'demo', parameter 'hidden': expected an integer, got True"),
    ({"flag": 1}, "recipe 'demo', parameter 'flag': expected true or false, got 1"),
    ({"name": 3}, "recipe 'demo', parameter 'name': expected a string, got 3"),
    ({"framework": "jax"}, "recipe 'demo', parameter 'framework': 'jax' is not one of 'torch', 'tf'"),
    ({"hiden": 3}, "recipe 'demo' has no parameter 'hiden' (did you mean 'hidden'?)"),
    # The store keeps configs as JSON, which has no NaN or infinity (SQLite's json_extract refused them).
    ({"lr": float("inf")}, "recipe 'demo', parameter 'lr': expected a finite number, got inf"),
    ({"lr": float("nan")}, "recipe 'demo', parameter 'lr': expected a finite number, got nan"),
])
def test_bad_values_name_the_recipe_and_the_parameter(overrides, message):
    with pytest.raises(ParamError) as info:
        DEMO.config(overrides)
    assert str(info.value).startswith(message)


def test_command_line_values_are_read_as_their_parameter_type():
    assert DEMO.parse(["lr=0.5", "hidden=32", "flag=yes", "name=a=b", "framework=tf", "anything=7"]) == {
        "lr": 0.5, "hidden": 32, "flag": True, "name": "a=b", "framework": "tf", "anything": 7}
    for text, message in [("hidden=3.5", "expected an integer, got '3.5'"), ("flag=maybe", "true or false"),
                          ("nokey", "is not key=value"), ("=3", "is not key=value"),
                          ("batch=3", "has no parameter 'batch'"), ("framework=jax", "is not one of")]:
        with pytest.raises(RecipeError, match=message):
            DEMO.parse([text])


def test_bad_declarations_fail_at_decoration():
    with pytest.raises(RecipeError, match="empty list of choices"):
        recipe(name="x", params={"a": []})(lambda run: None)
    with pytest.raises(RecipeError, match="mix types"):
        recipe(name="x", params={"a": [1, "b"]})(lambda run: None)
    with pytest.raises(RecipeError, match="must take exactly one argument"):
        recipe(name="x")(lambda: None)
    with pytest.raises(RecipeError, match="recipe name"):
        recipe(name="has space")(lambda run: None)


def test_bare_decorator_names_the_recipe_after_the_function():
    @recipe
    def my_experiment(run):
        return None

    assert recipe_of(my_experiment).name == "my-experiment"
    assert my_experiment(None) is None
