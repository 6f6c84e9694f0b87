"""Config: a dict with "a/b" nested keys."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tuiflow.flow import Config


def sample() -> Config:
    return Config({"model": {"lr": 0.1, "layers": {"n": 3}}, "seed": 7})


# --- get ---------------------------------------------------------------------------------------
def test_nested_keys_read_through_levels():
    cfg = sample()
    assert cfg["model/lr"] == 0.1
    assert cfg["model/layers/n"] == 3
    assert cfg["model"]["layers"] == {"n": 3}
    assert cfg["seed"] == 7
    assert cfg["/model/lr"] == 0.1 and cfg["model/lr/"] == 0.1


def test_missing_keys_raise_key_error_naming_the_path():
    cfg = sample()
    for key in ("model/momentum", "nope/lr", "seed/deeper", "nope"):
        with pytest.raises(KeyError, match=key):
            cfg[key]


def test_get_with_a_default():
    cfg = sample()
    assert cfg.get("model/layers/n") == 3
    assert cfg.get("model/momentum") is None
    assert cfg.get("model/momentum", 0.9) == 0.9
    assert cfg.get("seed/deeper", "x") == "x"


def test_path_keys_in_the_constructor_and_kwargs_nest():
    cfg = Config({"a/b": 1, "a/c": 2}, d=4)
    assert cfg == {"a": {"b": 1, "c": 2}, "d": 4}
    cfg = Config({"a": {"x/y": 1}, "a/z": 2})
    assert cfg == {"a": {"x": {"y": 1}, "z": 2}}
    assert Config() == {} and Config(None) == {}


def test_nested_levels_are_plain_dicts():
    cfg = sample()
    assert type(cfg["model"]) is dict and type(cfg["model/layers"]) is dict
    assert isinstance(cfg, dict)


# --- set --------------------------------------------------------------------------------------
def test_set_nested_creates_levels_and_keeps_siblings():
    cfg = sample()
    cfg["model/momentum"] = 0.9
    cfg["optim/adam/beta"] = 0.99
    assert cfg["model"] == {"lr": 0.1, "layers": {"n": 3}, "momentum": 0.9}
    assert cfg["optim"] == {"adam": {"beta": 0.99}}
    cfg["model/lr"] = 0.2
    assert cfg["model/lr"] == 0.2 and cfg["model/layers/n"] == 3


def test_set_through_a_leaf_replaces_it_with_a_level():
    cfg = sample()
    cfg["seed/value"] = 1
    assert cfg["seed"] == {"value": 1}


# --- contains, del, pop -------------------------------------------------------------------------
def test_contains_with_paths():
    cfg = sample()
    assert "model/lr" in cfg and "model/layers/n" in cfg and "model" in cfg
    assert "model/momentum" not in cfg
    assert "seed/deeper" not in cfg
    assert "nope/x" not in cfg
    assert 3 not in cfg


def test_del_with_paths():
    cfg = sample()
    del cfg["model/layers/n"]
    assert cfg["model/layers"] == {}
    del cfg["model/lr"]
    assert "model/lr" not in cfg
    with pytest.raises(KeyError):
        del cfg["model/lr"]
    with pytest.raises(KeyError):
        del cfg["nope/x"]
    del cfg["seed"]
    assert "seed" not in cfg


def test_pop_with_paths_and_defaults():
    cfg = sample()
    assert cfg.pop("model/lr") == 0.1
    assert "model/lr" not in cfg
    assert cfg.pop("model/lr", "gone") == "gone"
    assert cfg.pop("model/lr", None) is None
    with pytest.raises(KeyError):
        cfg.pop("model/lr")
    assert cfg.pop("seed") == 7 and "seed" not in cfg


def test_setdefault_with_a_path_nests():
    cfg = sample()
    assert cfg.setdefault("model/lr", 5) == 0.1
    assert cfg.setdefault("model/momentum", 0.9) == 0.9
    assert cfg["model"]["momentum"] == 0.9
    assert "model/momentum" not in dict.keys(cfg)


# --- update, |, flatten -------------------------------------------------------------------------
def test_update_merges_nested_dicts():
    cfg = sample()
    cfg.update({"model": {"layers": {"width": 64}, "lr": 0.5}, "new": 1})
    assert cfg == {"model": {"lr": 0.5, "layers": {"n": 3, "width": 64}}, "seed": 7, "new": 1}


def test_update_with_path_keys_and_kwargs():
    cfg = sample()
    cfg.update({"model/layers/n": 4, "model/dropout": 0.1}, seed=8)
    assert cfg["model/layers/n"] == 4 and cfg["model/dropout"] == 0.1 and cfg["seed"] == 8
    assert cfg["model/lr"] == 0.1
    cfg.update({"model/layers": {"width": 8}})
    assert cfg["model/layers"] == {"n": 4, "width": 8}


def test_update_replaces_a_leaf_by_a_dict_and_a_dict_by_a_leaf():
    cfg = sample()
    cfg.update({"seed": {"value": 1}})
    assert cfg["seed/value"] == 1
    cfg.update({"model": 3})
    assert cfg["model"] == 3


def test_update_with_a_nested_path_through_a_leaf():
    # a path inside a nested dict that crosses a leaf replaces the leaf, as cfg["a/b"] = ... does
    cfg = Config({"model": {"lr": 0.1}})
    cfg.update({"model": {"lr/warmup": 5}})
    assert cfg["model/lr/warmup"] == 5


def test_update_does_not_keep_references_to_the_given_dicts():
    given_dict = {"model": {"layers": {"n": 1}}}
    cfg = Config()
    cfg.update(given_dict)
    cfg["model/layers/n"] = 2
    assert given_dict == {"model": {"layers": {"n": 1}}}


def test_or_merges_into_a_new_config():
    base = sample()
    merged = base | {"model": {"lr": 0.3}, "model/layers/width": 8, "extra": True}
    assert type(merged) is Config
    assert merged == {"model": {"lr": 0.3, "layers": {"n": 3, "width": 8}}, "seed": 7, "extra": True}
    assert base == sample()  # unchanged, nested levels included
    merged["model/layers/n"] = 99
    assert base["model/layers/n"] == 3
    assert (base | Config({"seed": 1}))["seed"] == 1


def test_in_place_or_merges_nested_keys():
    cfg = sample()
    cfg |= {"model/lr": 0.5}
    assert cfg["model/lr"] == 0.5
    assert cfg["model"] == {"lr": 0.5, "layers": {"n": 3}}
    assert "model/lr" not in dict.keys(cfg)


def test_copy_is_deep_for_levels():
    cfg = sample()
    copy = cfg.copy()
    assert type(copy) is Config and copy == cfg
    copy["model/layers/n"] = 10
    assert cfg["model/layers/n"] == 3


def test_flatten():
    cfg = Config({"a": {"b": 1, "c": {"d": 2}}, "e": 3, "f": {}})
    assert cfg.flatten() == {"a/b": 1, "a/c/d": 2, "e": 3, "f": {}}
    assert Config().flatten() == {}


# --- properties ---------------------------------------------------------------------------------
keys = st.text(alphabet="abcxyz_0", min_size=1, max_size=4)
leaves = st.one_of(st.integers(), st.text(max_size=3), st.none(), st.floats(allow_nan=False))
trees = st.recursive(leaves, lambda children: st.dictionaries(keys, children, min_size=1, max_size=4),
                     max_leaves=12)


@settings(max_examples=80, deadline=None)
@given(tree=st.dictionaries(keys, trees, max_size=4))
def test_flatten_round_trips_and_every_flat_key_reads_its_value(tree):
    cfg = Config(tree)
    assert cfg == tree
    flat = cfg.flatten()
    assert Config(flat) == cfg
    for key, value in flat.items():
        assert key in cfg
        assert cfg[key] == value
        assert cfg.get(key, "default") == value


@settings(max_examples=80, deadline=None)
@given(tree=st.dictionaries(keys, trees, max_size=4), other=st.dictionaries(keys, trees, max_size=4))
def test_or_agrees_with_updating_flat_keys(tree, other):
    merged = Config(tree) | other
    for key, value in Config(other).flatten().items():
        assert merged[key] == value
    # keys of the left side that the right side does not touch survive
    other_flat = Config(other).flatten()
    for key, value in Config(tree).flatten().items():
        touched = any(key == k or key.startswith(k + "/") or k.startswith(key + "/") for k in other_flat)
        if not touched:
            assert merged[key] == value


# --- BatchFlow's Config API ------------------------------------------------------------------------
def test_built_from_key_value_pairs_and_keys_are_strings():
    assert Config([("a", None), ("b/c", 2), ("b", {"d": 3})]).flatten() == {"a": None, "b/c": 2, "b/d": 3}
    assert Config([("a", Config({"b": 2}))]).flatten() == {"a/b": 2}
    for bad in ({0: 1}, {False: True}, [(0, 1)]):
        with pytest.raises(TypeError, match="keys are strings"):
            Config(bad)
    with pytest.raises(ValueError, match="not a \\(key, value\\) pair"):
        Config([("a", 0, 1)])
    with pytest.raises(ValueError, match="not str"):
        Config("a=1")


def test_config_attribute_pop_default_put_and_add():
    cfg = sample()
    assert cfg.config is cfg
    assert cfg.pop("model/momentum", default=1) == 1 and cfg.pop("nope", 2) == 2
    with pytest.raises(TypeError, match="one default"):
        cfg.pop("nope", 1, default=2)
    cfg.put("model", {"depth": 4})  # merged into the dict already there
    assert cfg["model"] == {"lr": 0.1, "layers": {"n": 3}, "depth": 4}
    added = Config({"a/b": 1, "b/d": {}}) + Config({"a": {}, "b/d": None})
    assert added.flatten() == {"a/b": 1, "b/d": None} and isinstance(added, Config)
    cfg += {"seed": 8}
    assert cfg["seed"] == 8


def test_items_keys_values_flatten():
    cfg = Config({"a": {"b": 1, "c": {"d": 2}}})
    assert list(cfg.items()) == [("a", {"b": 1, "c": {"d": 2}})]
    assert list(cfg.items(flatten=True)) == [("a/b", 1), ("a/c/d", 2)]
    assert list(cfg.keys(flatten=True)) == ["a/b", "a/c/d"] and list(cfg.keys()) == ["a"]
    assert list(cfg.values(flatten=True)) == [1, 2]
    assert dict(cfg) == {"a": {"b": 1, "c": {"d": 2}}}  # a plain dict of it is unchanged
