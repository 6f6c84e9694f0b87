"""Indices: DatasetIndex and FilesIndex, their splits and how they are cut into batches."""

from __future__ import annotations

import math
import os

import numpy as np
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from tuiflow.flow import DatasetIndex, FilesIndex, FlowError, make_rng

FAST = settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def ids_of(n: int) -> np.ndarray:
    """Ids that differ from positions, so a mix-up of the two shows."""
    return np.arange(n) * 10 + 7


def index_of(n: int) -> DatasetIndex:
    """An index of ``ids_of(n)``; with no item, the empty index (an empty sequence of ids is an error)."""
    return DatasetIndex(ids_of(n)) if n else DatasetIndex(0)


def take_all(iterator, limit: int = 10_000) -> list:
    out = []
    for item in iterator:
        out.append(item)
        assert len(out) <= limit, "the iterator did not end"
    return out


def drain_next_batch(index, limit: int, **kwargs) -> list:
    out = []
    for _ in range(limit):
        try:
            out.append(index.next_batch(**kwargs))
        except StopIteration:
            return out
    return out


# --- DatasetIndex basics --------------------------------------------------------------------------
def test_index_from_a_number_has_ids_0_to_n():
    index = DatasetIndex(5)
    assert len(index) == 5 and index.size == 5
    np.testing.assert_array_equal(index.indices, np.arange(5))
    np.testing.assert_array_equal(index.root_positions, np.arange(5))
    assert list(index) == [0, 1, 2, 3, 4]


def test_index_from_an_array_keeps_its_ids_in_order():
    index = DatasetIndex(np.array(["c", "a", "b"]))
    assert len(index) == 3
    assert list(index.indices) == ["c", "a", "b"]
    assert index.get_pos("a") == 1
    assert index.get_pos(np.str_("b")) == 2
    assert DatasetIndex([30, 10, 20]).get_pos(np.int64(20)) == 2


def test_index_from_another_index_has_the_same_ids_and_root():
    root = DatasetIndex(ids_of(10))
    root.split(0.5, shuffle=3)
    copy = DatasetIndex(root.train)
    np.testing.assert_array_equal(copy.indices, root.train.indices)
    np.testing.assert_array_equal(copy.root_positions, root.train.root_positions)


def test_get_pos_of_an_unknown_id_names_it():
    with pytest.raises(KeyError, match="99"):
        DatasetIndex(5).get_pos(99)


def test_an_empty_index_is_allowed_and_gives_no_batches():
    index = DatasetIndex(0)
    assert len(index) == 0
    assert list(index.gen_batch(3)) == []
    with pytest.raises(StopIteration):
        index.next_batch(3)


@pytest.mark.parametrize("bad", [-1, np.zeros((2, 2))])
def test_bad_index_arguments_are_clear_errors(bad):
    with pytest.raises(IndexError, match=r"items|one-dimensional"):
        DatasetIndex(bad)


# --- split ------------------------------------------------------------------------------------
def test_split_one_share_gives_train_and_test_in_order():
    index = DatasetIndex(ids_of(10))
    index.split(0.8)
    assert len(index.train) == 8 and len(index.test) == 2
    assert index.validation is None
    np.testing.assert_array_equal(index.train.indices, ids_of(10)[:8])
    np.testing.assert_array_equal(index.test.indices, ids_of(10)[8:])


def test_split_default_share_is_80_20():
    index = DatasetIndex(100)
    index.split()
    assert (len(index.train), len(index.test), index.validation) == (80, 20, None)


def test_split_two_shares_gives_train_test_validation():
    index = DatasetIndex(100)
    index.split((0.7, 0.2))
    assert (len(index.train), len(index.test), len(index.validation)) == (70, 20, 10)


def test_split_three_shares():
    index = DatasetIndex(50)
    index.split([0.6, 0.2, 0.2])
    assert (len(index.train), len(index.test), len(index.validation)) == (30, 10, 10)


def test_split_three_shares_summing_below_one_keeps_each_subset_proportional():
    # Shares that sum to less than 1 are allowed; each subset must still match its own share
    # (whether the rest is left out or the shares are rescaled), not swallow the remainder.
    index = DatasetIndex(100)
    index.split((0.5, 0.2, 0.1))
    sizes = (len(index.train), len(index.test), len(index.validation))
    as_given = all(abs(size - share * 100) <= 1 for size, share in zip(sizes, (0.5, 0.2, 0.1)))
    rescaled = all(abs(size - share / 0.8 * 100) <= 1 for size, share in zip(sizes, (0.5, 0.2, 0.1)))
    assert as_given or rescaled, f"split((0.5, 0.2, 0.1)) of 100 items gave sizes {sizes}"


@pytest.mark.parametrize("shares", [1.5, -0.1, (0.8, 0.5), (0.2, 0.2, 0.2, 0.2), (0.5, 0.6, 0.1), (0.0, 0.0, 0.0)])
def test_bad_split_shares_are_a_clear_error(shares):
    with pytest.raises(IndexError, match="split shares"):
        DatasetIndex(10).split(shares)


def test_split_with_a_seed_is_reproducible_and_shuffles():
    first, second, other = DatasetIndex(ids_of(100)), DatasetIndex(ids_of(100)), DatasetIndex(ids_of(100))
    first.split(0.7, shuffle=5)
    second.split(0.7, shuffle=5)
    other.split(0.7, shuffle=6)
    np.testing.assert_array_equal(first.train.indices, second.train.indices)
    np.testing.assert_array_equal(first.test.indices, second.test.indices)
    assert not np.array_equal(first.train.indices, other.train.indices)
    assert not np.array_equal(first.train.indices, ids_of(100)[:70])


def test_split_with_shuffle_true_is_still_a_partition():
    index = DatasetIndex(ids_of(30))
    index.split((0.5, 0.3), shuffle=True)
    parts = [index.train.indices, index.test.indices, index.validation.indices]
    assert sorted(np.concatenate(parts).tolist()) == ids_of(30).tolist()


shares_strategy = st.one_of(
    st.floats(0.0, 1.0).map(lambda a: (a,)),
    st.tuples(st.floats(0.0, 1.0), st.floats(0.0, 1.0)).filter(lambda s: sum(s) <= 1).map(tuple),
    st.tuples(st.floats(0.0, 1.0), st.floats(0.0, 1.0)).filter(lambda s: sum(s) <= 1)
      .map(lambda s: (s[0], s[1], max(0.0, 1 - s[0] - s[1]))),
)


@FAST
@given(n=st.integers(0, 300), shares=shares_strategy, seed=st.one_of(st.just(False), st.integers(0, 2**32 - 1)))
def test_split_is_a_disjoint_covering_partition_of_about_the_right_sizes(n, shares, seed):
    index = index_of(n)
    share_arg = shares[0] if len(shares) == 1 else shares
    index.split(share_arg, shuffle=seed)
    parts = [index.train, index.test] + ([index.validation] if index.validation is not None else [])
    ids = np.concatenate([part.indices for part in parts])
    assert sorted(ids.tolist()) == ids_of(n).tolist()  # disjoint and covering
    full = list(shares) + [1 - sum(shares)] * (len(shares) < 3)
    for part, share in zip(parts, full):
        # rounding, plus at most two items moved so every non-zero share gets one
        assert abs(len(part) - share * n) <= 2 + 1e-6, (n, shares, [len(p) for p in parts])
        np.testing.assert_array_equal(part.indices, ids_of(n)[part.root_positions])
        assert type(part) is DatasetIndex


def test_subsets_of_subsets_point_at_the_root():
    root = DatasetIndex(ids_of(40))
    root.split(0.75, shuffle=1)
    root.train.split((0.5, 0.3), shuffle=2)
    for sub in (root.train.train, root.train.test, root.train.validation):
        np.testing.assert_array_equal(sub.indices, ids_of(40)[sub.root_positions])
    inner = np.concatenate([s.indices for s in (root.train.train, root.train.test, root.train.validation)])
    assert sorted(inner.tolist()) == sorted(root.train.indices.tolist())


def test_batches_of_a_shuffled_subset_point_at_the_right_root_rows():
    root = DatasetIndex(ids_of(50))
    root.split((0.6, 0.2), shuffle=11)
    for part in (root.train, root.test, root.validation):
        seen = []
        for batch in part.gen_batch(7, shuffle=3):
            np.testing.assert_array_equal(batch.indices, ids_of(50)[batch.root_positions])
            seen.extend(batch.indices.tolist())
        assert sorted(seen) == sorted(part.indices.tolist())


# --- gen_batch ---------------------------------------------------------------------------------
def test_gen_batch_is_one_epoch_in_order_by_default():
    batches = list(DatasetIndex(ids_of(10)).gen_batch(4))
    assert [b.indices.tolist() for b in batches] == [[7, 17, 27, 37], [47, 57, 67, 77], [87, 97]]
    assert all(isinstance(b, DatasetIndex) for b in batches)


def test_gen_batch_drop_last_drops_the_short_batch():
    batches = list(DatasetIndex(10).gen_batch(4, drop_last=True))
    assert [b.indices.tolist() for b in batches] == [[0, 1, 2, 3], [4, 5, 6, 7]]


def test_gen_batch_n_epochs_and_n_iters():
    index = DatasetIndex(10)
    assert len(list(index.gen_batch(4, n_epochs=3))) == 9
    by_iters = [b.indices.tolist() for b in index.gen_batch(4, n_iters=5)]
    assert by_iters == [[0, 1, 2, 3], [4, 5, 6, 7], [8, 9], [0, 1, 2, 3], [4, 5, 6, 7]]
    assert list(index.gen_batch(4, n_epochs=0)) == []
    assert list(index.gen_batch(4, n_iters=0)) == []


def test_gen_batch_accepts_a_numpy_generator_as_shuffle():
    batches = list(DatasetIndex(20).gen_batch(6, shuffle=np.random.default_rng(0)))
    assert sorted(np.concatenate([b.indices for b in batches]).tolist()) == list(range(20))


def test_shuffled_epochs_differ_from_one_another():
    batches = list(DatasetIndex(50).gen_batch(50, shuffle=9, n_epochs=2))
    assert sorted(batches[0].indices.tolist()) == sorted(batches[1].indices.tolist())
    assert batches[0].indices.tolist() != batches[1].indices.tolist()


@pytest.mark.parametrize("batch_size", [0, -3, 2.5, True])
def test_bad_batch_size_is_a_clear_error(batch_size):
    with pytest.raises(IndexError, match=r"batch_size must be a whole number >= 1"):
        list(DatasetIndex(10).gen_batch(batch_size))
    with pytest.raises(IndexError, match=r"batch_size must be a whole number >= 1"):
        DatasetIndex(10).next_batch(batch_size)


def test_n_epochs_and_n_iters_together_is_a_clear_error():
    with pytest.raises(IndexError, match="n_epochs or n_iters, not both"):
        list(DatasetIndex(10).gen_batch(2, n_epochs=1, n_iters=3))
    with pytest.raises(IndexError, match="n_epochs or n_iters, not both"):
        DatasetIndex(10).next_batch(2, n_epochs=1, n_iters=3)


def test_a_batch_larger_than_the_index_with_drop_last_is_a_clear_error():
    with pytest.raises(IndexError, match=r"batch_size 11 is larger than the index \(10 items\).*drop_last"):
        list(DatasetIndex(10).gen_batch(11, drop_last=True))
    with pytest.raises(IndexError, match="drop_last"):
        DatasetIndex(10).next_batch(11, drop_last=True)
    # without drop_last one short batch is fine
    assert [len(b) for b in DatasetIndex(10).gen_batch(11)] == [10]


@pytest.mark.parametrize("kwargs", [{"n_epochs": -1}, {"n_iters": -2}, {"n_epochs": 1.5}])
def test_bad_epoch_or_iteration_counts_are_clear_errors(kwargs):
    name = next(iter(kwargs))
    with pytest.raises(IndexError, match=f"{name} must be a whole number >= 0"):
        list(DatasetIndex(10).gen_batch(2, **kwargs))


def test_bad_shuffle_is_a_clear_error():
    with pytest.raises(IndexError, match="shuffle must be"):
        list(DatasetIndex(10).gen_batch(2, shuffle="yes"))


def test_gen_batch_checks_its_arguments_when_called_not_at_the_first_batch():
    # A bad request should fail where it is made, like a pipeline's gen_batch does.
    index = DatasetIndex(10)
    with pytest.raises(IndexError, match="batch_size"):
        index.gen_batch(0)
    with pytest.raises(IndexError, match="not both"):
        index.gen_batch(2, n_epochs=1, n_iters=1)


# --- next_batch --------------------------------------------------------------------------------
def test_next_batch_continues_across_calls_and_is_endless_by_default():
    index = DatasetIndex(10)
    got = [index.next_batch(4).indices.tolist() for _ in range(7)]
    assert got == [[0, 1, 2, 3], [4, 5, 6, 7], [8, 9], [0, 1, 2, 3], [4, 5, 6, 7], [8, 9], [0, 1, 2, 3]]
    assert all(isinstance(index.next_batch(4), DatasetIndex) for _ in range(50))


def test_next_batch_stops_after_n_epochs_and_reset_iter_starts_again():
    index = DatasetIndex(10)
    got = drain_next_batch(index, 100, batch_size=4, n_epochs=2)
    assert [len(b) for b in got] == [4, 4, 2, 4, 4, 2]
    with pytest.raises(StopIteration):
        index.next_batch(4, n_epochs=2)
    index.reset_iter()
    assert index.next_batch(4, n_epochs=2).indices.tolist() == [0, 1, 2, 3]


def test_next_batch_stops_after_n_iters():
    index = DatasetIndex(10)
    got = drain_next_batch(index, 100, batch_size=3, n_iters=5)
    assert [b.indices.tolist() for b in got] == [[0, 1, 2], [3, 4, 5], [6, 7, 8], [9], [0, 1, 2]]


def test_next_batch_with_drop_last():
    index = DatasetIndex(10)
    got = [index.next_batch(4, drop_last=True).indices.tolist() for _ in range(3)]
    assert got == [[0, 1, 2, 3], [4, 5, 6, 7], [0, 1, 2, 3]]


def test_next_batch_with_a_seed_is_reproducible_after_reset_iter():
    index = DatasetIndex(ids_of(30))
    first = [index.next_batch(7, shuffle=4).indices.tolist() for _ in range(12)]
    index.reset_iter()
    again = [index.next_batch(7, shuffle=4).indices.tolist() for _ in range(12)]
    assert first == again
    epoch = sorted(np.concatenate(first[:5]).tolist())
    assert epoch == ids_of(30).tolist()
    assert first[:5] != [ids_of(30)[i:i + 7].tolist() for i in range(0, 30, 7)]


# --- properties of batching ---------------------------------------------------------------------
@st.composite
def batch_requests(draw):
    n = draw(st.integers(0, 40))
    batch_size = draw(st.integers(1, 45))
    drop_last = draw(st.booleans())
    shuffle = draw(st.one_of(st.just(False), st.integers(0, 2**32 - 1)))
    mode = draw(st.sampled_from(["default", "epochs", "iters"]))
    n_epochs = draw(st.integers(0, 3)) if mode == "epochs" else None
    n_iters = draw(st.integers(0, 12)) if mode == "iters" else None
    return n, {"batch_size": batch_size, "shuffle": shuffle, "n_epochs": n_epochs, "n_iters": n_iters,
               "drop_last": drop_last}


def check_epochs(batches, n, kwargs):
    """Every epoch covers each item exactly once (all but the dropped remainder with drop_last)."""
    ids = ids_of(n)
    batch_size, drop_last = kwargs["batch_size"], kwargs["drop_last"]
    per_epoch = (n // batch_size if drop_last else math.ceil(n / batch_size)) if n else 0
    for batch in batches:
        assert 1 <= len(batch) <= batch_size
        if drop_last:
            assert len(batch) == batch_size
        np.testing.assert_array_equal(batch.indices, ids[batch.root_positions])
    for start in range(0, len(batches), per_epoch or 1):
        epoch = np.concatenate([b.indices for b in batches[start:start + per_epoch]]).tolist()
        assert len(epoch) == len(set(epoch))  # no item twice in one epoch
        complete = start + per_epoch <= len(batches)
        if complete:
            assert len(epoch) == (per_epoch * batch_size if drop_last else n)
            if not drop_last:
                assert sorted(epoch) == ids.tolist()
        if kwargs["shuffle"] is False:
            # without shuffle, each epoch is the ids in order
            assert epoch == ids[:len(epoch)].tolist()
    return per_epoch


@FAST
@given(request=batch_requests())
def test_gen_batch_epochs_cover_every_item_once_and_counts_match(request):
    n, kwargs = request
    index = index_of(n)
    if kwargs["drop_last"] and kwargs["batch_size"] > n:
        with pytest.raises(IndexError, match="drop_last"):
            list(index.gen_batch(**kwargs))
        return
    batches = take_all(index.gen_batch(**kwargs))
    per_epoch = check_epochs(batches, n, kwargs)
    if kwargs["n_iters"] is not None:
        expected = kwargs["n_iters"] if per_epoch else 0
    else:
        n_epochs = 1 if kwargs["n_epochs"] is None else kwargs["n_epochs"]
        expected = n_epochs * per_epoch
    assert len(batches) == expected
    # the same seed gives the same order
    again = take_all(index.gen_batch(**kwargs))
    assert [b.indices.tolist() for b in again] == [b.indices.tolist() for b in batches]


@FAST
@given(request=batch_requests())
def test_next_batch_is_the_same_stream_as_gen_batch(request):
    n, kwargs = request
    index = index_of(n)
    assume(not (kwargs["drop_last"] and kwargs["batch_size"] > n))
    endless = kwargs["n_epochs"] is None and kwargs["n_iters"] is None
    limit = 25 if endless else 1_000  # a finite stream is drained to its end
    streamed = drain_next_batch(index, limit, **kwargs)
    if endless:
        assert len(streamed) == (limit if n else 0)
        reference = take_all(index.gen_batch(**{**kwargs, "n_iters": limit}))
    else:
        reference = take_all(index.gen_batch(**kwargs))
        with pytest.raises(StopIteration):
            index.next_batch(**kwargs)
    assert [b.indices.tolist() for b in streamed] == [b.indices.tolist() for b in reference[:limit]]
    check_epochs(streamed, n, kwargs)
    index.reset_iter()
    restarted = drain_next_batch(index, limit, **kwargs)
    assert [b.indices.tolist() for b in restarted] == [b.indices.tolist() for b in streamed]


# --- FilesIndex over real files -----------------------------------------------------------------
@pytest.fixture
def tree(tmp_path):
    """a.txt b.txt c.csv, folders d/ and e/ (with files), and nested/deep/f.txt."""
    for name in ("a.txt", "b.txt", "c.csv"):
        (tmp_path / name).write_text(name)
    for folder in ("d", "e"):
        (tmp_path / folder).mkdir()
        (tmp_path / folder / "inside.bin").write_bytes(b"x")
    (tmp_path / "nested" / "deep").mkdir(parents=True)
    (tmp_path / "nested" / "deep" / "f.txt").write_text("f")
    return tmp_path


def test_files_index_matches_files_and_keys_are_base_names(tree):
    index = FilesIndex(path=str(tree / "*"))
    assert sorted(index.indices.tolist()) == ["a.txt", "b.txt", "c.csv"]
    assert len(index) == 3
    assert index.get_fullpath("c.csv") == str(tree / "c.csv")
    with open(index.get_fullpath("a.txt")) as f:
        assert f.read() == "a.txt"


def test_files_index_with_dirs_matches_folders_only(tree):
    index = FilesIndex(path=str(tree / "*"), dirs=True)
    assert sorted(index.indices.tolist()) == ["d", "e", "nested"]
    assert os.path.isdir(index.get_fullpath("d"))
    assert os.path.normpath(index.get_fullpath("e")) == str(tree / "e")


def test_files_index_with_several_globs(tree):
    index = FilesIndex(path=[str(tree / "*.csv"), str(tree / "a.*"), str(tree / "**" / "f.txt")])
    assert sorted(index.indices.tolist()) == ["a.txt", "c.csv", "f.txt"]
    assert index.get_fullpath("f.txt") == str(tree / "nested" / "deep" / "f.txt")


def test_files_index_no_ext_drops_extensions(tree):
    index = FilesIndex(path=str(tree / "*"), no_ext=True)
    assert sorted(index.indices.tolist()) == ["a", "b", "c"]
    assert index.get_fullpath("b") == str(tree / "b.txt")


def test_files_index_sort_orders_ids_by_name(tmp_path):
    for name in ("m.txt", "z.txt", "a.txt", "k.txt", "b.txt"):
        (tmp_path / name).write_text("")
    # globs in reverse order of name, so an unsorted index follows the globs
    index = FilesIndex(path=[str(tmp_path / n) for n in ("z.txt", "m.txt", "k.txt", "b.txt", "a.txt")],
                       sort=True)
    assert index.indices.tolist() == ["a.txt", "b.txt", "k.txt", "m.txt", "z.txt"]
    unsorted = FilesIndex(path=[str(tmp_path / n) for n in ("z.txt", "m.txt")])
    assert unsorted.indices.tolist() == ["z.txt", "m.txt"]


def test_files_index_same_file_from_two_globs_is_one_item(tree):
    index = FilesIndex(path=[str(tree / "*.txt"), str(tree / "a.txt")])
    assert sorted(index.indices.tolist()) == ["a.txt", "b.txt"]


def test_files_index_name_collision_is_an_error_naming_both_paths(tmp_path):
    for folder in ("x", "y"):
        (tmp_path / folder).mkdir()
        (tmp_path / folder / "same.txt").write_text(folder)
    with pytest.raises(IndexError) as caught:
        FilesIndex(path=[str(tmp_path / "x" / "*"), str(tmp_path / "y" / "*")])
    message = str(caught.value)
    assert str(tmp_path / "x" / "same.txt") in message
    assert str(tmp_path / "y" / "same.txt") in message
    assert "same.txt" in message


def test_files_index_collision_after_dropping_extensions(tree):
    (tree / "a.csv").write_text("")
    with pytest.raises(IndexError) as caught:
        FilesIndex(path=str(tree / "*"), no_ext=True)
    assert "a.txt" in str(caught.value) and "a.csv" in str(caught.value)


def test_files_index_unknown_key_is_an_error(tree):
    index = FilesIndex(path=str(tree / "*"))
    with pytest.raises(KeyError, match=r"nope\.txt"):
        index.get_fullpath("nope.txt")


def test_files_index_needs_a_path():
    with pytest.raises(FlowError, match="path="):
        FilesIndex()


def test_files_index_split_and_batches_keep_paths(tmp_path):
    names = [f"img_{i:02d}.png" for i in range(12)]
    for name in names:
        (tmp_path / name).write_bytes(b"")
    index = FilesIndex(path=str(tmp_path / "*.png"), sort=True)
    index.split(0.75, shuffle=2)
    assert isinstance(index.train, FilesIndex) and isinstance(index.test, FilesIndex)
    assert (len(index.train), len(index.test)) == (9, 3)
    assert sorted(index.train.indices.tolist() + index.test.indices.tolist()) == names
    for key in index.test.indices:
        assert index.test.get_fullpath(key) == str(tmp_path / key)
    seen = []
    for batch in index.train.gen_batch(4, shuffle=1):
        assert isinstance(batch, FilesIndex)
        np.testing.assert_array_equal(batch.indices, index.indices[batch.root_positions])
        seen.extend(batch.indices.tolist())
        for key in batch.indices:
            assert batch.get_fullpath(key) == str(tmp_path / key)
    assert sorted(seen) == sorted(index.train.indices.tolist())
    streamed = index.next_batch(5)
    assert streamed.indices.tolist() == names[:5]
    assert streamed.get_fullpath(names[0]) == str(tmp_path / names[0])


# --- BatchFlow's index API ------------------------------------------------------------------------
def test_index_attribute_is_the_ids_array():
    index = DatasetIndex(ids_of(4))
    assert isinstance(index.index, np.ndarray)
    np.testing.assert_array_equal(index.index, ids_of(4))
    np.testing.assert_array_equal(DatasetIndex(index).index, ids_of(4))


def test_index_from_a_range_a_list_or_a_callable():
    np.testing.assert_array_equal(DatasetIndex(range(10, 20, 2)).index, [10, 12, 14, 16, 18])
    np.testing.assert_array_equal(DatasetIndex(lambda: np.arange(3)[::-1]).index, [2, 1, 0])
    assert list(DatasetIndex(["a", "b"]).index) == ["a", "b"]


def test_repeated_ids_warn_and_an_empty_sequence_or_a_table_is_an_error():
    with pytest.warns(UserWarning, match="not unique"):
        DatasetIndex([1, 1, 2])
    with pytest.raises(ValueError, match="empty sequence"):
        DatasetIndex([])
    with pytest.raises(TypeError, match="one-dimensional"):
        DatasetIndex([[1], [2]])
    assert len(DatasetIndex(0)) == 0  # an empty index is still made from the number 0


def test_get_pos_of_many_ids_is_an_array_of_positions():
    index = DatasetIndex(["e", "d", "c", "b", "a"])
    np.testing.assert_array_equal(index.get_pos(["a", "c"]), [4, 2])
    np.testing.assert_array_equal(index.get_pos(np.array(["d"])), [1])
    np.testing.assert_array_equal(index.get_pos(DatasetIndex(["b", "e"])), [3, 0])
    with pytest.raises(KeyError, match="'z'"):
        index.get_pos(["a", "z"])


def test_calc_split_gives_the_sizes_split_makes_and_refuses_impossible_shares():
    index = DatasetIndex(5)
    assert index.calc_split() == (4, 1, 0)
    assert index.calc_split([0.4, 0.6]) == (2, 3, 0)
    assert index.calc_split([0.5, 0.5, 0]) == (3, 2, 0)
    for bad in ([0.5, 0.5, 0.5], [0.2] * 4):
        with pytest.raises(ValueError, match="shares"):
            index.calc_split(bad)
    with pytest.raises(ValueError, match="1 item cannot be split into 3"):
        DatasetIndex(1).calc_split([0.5, 0.3, 0.2])
    index.split([0.4, 0.6])
    assert (len(index.train), len(index.test), index.validation) == (2, 3, None)


def test_shuffle_gives_positions_in_the_order_of_a_seed():
    index = DatasetIndex(ids_of(6))
    np.testing.assert_array_equal(index.shuffle(False), np.arange(6))
    np.testing.assert_array_equal(index.shuffle(13), np.random.default_rng(13).permutation(6))
    np.testing.assert_array_equal(index.shuffle(13), make_rng(13).permutation(6))
    legacy = index.shuffle(np.random.RandomState(13))
    np.testing.assert_array_equal(legacy, np.random.RandomState(13).permutation(6))
    assert sorted(index.shuffle(True).tolist()) == list(range(6))
    with pytest.raises(ValueError, match="seed"):
        index.shuffle("yes")


def test_make_rng_takes_what_shuffle_and_seed_take():
    assert make_rng(False) is None
    generator = np.random.default_rng(1)
    assert make_rng(generator) is generator
    assert make_rng(7).random() == np.random.default_rng(7).random()
    assert make_rng(np.random.PCG64(7)).random() == np.random.default_rng(7).random()
    assert isinstance(make_rng(None), np.random.Generator)


class ChildIndex(DatasetIndex):
    """A subclass, which create_batch and create_subset must keep."""


def test_create_batch_by_positions_or_ids_keeps_the_class():
    index = ChildIndex(ids_of(5))
    by_pos = index.create_batch(range(2, 5))
    assert isinstance(by_pos, ChildIndex)
    np.testing.assert_array_equal(by_pos.index, ids_of(5)[2:])
    by_id = index.create_batch(np.array([ids_of(5)[4], ids_of(5)[0]]), pos=False)
    np.testing.assert_array_equal(by_id.root_positions, [4, 0])
    with pytest.raises(IndexError, match="out of range"):
        index.create_batch([5])


def test_create_subset_by_ids_and_an_unknown_id_is_an_index_error():
    index = DatasetIndex(ids_of(5))
    subset = index.create_subset(DatasetIndex(ids_of(5)[[3, 1]]))
    np.testing.assert_array_equal(subset.root_positions, [3, 1])
    with pytest.raises(IndexError, match="99"):
        index.create_subset([99])


def test_files_index_checks_its_patterns(tmp_path):
    assert len(FilesIndex(path=str(tmp_path / "nothing*"))) == 0
    assert isinstance(FilesIndex(path="").index, np.ndarray)
    assert len(FilesIndex(path=["", ""])) == 0
    with pytest.raises(ValueError, match="empty list"):
        FilesIndex(path=[])
    for bad in (1, [2, 3], [None]):
        with pytest.raises(TypeError, match="path"):
            FilesIndex(path=bad)


def test_files_index_from_ids_and_paths_and_its_subsets(tmp_path):
    for name in ("a.txt", "b.txt", "c.txt"):
        (tmp_path / name).write_text(name)
    paths = {name: str(tmp_path / name) for name in ("a.txt", "b.txt", "c.txt")}
    index = FilesIndex(index=DatasetIndex(list(paths)), paths=paths)
    assert len(index) == 3 and index.get_fullpath("b.txt") == paths["b.txt"]
    subset = index.create_subset(["c.txt"])
    assert isinstance(subset, FilesIndex) and len(subset) == 1
    assert subset.get_fullpath("c.txt") == paths["c.txt"]
    with pytest.raises(IndexError, match=r"no path for the id 'd\.txt'"):
        FilesIndex(index=["a.txt", "d.txt"], paths=paths)
    with pytest.raises(IndexError, match="needs paths="):
        FilesIndex(index=["a.txt"])


def test_index_errors_are_value_errors_as_batchflow_raises():
    with pytest.raises(ValueError, match="drop_last"):
        DatasetIndex(5).next_batch(7, drop_last=True)
