"""Pipelines: laziness, immutability, variables, results, and errors before and during a run."""

from __future__ import annotations

import numpy as np
import pytest
from flowbatches import ArrayBatch, make_dataset

from tuiflow import (
    ActionArgumentError,
    ActionError,
    ActionNotFoundError,
    B,
    C,
    FlowError,
    I,
    Pipeline,
    V,
    register_action,
    save_data_to,
)
from tuiflow.flow.actions import unregister_action
from tuiflow.flow.steps import register_pipeline_action


def test_building_runs_nothing_and_every_call_returns_a_new_pipeline():
    calls = []
    base = Pipeline().load()
    longer = base.call(lambda batch: calls.append(len(batch))).scale(factor=3)
    assert calls == []
    assert len(base) == 1 and len(longer) == 3
    assert base is not longer
    assert [s.name for s in longer.steps] == ["load", "<lambda>", "scale"]
    (make_dataset(10) >> base).run(5)
    assert calls == []  # running the shorter pipeline does not run the longer one's steps


def test_run_processes_every_batch_in_index_order():
    ds = make_dataset(10)
    ppl = ds.p.load().scale(factor=10).shift(by=1)
    batches = list(ppl.gen_batch(4))
    assert [len(b) for b in batches] == [4, 4, 2]
    assert np.concatenate([b.x for b in batches]).tolist() == [i * 10 + 1 for i in range(10)]
    assert all(isinstance(b, ArrayBatch) for b in batches)


def test_run_returns_the_pipeline_and_defaults_to_one_epoch():
    ppl = make_dataset(10).p.init_variable("n", 0).load().update(V("n"), V("n") + B("size"))
    assert ppl.run(3) is ppl
    assert ppl.v("n") == 10
    ppl.run(3, n_epochs=3)
    assert ppl.v("n") == 30  # variables start again from their default at each run
    ppl.run(3, n_iters=2)
    assert ppl.v("n") == 6


def test_concatenation_and_config_merge():
    first = Pipeline().load().scale(factor=C("f")) << {"f": 2, "keep": 1}
    second = Pipeline().shift(by=C("b")) << {"b": 5, "f": 3}
    joined = first + second
    assert [s.name for s in joined.steps] == ["load", "scale", "shift"]
    assert joined.config["f"] == 3 and joined.config["keep"] == 1
    (batch,) = list((make_dataset(4) >> joined).gen_batch(4))
    assert batch.x.tolist() == [5.0, 8.0, 11.0, 14.0]


def test_dataset_binding_shares_variables_with_the_template_but_new_steps_do_not():
    template = Pipeline().init_variable("n", 0).load().update(V("n"), V("n") + B("size"))
    ds = make_dataset(12)
    ds.split(0.75)
    (ds.train >> template).run(4)
    assert template.v("n") == 9
    (template << ds.test).run(4)
    assert template.v("n") == 3
    extended = template.scale()
    with pytest.raises(FlowError, match="no dataset"):
        extended.run(4)
    (ds >> extended).run(4)
    assert extended.v("n") == 12 and template.v("n") == 3


def test_variables_append_extend_and_save_to():
    ppl = (make_dataset(9).p
           .init_variable("sizes", list)
           .init_variable("firsts", [])
           .init_variable("all", [])
           .load()
           .update(V("sizes", mode="a"), B("size"))
           .update(V("firsts", mode="a"), B("x")[0])
           .update(V("all", mode="e"), B("y"))
           .total(save_to=V("totals", mode="a"))
           .total(save_to=B("my_total")))
    batches = list(ppl.gen_batch(4))
    assert ppl.v("sizes") == [4, 4, 1]
    assert ppl.v("firsts") == [0.0, 4.0, 8.0]
    assert ppl.v("all") == [i % 3 for i in range(9)]
    assert ppl.v("totals") == [6.0, 22.0, 8.0]
    assert [b.my_total for b in batches] == [6.0, 22.0, 8.0]
    assert set(ppl.variables) == {"sizes", "firsts", "all", "totals"}
    ppl.run(9)
    assert ppl.v("sizes") == [9]  # a mutable default is copied per run, never shared


def test_set_variable_from_outside():
    ppl = make_dataset(4).p.init_variable("k", 1).load().update(V("seen", mode="a"), V("k"))
    gen = ppl.gen_batch(1)
    next(gen)
    ppl.set_variable("k", 7)
    list(gen)
    assert ppl.v("seen") == [1, 7, 7, 7]


def test_an_action_may_return_a_new_batch():
    (batch,) = list(make_dataset(3).p.load().replace().gen_batch(3))
    assert batch.x.tolist() == [1000.0, 1001.0, 1002.0]


def test_registered_function_action_and_call():
    @register_action
    def double_y(batch, times=2):
        batch.y = batch.y * times
        return batch

    try:
        seen = []
        ppl = make_dataset(6).p.load().double_y(times=C("t")).call(lambda b, tag: seen.append((tag, len(b))), "t")
        (batch,) = list((ppl << {"t": 3}).gen_batch(6))
        assert batch.y.tolist() == [0, 3, 6, 0, 3, 6]
        assert seen == [("t", 6)]
    finally:
        unregister_action("double_y")


def test_pipeline_action_gets_the_context():
    def count_items(ctx, key):
        ctx.state.models[key] = ctx.state.models.get(key, 0) + len(ctx.batch)
        return ctx.state.models[key]

    register_pipeline_action("count_items", count_items)
    ppl = make_dataset(10).p.load().count_items("n", save_to=V("running", mode="a"))
    ppl.run(4)
    assert ppl.models["n"] == 10
    assert ppl.v("running") == [4, 8, 10]


def test_run_later_remembers_arguments():
    ppl = make_dataset(10).p.init_variable("n", 0).load().update(V("n"), V("n") + 1).run_later(3, n_epochs=2)
    ppl.run()
    assert ppl.v("n") == 8
    with pytest.raises(FlowError, match="batch_size"):
        make_dataset(3).p.load().run()


def test_next_batch_continues_and_resets():
    ppl = make_dataset(10).p.load()
    firsts = [ppl.next_batch(4).x[0] for _ in range(5)]
    assert firsts == [0.0, 4.0, 8.0, 0.0, 4.0]  # endless stream across epochs
    ppl.reset()
    assert ppl.next_batch(4).x[0] == 0.0
    assert ppl.next_batch(4, n_iters=1).x[0] == 0.0  # other arguments start a new stream
    with pytest.raises(StopIteration):
        ppl.next_batch(4, n_iters=1)


# --- errors before the first batch ---------------------------------------------------------------
def _counting(ds):
    made = []
    original = ds._batch_at

    def batch_at(positions, run=None):
        made.append(len(positions))
        return original(positions, run)

    ds._batch_at = batch_at
    return made


def test_unknown_action_fails_before_the_first_batch_with_a_suggestion():
    ds = make_dataset(10)
    made = _counting(ds)
    ppl = ds.p.load().scael(factor=2)
    with pytest.raises(ActionNotFoundError) as info:
        ppl.run(5)
    assert str(info.value) == "batch class ArrayBatch has no action 'scael' (did you mean 'scale'?)"
    assert made == []
    with pytest.raises(ActionNotFoundError, match="'not_an_action' is a member of batch class ArrayBatch but "
                                                  "not an action"):
        ds.p.load().not_an_action().run(5)
    with pytest.raises(ActionNotFoundError):
        next(ds.p.frobnicate().gen_batch(5))
    assert made == []


@pytest.mark.parametrize(("build", "fragment"), [
    (lambda p: p.scale(factr=2), "unexpected keyword argument 'factr'"),
    (lambda p: p.shift(), "missing a required argument: 'by'"),
    (lambda p: p.shift(1, 2), "too many positional arguments"),
    (lambda p: p.add_item_threads(1, 2), "too many positional arguments"),
    (lambda p: p.call(lambda batch: batch, 5), "too many positional arguments"),
])
def test_wrong_arguments_fail_before_the_first_batch(build, fragment):
    ds = make_dataset(10)
    made = _counting(ds)
    with pytest.raises(ActionArgumentError) as info:
        build(ds.p.load()).run(5)
    assert "ArrayBatch" in str(info.value) and fragment in str(info.value)
    assert made == []


def test_parallel_action_signature_is_checked_without_the_item_argument():
    ds = make_dataset(4)
    (ds.p.load().add_item_threads(value=1)).run(4)
    with pytest.raises(ActionArgumentError, match=r"signature: add_item_threads\(value\)"):
        ds.p.load().add_item_threads(valu=1).run(4)


def test_bad_run_arguments_are_clear_errors():
    ppl = make_dataset(10).p.load()
    with pytest.raises(FlowError, match="prefetch"):
        ppl.run(4, prefetch=-1)
    with pytest.raises(FlowError, match="not both"):
        ppl.run(4, n_epochs=1, n_iters=3)
    with pytest.raises(FlowError, match="batch_size"):
        ppl.run(0)


# --- errors during a run --------------------------------------------------------------------------
def test_an_exception_in_an_action_names_the_action_and_the_batch_and_stops_the_run():
    ppl = make_dataset(20).p.init_variable("done", 0).load().scale(factor=1).fail_on(13) \
        .update(V("done"), V("done") + 1)
    with pytest.raises(ActionError) as info:
        ppl.run(5)
    error = info.value
    assert str(error) == "action 'fail_on #1' failed on batch 2 (epoch 0): ValueError: found 13"
    assert error.action == "fail_on #1" and error.batch_number == 2
    assert isinstance(error.__cause__, ValueError)
    assert ppl.v("done") == 2  # batches after the failing one never ran


def test_a_value_returned_without_save_to_is_an_error():
    with pytest.raises(ActionError, match=r"returned int, not a batch.*save_to"):
        make_dataset(4).p.load().returns_number().run(4)


def test_errors_of_expressions_name_the_action():
    with pytest.raises(ActionError, match=r"'shift #1'.*V\('nope'\).*init_variable"):
        make_dataset(4).p.load().shift(by=V("nope")).run(4)
    with pytest.raises(ActionError, match=r"C\('missing'\)"):
        make_dataset(4).p.load().shift(by=C("missing")).run(4)


def test_a_run_keeps_no_more_than_the_current_batch_alive():
    # Batches are made a chunk at a time; the chunk must not hold on to the batches it handed on
    # (with big images, 32 of them would be gigabytes).
    import gc
    import weakref

    alive = []

    def track(batch):
        alive.append(weakref.ref(batch))
        gc.collect()
        live = [ref for ref in alive if ref() is not None]
        assert len(live) <= 2, f"{len(live)} batches alive at batch {len(alive)}"
        return batch

    make_dataset(100).p.load().call(track).run(2)
    assert len(alive) == 50


# --- BatchFlow's pipeline API ----------------------------------------------------------------------
def test_run_lazy_is_run_later_and_next_batch_without_arguments_uses_it():
    ppl = make_dataset(10).p.load().scale(factor=10).run(4, lazy=True)
    assert ppl.next_batch().x.tolist() == [0.0, 10.0, 20.0, 30.0]
    assert ppl.next_batch().x.tolist() == [40.0, 50.0, 60.0, 70.0]
    with pytest.raises(FlowError, match="needs batch_size"):
        make_dataset(10).p.load().next_batch()
    with pytest.raises(FlowError, match="notifier"):
        make_dataset(10).p.run(4, notifier="tqdm")


def test_v_of_a_declared_variable_before_any_run_is_its_default():
    ppl = make_dataset(10).p.init_variable("seen", list).init_variable("n", 3).load()
    assert ppl.v("seen") == [] and ppl.v("n") == 3
    with pytest.raises(FlowError, match="no variable 'other'"):
        ppl.v("other")


def test_reset_vars_sets_variables_back_and_reset_checks_what():
    ppl = make_dataset(10).p.init_variable("total", 0).load().update(V("total"), V("total") + B("size"))
    ppl.next_batch(4)
    assert ppl.v("total") == 4
    ppl.reset("vars")
    assert ppl.v("total") == 0
    assert ppl.next_batch(4).x.tolist() == [4.0, 5.0, 6.0, 7.0]  # the stream goes on: only "iter" ends it
    ppl.reset("all")
    assert ppl.next_batch(4).x.tolist() == [0.0, 1.0, 2.0, 3.0]
    with pytest.raises(FlowError, match="'iter', 'vars' or 'all'"):
        ppl.reset("models")


def test_set_config_merges_or_replaces():
    ppl = make_dataset(10).p.load().shift(by=C("by"))
    ppl.set_config({"by": 1, "model": {"lr": 0.1}})
    ppl.set_config({"model/depth": 2})
    assert ppl.config == {"by": 1, "model": {"lr": 0.1, "depth": 2}}
    assert ppl.next_batch(4).x.tolist() == [1.0, 2.0, 3.0, 4.0]
    ppl.set_config({"by": 5}, clear=True)
    assert ppl.config == {"by": 5}


def test_add_namespace_calls_its_functions_without_the_batch():
    ppl = (make_dataset(10).p.init_variable("means", list).load()
           .add_namespace(np).mean(B("x"), save_to=V("means", mode="a")))
    ppl.run(5)
    assert ppl.v("means") == [2.0, 7.0]
    with pytest.raises(ActionNotFoundError, match="no action 'not_in_numpy'"):
        make_dataset(10).p.add_namespace(np).not_in_numpy().run(5)
    # a batch class's own action comes first
    assert make_dataset(4).p.load().add_namespace(np).scale(factor=3).next_batch(4).x.tolist() == [0, 3, 6, 9]


def test_a_run_shuffled_with_a_seed_repeats_its_batch_random_and_draws():
    def draws():
        batch = make_dataset(10).p.load().next_batch(4, shuffle=42)
        return batch.x.tolist(), batch.random.random()

    assert draws() == draws()
    other = make_dataset(10).p.load().next_batch(4, shuffle=42, seed=1).random.random()
    assert other != draws()[1]


def test_save_data_to_arrays_variables_config_and_batches():
    ppl = make_dataset(10).p.init_variable("v").load()
    array = np.zeros(3)
    save_data_to([1, 2, 3], array)
    assert array.tolist() == [1, 2, 3]
    save_data_to([[4, 5, 6], 200, 7], [array, C("value"), V("v")], pipeline=ppl)
    assert array.tolist() == [4, 5, 6] and ppl.config["value"] == 200 and ppl.v("v") == 7
    batch = make_dataset(10).create_batch([0, 1]).load()
    save_data_to(np.ones(2), B("y"), batch=batch)
    assert batch.y.tolist() == [1.0, 1.0]
    with pytest.raises(FlowError, match="needs pipeline="):
        save_data_to(1, V("v"))
    with pytest.raises(ValueError, match="2 destinations"):
        save_data_to(1, [array, C("x")], pipeline=ppl)
    with pytest.raises(TypeError, match="must be B"):
        save_data_to(1, "somewhere")


def test_do_nothing_and_add_components():
    ppl = make_dataset(4).p.load().do_nothing(B("x")).add_components(("masks", "weights"), (np.ones(4), 2))
    batch = ppl.next_batch(4)
    assert batch.components == ("x", "y", "masks", "weights") and type(batch).components == ("x", "y")
    assert batch.masks.tolist() == [1, 1, 1, 1] and batch.weights == 2
    assert batch.data["weights"] == 2
    with pytest.raises(ActionError, match="already has the component 'x'"):
        make_dataset(4).p.load().add_components("x").next_batch(4)
    with pytest.raises(ActionError, match="2 names and 1 values"):
        make_dataset(4).p.add_components(("a", "b"), (1,)).next_batch(4)


def test_rebatch_cuts_the_stream_anew_across_batches():
    sizes = {"before": [], "after": []}
    ppl = (make_dataset(60).p.load()
           .call(lambda batch: sizes["before"].append(len(batch)))
           .rebatch(13)
           .call(lambda batch: sizes["after"].append(len(batch)))
           .shift(by=1000))
    batches = list(ppl.gen_batch(17))
    assert sizes == {"before": [17, 17, 17, 9], "after": [13, 13, 13, 13, 8]}
    assert np.concatenate([b.x for b in batches]).tolist() == [1000.0 + i for i in range(60)]
    assert batches[1].indices.tolist() == list(range(13, 26))
    assert [len(b) for b in make_dataset(60).p.load().rebatch(30).gen_batch(7, n_epochs=2)] == [30, 30, 30, 30]


def test_rebatch_counts_batches_anew_and_is_profiled():
    ppl = (make_dataset(20).p.init_variable("iters", list).init_variable("max", list).load().rebatch(8)
           .update(V("iters", mode="a"), I()).update(V("max", mode="a"), I("max")))
    ppl.run(5, profile=True)
    assert ppl.v("iters") == [1, 2, 3] and ppl.v("max") == [None] * 3
    assert [(row["action"], row["calls"]) for row in ppl.profile_info] == [
        ("load #1", 4), ("rebatch #1", 3), ("update #1", 3), ("update #2", 3)]


def test_rebatch_checks_its_size_and_names_itself_when_merging_fails():
    with pytest.raises(FlowError, match="batch_size must be a whole number"):
        Pipeline().rebatch(0)
    ppl = make_dataset(10).p.load().call(lambda batch: setattr(batch, "y", None) if batch.x[0] else None).rebatch(8)
    with pytest.raises(ActionError, match=r"rebatch #1.*'y' is empty"):
        ppl.run(4)
