"""Named expressions, evaluated through real pipelines over a real dataset."""

from __future__ import annotations

import operator
from collections import namedtuple
from types import SimpleNamespace

import numpy as np
import pytest

from tuiflow.flow import (
    PP,
    ActionError,
    B,
    Batch,
    C,
    D,
    Dataset,
    ExpressionError,
    F,
    I,
    L,
    P,
    Pipeline,
    R,
    V,
    action,
    inbatch_parallel,
)

N = 10  # batches of 4 are sized 4, 4, 2


class ExprBatch(Batch):
    """Images and labels, and actions that show what they were called with."""

    components = ("images", "labels")

    @action
    def echo(self, *args, **kwargs):
        """Return the evaluated arguments (kept with save_to=)."""
        return args, kwargs

    @action
    def keep(self, value):
        """Keep the evaluated value on the batch."""
        self.kept = value
        return self

    @action
    @inbatch_parallel(init="indices", target="for")
    def per_item(self, ix, value):
        """Record the value each item was given, by item id."""
        self.__dict__.setdefault("got", {})[ix] = value


def make_dataset(n: int = N) -> Dataset:
    images = np.arange(n, dtype=float)[:, None] * np.ones((1, 3))
    labels = 100 + np.arange(n)
    return Dataset(n, batch_class=ExprBatch, preloaded=(images, labels))


def collect(expr, ppl: Pipeline | None = None, batch_size: int = 4, **run_kwargs) -> list:
    """The value of ``expr`` for every batch of one run."""
    base = make_dataset().p if ppl is None else ppl
    done = base.init_variable("out", list).load().update(V("out", mode="a"), expr).run(batch_size, **run_kwargs)
    return done.v("out")


def echoed(*args, ppl: Pipeline | None = None, batch_size: int = 4, **kwargs) -> list:
    """What the action ``echo`` received for every batch: a list of (args, kwargs)."""
    base = make_dataset().p if ppl is None else ppl
    done = (base.init_variable("calls", list).load()
            .echo(*args, save_to=V("calls", mode="a"), **kwargs).run(batch_size))
    return done.v("calls")


def run_error(ppl: Pipeline, batch_size: int = 4) -> ActionError:
    with pytest.raises(ActionError) as caught:
        ppl.run(batch_size)
    return caught.value


# --- B ------------------------------------------------------------------------------------------
def test_B_names_a_component_or_an_attribute():
    labels = collect(B("labels"))
    assert [x.tolist() for x in labels] == [[100, 101, 102, 103], [104, 105, 106, 107], [108, 109]]
    assert collect(B("size")) == [4, 4, 2]
    assert [x.tolist() for x in collect(B("indices"))] == [[0, 1, 2, 3], [4, 5, 6, 7], [8, 9]]


def test_B_without_a_name_is_the_batch():
    batches = collect(B())
    assert all(type(b) is ExprBatch for b in batches)
    assert [len(b) for b in batches] == [4, 4, 2]
    assert [b.labels[0] for b in batches] == [100, 104, 108]


def test_B_as_an_update_target_and_as_save_to():
    ppl = make_dataset().p.load().update(B("labels"), B("labels") * 2).echo(B("size"), save_to=B("echoed"))
    batches = list(ppl.gen_batch(4))
    assert [b.labels.tolist() for b in batches][2] == [216, 218]
    assert [b.echoed for b in batches] == [((4,), {}), ((4,), {}), ((2,), {})]


def test_B_of_a_missing_attribute_is_an_action_error_naming_the_action():
    error = run_error(make_dataset().p.load().keep(B("nope")))
    assert error.action == "keep #1" and error.batch_number == 0
    assert "keep #1" in str(error) and "'nope'" in str(error)
    assert isinstance(error.__cause__, ExpressionError)
    assert "ExprBatch" in str(error.__cause__) and "'nope'" in str(error.__cause__)


def test_B_itself_cannot_be_assigned():
    error = run_error(make_dataset().p.load().update(B(), 1))
    assert isinstance(error.__cause__, ExpressionError)
    assert "update" in error.action


# --- V ------------------------------------------------------------------------------------------
def test_V_reads_a_variable():
    ppl = make_dataset().p.init_variable("n", 5)
    assert collect(V("n") + B("size"), ppl) == [9, 9, 7]


def test_V_as_targets_replace_append_extend():
    ppl = (make_dataset().p.init_variable("last").init_variable("sizes", list).init_variable("all", list)
           .init_variable("total", 0).load()
           .update(V("last"), B("size"))
           .update(V("sizes", mode="a"), B("size"))
           .update(V("all", mode="e"), B("labels"))
           .update(V("total"), V("total") + B("size"))
           .echo(I(), save_to=V("echoes", mode="a")))
    ppl.run(4)
    assert ppl.v("last") == 2
    assert ppl.v("sizes") == [4, 4, 2]
    assert ppl.v("all") == list(range(100, 110))
    assert ppl.v("total") == 10
    assert ppl.v("echoes") == [((1,), {}), ((2,), {}), ((3,), {})]
    ppl.run(4)  # every run starts from the defaults
    assert ppl.v("sizes") == [4, 4, 2] and ppl.v("total") == 10


def test_V_of_an_undeclared_variable_says_to_use_init_variable():
    error = run_error(make_dataset().p.load().echo(V("ghost"), save_to=V("out")))
    assert error.action == "echo #1"
    assert isinstance(error.__cause__, ExpressionError)
    assert "init_variable" in str(error.__cause__) and "'ghost'" in str(error.__cause__)
    error = run_error(make_dataset().p.load().update(V("out"), V("ghost") + 1))
    assert error.action == "update #1" and "init_variable" in str(error)


def test_V_with_a_bad_mode_is_an_error():
    with pytest.raises(ValueError, match="mode"):
        V("x", mode="r")


# --- C ------------------------------------------------------------------------------------------
def test_C_reads_the_pipeline_config_with_nested_keys_and_defaults():
    ppl = make_dataset().p << {"scale": 3, "model": {"lr": 0.5}, "a/b/c": 1}
    assert collect(C("scale") * B("size"), ppl) == [12, 12, 6]
    assert collect(C("model/lr"), ppl) == [0.5] * 3
    assert collect(C("model")["lr"], ppl) == [0.5] * 3
    assert collect(C("a/b/c"), ppl) == [1] * 3
    assert collect(C("missing", default=7), ppl) == [7] * 3
    assert collect(C("model/missing", default=None), ppl) == [None] * 3


def test_C_from_a_config_given_to_the_dataset_pipeline():
    ppl = make_dataset().pipeline(config={"k": {"v": 2}})
    assert collect(C("k/v") + 1, ppl) == [3] * 3


def test_C_of_a_missing_key_is_an_action_error():
    ppl = make_dataset().p << {"model": {"lr": 0.5}}
    error = run_error(ppl.load().keep(C("model/momentum")))
    assert error.action == "keep #1"
    assert isinstance(error.__cause__, ExpressionError)
    assert "'model/momentum'" in str(error.__cause__)


# --- R ------------------------------------------------------------------------------------------
def test_R_of_an_unknown_distribution_fails_at_construction():
    with pytest.raises(ValueError, match="'unifrom'"):
        R("unifrom", 0, 1)
    with pytest.raises(ValueError, match="distribution"):
        R("bit_generator")


def test_R_draws_once_per_batch():
    draws = collect(R("uniform", 0, 1))
    assert len(draws) == 3 and len(set(draws)) == 3
    assert all(0 <= d < 1 for d in draws)
    sized = collect(R("normal", 0, 1, size=(2, 3)))
    assert all(d.shape == (2, 3) for d in sized)
    by_batch = collect(R("uniform", size=B("size")))
    assert [d.shape for d in by_batch] == [(4,), (4,), (2,)]


def test_R_arguments_can_be_expressions():
    ppl = make_dataset().p << {"mu": 50.0}
    draws = collect(R("normal", C("mu"), 1e-9), ppl)
    assert np.allclose(draws, 50.0)
    assert collect(R("integers", 0, B("size") - B("size") + 1)) == [0, 0, 0]


def test_seeded_R_repeats_run_after_run():
    expr = R("integers", 0, 10**9, size=2, seed=3)
    ppl = make_dataset().p
    first = [d.tolist() for d in collect(expr, ppl)]
    second = [d.tolist() for d in collect(expr, ppl)]
    assert first == second
    rng = np.random.default_rng(3)
    assert first == [rng.integers(0, 10**9, size=2).tolist() for _ in range(3)]
    # unaffected by the run's seed
    assert [d.tolist() for d in collect(expr, ppl, seed=99)] == first


def test_run_seed_makes_unseeded_R_reproducible():
    expr = R("uniform", 0, 1)
    assert collect(expr, seed=42) == collect(expr, seed=42)
    assert collect(expr, seed=42) != collect(expr, seed=43)


# --- P ------------------------------------------------------------------------------------------
def test_P_of_R_gives_a_non_parallel_action_one_value_per_item():
    ppl = make_dataset().p.load().keep(P(R("uniform", 0, 1)))
    shapes = [b.kept.shape for b in ppl.gen_batch(4)]
    assert shapes == [(4,), (4,), (2,)]
    ppl = make_dataset().p.load().keep(value=P(R("normal", size=2)))
    assert [b.kept.shape for b in ppl.gen_batch(4)] == [(4, 2), (4, 2), (2, 2)]


def test_P_gives_each_item_of_a_parallel_action_its_own_value():
    ppl = make_dataset().p.load().per_item(P(B("labels")))
    for batch in ppl.gen_batch(4):
        assert batch.got == {ix: 100 + ix for ix in batch.indices.tolist()}


def test_P_of_R_in_a_parallel_action_draws_the_same_values_as_the_whole_array():
    parallel = make_dataset().p.load().per_item(P(R("uniform", 0, 1)))
    whole = make_dataset().p.load().keep(P(R("uniform", 0, 1)))
    for a, b in zip(parallel.gen_batch(4, seed=5), whole.gen_batch(4, seed=5)):
        per_item = [a.got[ix] for ix in a.indices.tolist()]
        assert np.ndim(per_item[0]) == 0
        np.testing.assert_array_equal(per_item, b.kept)
        assert len(set(per_item)) == len(a)


def test_P_of_the_wrong_length_is_an_action_error():
    ppl = make_dataset().p.init_variable("four", [1, 2, 3, 4]).load().keep(P(V("four")))
    error = run_error(ppl)
    assert error.action == "keep #1" and error.batch_number == 2  # the last batch has 2 items
    assert isinstance(error.__cause__, ExpressionError)
    assert "4 values" in str(error.__cause__) and "2 items" in str(error.__cause__)
    error = run_error(make_dataset().p.init_variable("one", 1).load().keep(P(V("one"))))
    assert "gave one value for a batch" in str(error.__cause__)


def test_P_in_update_stores_the_values_themselves():
    values = collect(P(R("uniform", 0, 1)))
    assert all(isinstance(v, np.ndarray) for v in values), [type(v).__name__ for v in values]
    assert [v.shape for v in values] == [(4,), (4,), (2,)]


# --- F ------------------------------------------------------------------------------------------
def pair(a, b=0, *, c=0):
    return (a, b, c)


def test_F_calls_with_evaluated_arguments():
    ppl = make_dataset().p.init_variable("n", 5)
    assert collect(F(pair)(B("size"), V("n"), c=C("k", default=1)), ppl) == [(4, 5, 1), (4, 5, 1), (2, 5, 1)]
    assert collect(F(pair, B("size"), b=2)) == [(4, 2, 0), (4, 2, 0), (2, 2, 0)]
    assert collect(F(lambda: "called")) == ["called"] * 3
    assert collect(F(len)(B("labels")) * 10) == [40, 40, 20]
    assert collect(F(sum)([B("size"), V("n")]), ppl) == [9, 9, 7]


def test_F_of_something_not_callable_is_an_error():
    with pytest.raises(TypeError, match="not callable"):
        F(42)


# --- I ------------------------------------------------------------------------------------------
def test_I_counts_iterations_from_1_as_batchflow_does():
    assert collect(I()) == [1, 2, 3]
    assert collect(I("current")) == [1, 2, 3]
    assert collect(I("max")) == [3, 3, 3]
    assert collect(I("ratio")) == pytest.approx([1 / 3, 2 / 3, 1])
    assert collect(I("max"), n_epochs=2) == [6] * 6
    assert collect(I("current"), n_iters=5) == [1, 2, 3, 4, 5]
    assert collect(I("max"), n_iters=5) == [5] * 5


def test_I_short_modes_are_batchflows():
    assert collect(I("c")) == [1, 2, 3]
    assert collect(I("m")) == [3, 3, 3]
    assert collect(I("r")) == pytest.approx([1 / 3, 2 / 3, 1])


def test_I_in_an_endless_stream():
    ppl = make_dataset().p.load().keep(I("current")).echo(I("max"), save_to=B("max"))
    got = [ppl.next_batch(4) for _ in range(5)]
    assert [b.kept for b in got] == [1, 2, 3, 4, 5]
    assert all(b.max == ((None,), {}) for b in got)
    ratio = make_dataset().p.load().keep(I("ratio"))
    with pytest.raises(ActionError) as caught:
        ratio.next_batch(4)
    assert isinstance(caught.value.__cause__, ExpressionError)
    assert isinstance(caught.value.__cause__, ValueError)  # as BatchFlow's error is


def test_I_with_a_bad_mode_is_an_error():
    with pytest.raises(ValueError, match="mode"):
        I("total")


# --- D ------------------------------------------------------------------------------------------
def test_D_reads_dataset_attributes():
    ds = make_dataset()
    ds.split(0.7)
    ds.train.note = "hello"
    assert collect(D("size"), ds.p) == [10] * 3
    assert collect(D("size"), ds.train.p) == [7, 7]
    assert collect(D("note"), ds.train.p) == ["hello", "hello"]
    error = run_error(ds.p.load().keep(D("nope")))
    assert error.action == "keep #1"
    assert isinstance(error.__cause__, AttributeError)


# --- building expressions --------------------------------------------------------------------
M = np.array([[1, 2], [3, 4]])

ARITHMETIC = [
    (lambda: V("a") + V("b"), 10),
    (lambda: V("a") + 1, 8),
    (lambda: 1 + V("a"), 8),
    (lambda: V("a") - 2, 5),
    (lambda: 20 - V("a"), 13),
    (lambda: V("a") * 2, 14),
    (lambda: 2 * V("a"), 14),
    (lambda: V("a") / 2, 3.5),
    (lambda: 14 / V("a"), 2.0),
    (lambda: V("a") // 2, 3),
    (lambda: 15 // V("a"), 2),
    (lambda: V("a") % 4, 3),
    (lambda: 15 % V("a"), 1),
    (lambda: V("a") ** 2, 49),
    (lambda: 2 ** V("b"), 8),
    (lambda: -V("a"), -7),
    (lambda: +V("a"), 7),
    (lambda: abs(V("neg")), 5),
    (lambda: abs(V("neg") - V("a")), 12),
    (lambda: (V("a") + V("b")) * (V("a") - V("b")), 40),
    (lambda: V("a") < 8, True),
    (lambda: V("a") <= 7, True),
    (lambda: V("a") > 7, False),
    (lambda: V("a") >= 8, False),
    (lambda: 8 > V("a"), True),  # noqa: SIM300 - the reflected comparison is the point
    (lambda: 7 >= V("a"), True),  # noqa: SIM300 - the reflected comparison is the point
    (lambda: 6 < V("a"), True),  # noqa: SIM300 - the reflected comparison is the point
    (lambda: 3 <= V("b"), True),  # noqa: SIM300 - the reflected comparison is the point
    (lambda: V("a") < V("b"), False),
    (lambda: V("a") & 3, 3),
    (lambda: 1 | V("a"), 7),
]


@pytest.mark.parametrize(("build", "expected"), ARITHMETIC, ids=[f"op{i}" for i in range(len(ARITHMETIC))])
def test_arithmetic_and_comparisons_build_expressions(build, expected):
    expr = build()
    assert not isinstance(expr, (bool, int, float))  # nothing is computed while building
    ppl = make_dataset().p.init_variable("a", 7).init_variable("b", 3).init_variable("neg", -5)
    assert collect(expr, ppl) == [expected] * 3


def test_matmul_both_ways():
    ppl = make_dataset().p.init_variable("m", M)
    for got in collect(V("m") @ V("m"), ppl) + collect([[1, 0], [0, 2]] @ V("m"), ppl):
        assert got.shape == (2, 2)
    np.testing.assert_array_equal(collect(V("m") @ V("m"), ppl)[0], M @ M)
    np.testing.assert_array_equal(collect([[1, 0], [0, 2]] @ V("m"), ppl)[0], [[1, 2], [6, 8]])


def test_arithmetic_with_batch_data():
    ppl = make_dataset().p.init_variable("n", 1)
    assert collect(V("n") + B("size"), ppl) == [5, 5, 3]
    got = collect(B("labels") - 100 + V("n"), ppl)
    assert got[2].tolist() == [9, 10]


def test_numpy_operands_on_the_left_build_expressions_too():
    ppl = make_dataset().p.init_variable("a", 7)
    got = collect(np.arange(3) * V("a"), ppl)
    np.testing.assert_array_equal(got[0], [0, 7, 14])
    assert collect(np.float64(2.0) * V("a"), ppl) == [14.0] * 3


def test_indexing_attributes_and_method_calls_build_expressions():
    ppl = make_dataset().p.init_variable("i", 1).init_variable("d", {"k": {"j": "deep"}}) \
        .init_variable("obj", SimpleNamespace(attr=SimpleNamespace(value=3)))
    assert collect(B("images").shape[0], ppl) == [4, 4, 2]
    assert [x.tolist() for x in collect(B("images")[0], ppl)] == [[0, 0, 0], [4, 4, 4], [8, 8, 8]]
    assert collect(B("labels")[V("i")], ppl) == [101, 105, 109]
    assert collect(V("d")["k"]["j"], ppl) == ["deep"] * 3
    assert collect(V("obj").attr.value * 2, ppl) == [6] * 3
    assert collect(B("images").mean(), ppl) == pytest.approx([1.5, 5.5, 8.5])
    clipped = collect(B("labels").clip(V("i") + 100, 105), ppl)
    assert [x.tolist() for x in clipped] == [[101, 101, 102, 103], [104, 105, 105, 105], [105, 105]]
    assert collect(B("images").reshape(-1).shape, ppl) == [(12,), (12,), (6,)]
    assert collect(B("labels").sum(axis=0) - 400, ppl) == [6, 22, -183]


def test_expressions_nested_in_lists_dicts_and_tuples_of_action_arguments():
    Point = namedtuple("Point", "x y")
    ppl = make_dataset().p.init_variable("a", 7).init_variable("b", 3)
    calls = echoed([V("a"), {"k": B("size"), "l": [V("b") + 1]}], Point(V("a"), 1),
                   opt={"x": (V("a"), 2), "plain": "text"}, ppl=ppl)
    assert calls[0] == (([7, {"k": 4, "l": [4]}], Point(7, 1)), {"opt": {"x": (7, 2), "plain": "text"}})
    assert calls[2][0][0][1]["k"] == 2
    assert type(calls[0][0][1]) is Point


def test_expressions_are_evaluated_per_batch_not_once():
    calls = echoed(B("size"), size=I() * 10)
    assert calls == [((4,), {"size": 10}), ((4,), {"size": 20}), ((2,), {"size": 30})]


def test_a_template_pipeline_evaluates_against_whichever_dataset_it_is_bound_to():
    template = Pipeline().init_variable("out", list).load().update(V("out", mode="a"), D("size") + B("size"))
    assert (make_dataset(6) >> template).run(4).v("out") == [10, 8]
    assert (template << make_dataset(3)).run(4).v("out") == [6]


def test_an_error_inside_an_operator_is_an_action_error_with_the_original_cause():
    ppl = make_dataset().p.init_variable("zero", 0).load().keep(1 // V("zero"))
    error = run_error(ppl)
    assert error.action == "keep #1" and "ZeroDivisionError" in str(error)
    assert isinstance(error.__cause__, ZeroDivisionError)


def test_operator_module_functions_through_F():
    assert collect(F(operator.eq)(B("size"), 4)) == [True, True, False]


def test_every_R_inside_P_draws_one_value_per_item():
    ppl = make_dataset().p.load().keep([P(R("uniform", 0, 1, seed=3) < 0.5), P(R("normal", size=2) * 10)])
    batches = list(ppl.gen_batch(4))
    coins, pairs = batches[0].kept
    assert coins.shape == (4,) and coins.dtype == bool
    assert pairs.shape == (4, 2)
    expected = np.random.default_rng(3).uniform(0, 1, size=4) < 0.5
    assert coins.tolist() == expected.tolist()


# --- BatchFlow's spellings: B.name, C as a target, L, PP ----------------------------------------------
def test_B_attribute_is_B_of_that_name():
    assert repr(B.images) == "B('images')" and isinstance(B.size, B)
    assert collect(B.size) == [4, 4, 2]
    assert collect(B.labels[0]) == [100, 104, 108]
    with pytest.raises(AttributeError):
        B._private  # noqa: B018 - the access is the test


def test_C_as_a_target_sets_the_config():
    ppl = make_dataset().p.load().update(C("model/seen"), B("size"))
    ppl.run(4)
    assert ppl.config["model/seen"] == 2


class Thing:
    """An item with attributes, a dict and a method, for L."""

    def __init__(self, value):
        self.value, self.table, self.calls = value, {"a": value}, []

    def record(self, *args, **kwargs):
        self.calls.append((args, kwargs))
        return len(self.calls)


def things_pipeline(n: int = 3) -> Pipeline:
    return Dataset(n).p.add_components("things", [Thing(i) for i in range(n)]).add_components("twins", [None] * n)


def test_L_reads_and_writes_attributes_keys_and_items_of_each_item():
    batch = (things_pipeline()
             .update(L("twins"), L("things"))
             .update(L("things").value, L("things").table["a"] * 1)  # an item-wise value, per item
             .update(L("things").table["b"], [10, 11, 12])  # one value per item
             .update(L("things").table["c"], "same")  # one value for all
             .add_components("k", "a")
             .update(L("things").table["d"], L("things").table[B("k")])  # a key from a batch expression
             ).next_batch(3)
    assert [t is s for t, s in zip(batch.twins, batch.things)] == [True] * 3
    assert [t.table for t in batch.things] == [{"a": i, "b": 10 + i, "c": "same", "d": i} for i in range(3)]


def test_L_calls_a_method_of_each_item_with_shared_and_per_item_arguments():
    ppl = (things_pipeline().init_variable("counts", list)
           .add_components("n", 5)
           .update(V("counts", mode="e"), L("things").record(1, B("n"), key=L("things").value)))
    batch = ppl.next_batch(3)
    assert [t.calls for t in batch.things] == [[((1, 5), {"key": i})] for i in range(3)]
    assert ppl.v("counts") == [1, 1, 1]


def test_L_of_a_missing_or_empty_component_is_a_clear_error():
    with pytest.raises(ActionError, match="L\\('nothing'\\): batch class Batch has no component"):
        Dataset(3).p.do_nothing(L("nothing").x).next_batch(3)
    with pytest.raises(ActionError, match="component 'twins' is empty"):
        Dataset(3).p.add_components("twins").do_nothing(L("twins").x).next_batch(3)


def test_PP_evaluates_once_per_item_where_P_evaluates_once():
    draws = make_dataset().p.load().per_item(value=PP(R("integers", 0, 10**9, seed=3))).next_batch(4).got
    expected = np.random.default_rng(3).integers(0, 10**9, size=4)  # four separate draws of one
    assert list(draws.values()) == expected.tolist()
    counter = iter(range(100))
    calls = make_dataset().p.load().per_item(value=PP(F(lambda: next(counter)))).next_batch(4).got
    assert list(calls.values()) == [0, 1, 2, 3]
    whole = echoed(PP(F(lambda: 7)))  # an action that is not in-batch-parallel gets the whole list
    assert whole[0] == (([7, 7, 7, 7],), {})
