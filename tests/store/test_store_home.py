"""Where the store lives and who may read it."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from tuiflow.store import NoStoreError, Store, StoreError, resolve_home


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_explicit_home_wins_over_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TUIFLOW_HOME", str(tmp_path / "env"))
    assert resolve_home(tmp_path / "arg") == tmp_path / "arg"
    assert resolve_home(str(tmp_path / "arg")) == tmp_path / "arg"


def test_env_then_xdg_then_local_share(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TUIFLOW_HOME", str(tmp_path / "env"))
    assert resolve_home() == tmp_path / "env"
    monkeypatch.delenv("TUIFLOW_HOME")
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
    assert resolve_home(None) == tmp_path / "xdg" / "tuiflow"
    monkeypatch.setenv("XDG_DATA_HOME", "")
    monkeypatch.setenv("HOME", str(tmp_path / "user"))
    assert resolve_home() == tmp_path / "user" / ".local" / "share" / "tuiflow"


def test_home_is_0700_and_every_file_0600_even_with_a_lax_umask(home: Path) -> None:
    old = os.umask(0o022)
    try:
        with Store.open(home) as store:
            store.create_experiment("e", "r")  # a write, so the -wal file exists
            assert {p.name for p in home.iterdir()} >= {"tuiflow.db", "tuiflow.db-wal", "tuiflow.db-shm"}
            assert mode(home) == 0o700
            for path in home.iterdir():
                assert mode(path) == 0o600, path
        assert os.umask(0o022) == 0o022  # opening the store gave the process its umask back
    finally:
        os.umask(old)


def test_store_opens_from_env_home(tmp_path: Path) -> None:
    with Store.open() as store:
        assert store.path == tmp_path / "env-home" / "tuiflow.db"


def test_home_that_is_a_file_is_a_one_line_error(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(StoreError, match=r"cannot create tuiflow home .*file"):
        Store.open(blocker)


def test_home_under_a_file_names_the_file(tmp_path: Path) -> None:
    # mkdir said "File exists" about the home, which did not exist: the file is its parent.
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(StoreError) as info:
        Store.open(blocker / "sub" / "home")
    assert str(info.value) == f"cannot create tuiflow home {blocker}/sub/home: {blocker} is a file, not a directory"
    assert blocker.read_text() == "x"


NO_STORE = r"no tuiflow store in {} \({}; check --home or \$TUIFLOW_HOME\)"


def test_open_without_create_refuses_a_home_that_does_not_exist_and_creates_nothing(tmp_path: Path) -> None:
    home = tmp_path / "typo" / "home"
    with pytest.raises(NoStoreError, match=NO_STORE.format(home, "nothing has been run there yet")):
        Store.open(home, create=False)
    assert list(tmp_path.iterdir()) == []


def test_open_without_create_refuses_an_empty_home_or_an_empty_database_and_writes_nothing(home: Path) -> None:
    home.mkdir()
    with pytest.raises(NoStoreError, match=NO_STORE.format(home, "nothing has been run there yet")):
        Store.open(home, create=False)
    assert list(home.iterdir()) == []
    (home / "tuiflow.db").touch()
    with pytest.raises(NoStoreError, match=NO_STORE.format(home, "tuiflow.db is empty")):
        Store.open(home, create=False)
    assert [(p.name, p.stat().st_size) for p in home.iterdir()] == [("tuiflow.db", 0)]


def test_open_without_create_names_a_home_that_is_a_file(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(NoStoreError, match=NO_STORE.format(blocker, "it is a file, not a directory")):
        Store.open(blocker, create=False)


def test_open_without_create_reads_and_writes_an_existing_store(tmp_path: Path) -> None:
    home = tmp_path / "a home with spaces?#"  # the database is opened by URI: odd characters must survive
    with Store.open(home) as store:
        store.create_experiment("e", "r")
    with Store.open(home, create=False) as store:
        assert [e.name for e in store.list_experiments()] == ["e"]
        store.create_experiment("f", "r")
        assert store.path == home / "tuiflow.db"
