"""Where the store lives and who may read it."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from tuiflow.store import Store, StoreError, resolve_home


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
