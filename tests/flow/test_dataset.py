"""Datasets and batches: splitting, batching, binding pipelines, and loading the right rows."""

from __future__ import annotations

import numpy as np
import pytest

from tuiflow.flow import B, Batch, C, Dataset, DatasetIndex, F, FilesIndex, FlowError, Pipeline, V, action

N = 20


class PairBatch(Batch):
    """Images and labels."""

    components = ("images", "labels")

    @action
    def double(self):
        self.labels = self.labels * 2
        return self


def images_and_labels(n: int = N) -> tuple[np.ndarray, np.ndarray]:
    """Rows that tell which item they belong to: image i is filled with i, label i is 100 + i."""
    images = np.arange(n, dtype=float)[:, None, None] * np.ones((1, 2, 3))
    labels = 100 + np.arange(n)
    return images, labels


def check_rows(batch, images: np.ndarray, labels: np.ndarray) -> None:
    """The batch holds the rows of its items (by their positions in the root index)."""
    rows = batch.index.root_positions
    np.testing.assert_array_equal(batch.images, images[rows])
    np.testing.assert_array_equal(batch.labels, labels[rows])


# --- construction -----------------------------------------------------------------------------
def test_dataset_from_a_number_an_array_or_an_index():
    assert len(Dataset(7)) == 7 and Dataset(7).size == 7
    np.testing.assert_array_equal(Dataset(7).indices, np.arange(7))
    by_ids = Dataset(np.array(["x", "y", "z"]))
    assert by_ids.indices.tolist() == ["x", "y", "z"]
    index = DatasetIndex(5)
    ds = Dataset(index)
    assert ds.index is index
    assert ds.batch_class is Batch and ds.preloaded is None


def test_batch_class_must_be_a_batch_subclass():
    with pytest.raises(FlowError, match="batch_class"):
        Dataset(5, batch_class=dict)
    with pytest.raises(FlowError, match="batch_class"):
        Dataset(5, batch_class=PairBatch(DatasetIndex(1)))


@pytest.mark.parametrize(
    ("preloaded", "component"),
    [
        (np.zeros(9), "0"),
        ((np.zeros(10), np.zeros(11)), "1"),
        ({"images": np.zeros(10), "labels": np.zeros(3)}, "'labels'"),
    ],
)
def test_preloaded_of_the_wrong_length_is_a_clear_error(preloaded, component):
    with pytest.raises(FlowError) as caught:
        Dataset(10, batch_class=PairBatch, preloaded=preloaded)
    message = str(caught.value)
    assert component in message and "10" in message
    assert any(str(n) in message for n in (9, 11, 3))


# --- split ------------------------------------------------------------------------------------
def test_split_gives_train_and_test_datasets_sharing_class_and_data():
    images, labels = images_and_labels()
    ds = Dataset(N, batch_class=PairBatch, preloaded=(images, labels))
    ds.split(0.75)
    assert isinstance(ds.train, Dataset) and isinstance(ds.test, Dataset)
    assert (len(ds.train), len(ds.test), ds.validation) == (15, 5, None)
    for part in (ds.train, ds.test):
        assert part.batch_class is PairBatch
        assert part.preloaded is ds.preloaded
    assert ds.train.index is ds.index.train


def test_split_with_two_shares_gives_a_validation_dataset():
    ds = Dataset(N)
    ds.split((0.5, 0.25), shuffle=1)
    assert (len(ds.train), len(ds.test), len(ds.validation)) == (10, 5, 5)
    ids = np.concatenate([ds.train.indices, ds.test.indices, ds.validation.indices])
    assert sorted(ids.tolist()) == list(range(N))


def test_split_of_a_dataset_subclass_keeps_the_subclass():
    class MyDataset(Dataset):
        pass

    ds = MyDataset(N)
    ds.split((0.6, 0.2))
    assert type(ds.train) is MyDataset
    assert type(ds.test) is MyDataset
    assert type(ds.validation) is MyDataset


# --- batches without a pipeline -----------------------------------------------------------------
def test_gen_batch_is_one_epoch_of_batches_of_the_batch_class():
    images, labels = images_and_labels()
    ds = Dataset(N, batch_class=PairBatch, preloaded=(images, labels))
    batches = list(ds.gen_batch(6))
    assert [len(b) for b in batches] == [6, 6, 6, 2]
    assert all(type(b) is PairBatch and b.dataset is ds for b in batches)
    assert np.concatenate([b.indices for b in batches]).tolist() == list(range(N))
    assert [len(b) for b in ds.gen_batch(6, n_epochs=2, drop_last=True)] == [6] * 6
    assert len(list(ds.gen_batch(6, n_iters=9))) == 9


def test_next_batch_is_a_stream_across_calls():
    images, labels = images_and_labels()
    ds = Dataset(N, batch_class=PairBatch, preloaded=(images, labels))
    got = [ds.next_batch(8) for _ in range(5)]
    assert [b.indices.tolist()[0] for b in got] == [0, 8, 16, 0, 8]
    assert all(type(b) is PairBatch for b in got)
    check_rows(got[2].load(), images, labels)
    ds.index.reset_iter()
    assert [len(ds.next_batch(8, n_epochs=1)) for _ in range(3)] == [8, 8, 4]
    with pytest.raises(StopIteration):
        ds.next_batch(8, n_epochs=1)


def test_batch_basics():
    images, labels = images_and_labels()
    ds = Dataset(np.array([f"id{i}" for i in range(N)]), batch_class=PairBatch, preloaded=(images, labels))
    batch = next(ds.gen_batch(5))
    assert PairBatch.components == ("images", "labels")
    assert batch.images is None and batch.labels is None  # declared, not loaded yet
    assert len(batch) == 5 and batch.size == 5
    assert batch.indices.tolist() == ["id0", "id1", "id2", "id3", "id4"]
    assert batch.get_pos("id3") == 3
    batch.load()
    assert set(batch.data) == {"images", "labels"}
    np.testing.assert_array_equal(batch.data["labels"], labels[:5])
    assert batch.data["images"] is batch.images


def test_a_string_component_becomes_a_tuple():
    class One(Batch):
        components = "values"

    assert One.components == ("values",)


# --- load ---------------------------------------------------------------------------------------
@pytest.fixture
def arrays():
    return images_and_labels()


def test_load_from_a_preloaded_tuple_fills_components_in_order(arrays):
    images, labels = arrays
    ds = Dataset(N, batch_class=PairBatch, preloaded=(images, labels))
    for batch in ds.gen_batch(7):
        check_rows(batch.load(), images, labels)


def test_load_from_a_preloaded_array_fills_the_first_component(arrays):
    images, _ = arrays
    ds = Dataset(N, batch_class=PairBatch, preloaded=images)
    batch = next(ds.gen_batch(4, shuffle=2)).load()
    np.testing.assert_array_equal(batch.images, images[batch.index.root_positions])
    assert batch.labels is None


def test_load_from_a_preloaded_dict_fills_components_by_name(arrays):
    images, labels = arrays
    ds = Dataset(N, batch_class=PairBatch, preloaded={"labels": labels, "images": images})
    batch = next(ds.gen_batch(4, shuffle=5)).load()
    check_rows(batch, images, labels)


def test_load_from_preloaded_with_dst(arrays):
    images, labels = arrays
    ds = Dataset(N, batch_class=PairBatch, preloaded=(labels, images))
    batch = next(ds.gen_batch(6)).load(dst=("labels", "images"))
    check_rows(batch, images, labels)
    ds = Dataset(N, batch_class=PairBatch, preloaded={"images": images, "labels": labels})
    batch = next(ds.gen_batch(6)).load(dst="labels")
    np.testing.assert_array_equal(batch.labels, labels[:6])
    assert batch.images is None
    ds = Dataset(N, batch_class=PairBatch, preloaded=labels)
    batch = next(ds.gen_batch(6)).load(dst="labels")
    np.testing.assert_array_equal(batch.labels, labels[:6])
    assert batch.images is None


def test_load_from_src_array_tuple_and_dict(arrays):
    images, labels = arrays
    ds = Dataset(N, batch_class=PairBatch)
    batch = list(ds.gen_batch(6))[1]
    batch.load(src=(images, labels))
    check_rows(batch, images, labels)
    batch = list(ds.gen_batch(6))[2].load(src={"images": images, "labels": labels})
    check_rows(batch, images, labels)
    batch = next(ds.gen_batch(6)).load(src=labels, dst="labels")
    np.testing.assert_array_equal(batch.labels, labels[:6])
    batch = next(ds.gen_batch(6)).load(src=images)
    np.testing.assert_array_equal(batch.images, images[:6])


def test_load_src_wins_over_preloaded(arrays):
    images, labels = arrays
    ds = Dataset(N, batch_class=PairBatch, preloaded=(images, labels))
    batch = next(ds.gen_batch(3)).load(src=(-images, -labels))
    check_rows(batch, -images, -labels)


def test_load_a_list_source(arrays):
    _, labels = arrays
    words = [f"w{i}" for i in range(N)]
    ds = Dataset(N, batch_class=PairBatch, preloaded=(words, labels))
    batch = next(ds.gen_batch(4, shuffle=1)).load()
    assert list(batch.images) == [words[i] for i in batch.index.root_positions]


def test_load_after_a_shuffled_split_takes_the_root_rows(arrays):
    images, labels = arrays
    ds = Dataset(np.arange(N) * 3 + 1, batch_class=PairBatch, preloaded={"images": images, "labels": labels})
    ds.split((0.5, 0.3), shuffle=7)
    for part in (ds.train, ds.test, ds.validation):
        seen = []
        for batch in part.gen_batch(4, shuffle=3):
            batch.load()
            check_rows(batch, images, labels)
            # and the ids agree with the rows: item id 3*k+1 is row k
            np.testing.assert_array_equal(batch.labels, 100 + (batch.indices - 1) // 3)
            seen.extend(batch.indices.tolist())
        assert sorted(seen) == sorted(part.indices.tolist())
        streamed = part.next_batch(3, shuffle=4).load()
        np.testing.assert_array_equal(streamed.labels, 100 + (streamed.indices - 1) // 3)


def test_load_from_src_after_a_split_takes_the_root_rows(arrays):
    images, labels = arrays
    ds = Dataset(N, batch_class=PairBatch)
    ds.split(0.6, shuffle=3)
    batch = next(ds.test.gen_batch(8)).load(src=(images, labels))
    check_rows(batch, images, labels)
    np.testing.assert_array_equal(batch.labels, 100 + batch.indices)


def test_nested_split_still_loads_the_root_rows(arrays):
    images, labels = arrays
    ds = Dataset(N, batch_class=PairBatch, preloaded=(images, labels))
    ds.split(0.8, shuffle=1)
    ds.train.split(0.5, shuffle=2)
    for batch in ds.train.test.gen_batch(3):
        batch.load()
        np.testing.assert_array_equal(batch.labels, 100 + batch.indices)


def test_a_dataset_over_a_subset_index_loads_rows_aligned_with_that_index():
    # preloaded is aligned with the dataset's own index, whatever that index was split from
    root = DatasetIndex(N)
    root.split(0.5, shuffle=3)
    sub = root.test
    ds = Dataset(sub, batch_class=PairBatch, preloaded=100 + sub.indices)
    for batch in ds.gen_batch(4):
        batch.load()
        np.testing.assert_array_equal(batch.images, 100 + batch.indices)


def test_load_without_src_or_preloaded_is_a_clear_error():
    batch = next(Dataset(5, batch_class=PairBatch).gen_batch(2))
    with pytest.raises(FlowError, match="no src given and the dataset has no preloaded data"):
        batch.load()


def test_load_more_arrays_than_components_asks_for_dst(arrays):
    images, labels = arrays
    batch = next(Dataset(N, batch_class=PairBatch).gen_batch(2))
    with pytest.raises(FlowError, match="dst="):
        batch.load(src=(images, labels, labels))
    batch.load(src=(images, labels, labels), dst=("images", "labels", "extra"))
    np.testing.assert_array_equal(batch.extra, labels[:2])


def test_load_a_dict_without_a_named_dst_is_a_clear_error(arrays):
    _, labels = arrays
    batch = next(Dataset(N, batch_class=PairBatch).gen_batch(2))
    with pytest.raises(FlowError, match="'images'"):
        batch.load(src={"labels": labels}, dst="images")


def test_load_into_a_batch_without_components_needs_dst(arrays):
    _, labels = arrays
    batch = next(Dataset(N).gen_batch(2))
    with pytest.raises(FlowError, match="dst="):
        batch.load(src=labels)
    batch.load(src=labels, dst="values")
    np.testing.assert_array_equal(batch.values, labels[:2])


def test_load_with_more_dst_names_than_arrays_is_an_error(arrays):
    # naming two components for one array must not silently fill only the first
    _, labels = arrays
    batch = next(Dataset(N, batch_class=PairBatch).gen_batch(2))
    with pytest.raises(FlowError):
        batch.load(src=(labels,), dst=("images", "labels"))


def test_load_unknown_fmt_is_an_error():
    batch = next(Dataset(5, batch_class=PairBatch).gen_batch(2))
    with pytest.raises(FlowError, match="fmt 'png'"):
        batch.load(src=np.zeros(5), fmt="png")


def test_dataset_over_files(tmp_path):
    for i in range(6):
        (tmp_path / f"f{i}.txt").write_text(str(i * i))
    index = FilesIndex(path=str(tmp_path / "*.txt"), no_ext=True, sort=True)
    ds = Dataset(index)
    ds.split(0.5, shuffle=1)
    contents = {}
    for batch in ds.train.gen_batch(2):
        for key in batch.indices:
            with open(batch.index.get_fullpath(key)) as f:
                contents[key] = int(f.read())
    assert len(contents) == 3
    assert all(value == int(key[1:]) ** 2 for key, value in contents.items())


# --- pipelines --------------------------------------------------------------------------------
def test_p_is_an_empty_pipeline_bound_to_the_dataset():
    ds = Dataset(N, batch_class=PairBatch)
    ppl = ds.p
    assert isinstance(ppl, Pipeline)
    assert ppl.dataset is ds and len(ppl) == 0
    assert ds.p is not ppl  # a new pipeline each time


def test_dataset_rshift_and_pipeline_lshift_bind_the_dataset(arrays):
    images, labels = arrays
    ds = Dataset(N, batch_class=PairBatch, preloaded=(images, labels))
    template = Pipeline().init_variable("labels", list).load().double().update(V("labels", mode="e"), B("labels"))
    for bound in (ds >> template, template << ds):
        assert isinstance(bound, Pipeline)
        assert bound.dataset is ds
        bound.run(6)
        assert bound.v("labels") == (2 * labels).tolist()
    assert template.dataset is None


def test_pipelines_over_split_datasets_see_only_their_items(arrays):
    images, labels = arrays
    ds = Dataset(N, batch_class=PairBatch, preloaded=(images, labels))
    ds.split(0.7, shuffle=9)
    template = Pipeline().init_variable("ids", list).init_variable("labels", list).load() \
        .update(V("ids", mode="e"), B("indices")).update(V("labels", mode="e"), B("labels"))
    # bound pipelines share the template's variables, so read each run's results right after it
    train = (ds.train >> template).run(4, shuffle=1)
    train_ids, train_labels = train.v("ids"), train.v("labels")
    assert sorted(train_ids) == sorted(ds.train.indices.tolist())
    assert train_labels == [100 + i for i in train_ids]
    test = (template << ds.test).run(4)
    assert test.v("ids") == ds.test.indices.tolist()
    assert set(train_ids).isdisjoint(test.v("ids"))


@pytest.mark.parametrize("shuffle", [False, 3])
def test_loaded_batches_own_their_data_in_order_and_shuffled(shuffle):
    class XY(Batch):
        components = ("x", "y")

    x, y = np.arange(40.0).reshape(20, 2), np.arange(20)
    ds = Dataset(20, batch_class=XY, preloaded=(x, y))
    seen = []
    for batch in ds.p.load().gen_batch(6, shuffle=shuffle):
        assert not np.shares_memory(batch.x, x) and not np.shares_memory(batch.y, y)
        assert batch.x.flags.writeable
        np.testing.assert_array_equal(batch.x, x[batch.indices])
        batch.x *= -1  # a batch may change its data in place; the dataset keeps its own
        seen.extend(batch.indices.tolist())
    assert sorted(seen) == list(range(20))
    np.testing.assert_array_equal(x, np.arange(40.0).reshape(20, 2))


def test_only_in_order_batches_of_a_root_index_are_slices():
    from tuiflow.flow.sampler import BatchPlan

    in_order = list(BatchPlan.make(10, 4).batches())
    assert [run for _, _, run in in_order] == [slice(0, 4), slice(4, 8), slice(8, 10)]
    assert all(p.tolist() == list(range(10))[run] for _, p, run in in_order)
    assert all(run is None for _, _, run in BatchPlan.make(10, 4, shuffle=1).batches())
    ds = Dataset(10)
    assert [b.index.root_slice for b in ds.gen_batch(4)] == [slice(0, 4), slice(4, 8), slice(8, 10)]
    ds.split(0.5)  # a subset's positions in the root are not consecutive in general
    assert all(b.index.root_slice is None for b in ds.train.gen_batch(2))


def _xy_dataset(n=20):
    class XY(Batch):
        components = ("x", "y")

    x, y = np.arange(2.0 * n).reshape(n, 2), np.arange(n)
    return Dataset(n, batch_class=XY, preloaded=(x, y)), x, y


def test_load_copy_false_takes_views_of_in_order_batches_only():
    ds, x, _ = _xy_dataset()
    in_order = list(ds.p.load(copy=False).gen_batch(6))
    assert all(np.shares_memory(b.x, x) for b in in_order)
    shuffled = list(ds.p.load(copy=False).gen_batch(6, shuffle=1))
    assert not any(np.shares_memory(b.x, x) for b in shuffled)  # gathered items are copies anyway
    x.flags.writeable = False  # a memory map, say: batch data stays writable, so it is copied
    frozen = list(ds.p.load(copy=False).gen_batch(6))
    assert all(b.x.flags.writeable and not np.shares_memory(b.x, x) for b in frozen)


def _sharing_seen(template, ds, x, how):
    from tuiflow.flow import register_pipeline_action

    seen = []

    def peek(ctx, name):
        seen.append(np.shares_memory(ctx.batch.x, x))

    register_pipeline_action("peek_reads", peek, reads_batch=True)
    register_pipeline_action("peek_unsure", peek)
    ppl = ds >> template
    if how == "run":
        ppl.run(6)
    else:
        list(ppl.gen_batch(6))
    return seen


@pytest.mark.parametrize(
    ("build", "how", "views"),
    [
        (lambda p: p.load().peek_reads("a"), "run", True),  # only reading steps: views
        (lambda p: p.load().peek_reads("a").peek_reads("b"), "run", True),
        (lambda p: p.load().peek_reads("a"), "gen_batch", False),  # batches reach the caller: copies
        (lambda p: p.load().peek_unsure("a"), "run", False),  # an action that made no promise
        (lambda p: p.load().peek_reads(F(str)(B("x"))), "run", False),  # a call could change the data
        (lambda p: p.load(copy=True).peek_reads("a"), "run", False),  # the user's own choice holds
        (lambda p: p.load().peek_reads("a").update(V("v"), B("x")), "run", False),  # kept in a variable
    ],
)
def test_run_loads_views_only_when_nothing_can_change_or_keep_the_data(build, how, views):
    ds, x, _ = _xy_dataset()
    template = build(Pipeline().init_variable("v"))
    seen = _sharing_seen(template, ds, x, how)
    assert len(seen) in (4, 8) and all(s == views for s in seen)  # 4 batches, one or two peeks each
    np.testing.assert_array_equal(x, np.arange(40.0).reshape(20, 2))


# --- BatchFlow's dataset API ----------------------------------------------------------------------
class OtherBatch(PairBatch):
    """Another batch class, for from_dataset(batch_class=)."""


def test_from_dataset_and_build_index():
    ds = Dataset(100, PairBatch)
    new = Dataset.from_dataset(ds, DatasetIndex(25))
    assert type(new) is Dataset and new.batch_class is PairBatch and len(new) == 25
    assert Dataset.from_dataset(ds, DatasetIndex(5), batch_class=OtherBatch).batch_class is OtherBatch
    assert isinstance(Dataset.build_index(25), DatasetIndex) and len(Dataset.build_index(25)) == 25
    with pytest.raises(FlowError, match="subclass of Batch"):
        Dataset.from_dataset(ds, DatasetIndex(5), batch_class=int)


def test_from_dataset_with_preloaded_data_takes_the_rows_of_the_ids():
    images, labels = images_and_labels()
    ds = Dataset(np.arange(N) * 3 + 1, PairBatch, preloaded=(images, labels))
    new = Dataset.from_dataset(ds, [10, 1])  # rows 3 and 0
    batch = new.next_batch(2).load()
    np.testing.assert_array_equal(batch.labels, [103, 100])


def test_create_subset_takes_ids_and_an_unknown_id_is_an_index_error():
    ds = Dataset(100)
    subset = ds.create_subset(DatasetIndex(25))
    assert np.isin(subset.indices, ds.indices).all() and len(subset) == 25
    with pytest.raises(IndexError, match="200 is not in this index"):
        ds.create_subset(DatasetIndex(np.arange(200, 225)))


def test_create_batch_of_ids_or_positions():
    images, labels = images_and_labels()
    ds = Dataset(np.arange(N) * 3 + 1, PairBatch, preloaded=(images, labels))
    by_ids = ds.create_batch(DatasetIndex([4, 7])).load()
    assert isinstance(by_ids, PairBatch)
    np.testing.assert_array_equal(by_ids.labels, [101, 102])
    by_pos = ds.create_batch([5, 6], pos=True).load()
    np.testing.assert_array_equal(by_pos.labels, [105, 106])


def test_cv_split_makes_folds_reachable_three_ways():
    ds = Dataset(30)
    ds.cv_split(n_splits=3)
    for i in range(3):
        fold = ds.cv(i)
        assert fold is getattr(ds, f"cv{i}")
        assert ds.train.__dict__[f"cv{i}"] is fold.train and ds.test.__dict__[f"cv{i}"] is fold.test
        np.testing.assert_array_equal(fold.test.indices, np.arange(10 * i, 10 * i + 10))
        assert sorted(fold.train.indices.tolist() + fold.test.indices.tolist()) == list(range(30))
    assert not hasattr(ds, "cv3")
    ds.cv_split(n_splits=2)  # a new split removes the folds of the last one
    assert hasattr(ds, "cv1") and not hasattr(ds, "cv2") and not hasattr(ds.train, "cv2")
    with pytest.raises(IndexError, match="fold must be 0 to 1"):
        ds.cv(2)
    with pytest.raises(ValueError, match="n_splits"):
        ds.cv_split(n_splits=1)


def test_cv_split_shuffled_still_covers_each_item_once_per_fold():
    ds = Dataset(10)
    ds.cv_split(n_splits=4, shuffle=5)
    tests = [ds.cv(i).test.indices.tolist() for i in range(4)]
    assert sorted(i for test in tests for i in test) == list(range(10))
    assert [len(t) for t in tests] == [3, 3, 2, 2]


def test_a_pipeline_over_a_fold_chosen_by_the_config():
    ds = Dataset(12)
    ds.cv_split(n_splits=3)
    ppl = (Pipeline().init_variable("ids", list).update(V("ids", mode="e"), B("indices"))) << ds.CV(C("fold")).train
    for fold in range(3):
        ppl.set_config({"fold": fold})
        ppl.run(5)
        assert ppl.v("ids") == [i for i in range(12) if not 4 * fold <= i < 4 * fold + 4]
    with pytest.raises(FlowError, match="gave int, not a Dataset"):
        (Pipeline() << F(len)([1])).run(2)


def test_a_batch_made_by_hand_from_ids_and_data_holds_the_data_at_once():
    images, labels = images_and_labels(4)
    batch = PairBatch(np.array([7, 8, 9, 10]), preloaded=(images, labels))
    assert batch.labels.tolist() == [100, 101, 102, 103] and isinstance(batch.index, DatasetIndex)
    assert PairBatch(DatasetIndex(4), preloaded=(images, labels)).labels is None  # a dataset's batch loads when told


def test_merge_concatenates_batches_and_cuts_at_batch_size():
    images, labels = images_and_labels(6)
    first, second = PairBatch(np.arange(4), preloaded=(images[:4], labels[:4])), PairBatch(
        np.arange(4, 6), preloaded=(images[4:], labels[4:]))
    merged, rest = PairBatch.merge([first, second])
    assert rest is None and merged.labels.tolist() == list(range(100, 106)) and merged.images.shape == (6, 2, 3)
    merged, rest = PairBatch.merge([first, second, None], batch_size=5)
    assert merged.indices.tolist() == [0, 1, 2, 3, 4] and rest.labels.tolist() == [105]
    first.names, second.names = ["a"] * 4, ["b"] * 2
    merged, _ = PairBatch.merge([first, second], components=["names"])
    assert merged.names == ["a"] * 4 + ["b"] * 2 and merged.components == ("names",)
    assert PairBatch.merge([]) == (None, None)
    second.labels = None
    with pytest.raises(FlowError, match="'labels' is empty"):
        PairBatch.merge([first, second])
    with pytest.raises(FlowError, match="batch_size"):
        PairBatch.merge([first], batch_size=0)
