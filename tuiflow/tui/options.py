"""How the app was asked to run: the home, the refresh, the glyphs, the theme, and (for tests) the clock."""

from __future__ import annotations

import os
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

ASCII_ENV = "TUIFLOW_ASCII"
DEFAULT_REFRESH_S = 1.0
MIN_REFRESH_S = 0.1


def ascii_from_env() -> bool:
    """Whether TUIFLOW_ASCII asks for ASCII glyphs (1, true, yes, on)."""
    return os.environ.get(ASCII_ENV, "").strip().lower() in ("1", "true", "yes", "on")


@dataclass(frozen=True)
class Options:
    """The app's settings; `clock` and `hostname` are fixed by tests to draw the same screen every time."""

    home: str | Path | None = None
    refresh_s: float = DEFAULT_REFRESH_S
    ascii: bool = False
    theme: str = "tuiflow"
    clock: Callable[[], float] = field(default=time.time, compare=False)
    hostname: str = field(default_factory=socket.gethostname)
    finished_rows: int = 20  # ended runs the dashboard lists below the active ones

    def __post_init__(self) -> None:
        if not self.refresh_s >= MIN_REFRESH_S:  # also refuses NaN
            raise ValueError(f"the refresh must be at least {MIN_REFRESH_S:g} s, not {self.refresh_s:g}")
