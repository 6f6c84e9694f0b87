"""What History remembers between sessions: the columns a user added to or took from each experiment's
runs (the column picker), in ``history.json`` under the user's state folder (``$XDG_STATE_HOME/tuiflow``,
else ``~/.local/state/tuiflow``), per home and per experiment. A file that cannot be read is no choice;
one that cannot be written is said once, and the choice holds for the session."""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any

from tuiflow.tui.history_data import ColumnChoice

STATE_FILE = "history.json"
ALL_RUNS = "*"
"""The scope key of the all-runs view (an experiment's is its name)."""


def state_dir() -> Path:
    """Where tuiflow keeps what the app remembers: `$XDG_STATE_HOME/tuiflow`, else `~/.local/state/tuiflow`."""
    xdg = os.environ.get("XDG_STATE_HOME")
    base = Path(xdg).expanduser() if xdg else Path.home() / ".local" / "state"
    return base / "tuiflow"


class ColumnChoices:
    """The column choices of one home's views, read once and written on each change."""

    def __init__(self, home: Path, path: Path | None = None) -> None:
        self.home = str(Path(home).absolute())
        self.path = path or state_dir() / STATE_FILE
        self._data: dict[str, Any] | None = None

    def _read(self) -> dict[str, Any]:
        if self._data is None:
            try:
                data = json.loads(self.path.read_text(encoding="utf-8"))
            except (OSError, ValueError):
                data = {}
            self._data = data if isinstance(data, dict) else {}
        return self._data

    def get(self, scope: str | None) -> ColumnChoice:
        """The choice for an experiment's runs (None: all runs)."""
        homes = self._read().get("columns")
        views = homes.get(self.home) if isinstance(homes, dict) else None
        return ColumnChoice.from_dict(views.get(scope or ALL_RUNS) if isinstance(views, dict) else None)

    def set(self, scope: str | None, choice: ColumnChoice) -> None:
        """Remember a choice (no choice: forget it); OSError when the file cannot be written."""
        data = self._read()
        homes = data.setdefault("columns", {})
        if not isinstance(homes, dict):
            homes = data["columns"] = {}
        views = homes.setdefault(self.home, {})
        if not isinstance(views, dict):
            views = homes[self.home] = {}
        if choice.add or choice.hide:
            views[scope or ALL_RUNS] = choice.to_dict()
        else:
            views.pop(scope or ALL_RUNS, None)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile("w", encoding="utf-8", dir=self.path.parent, prefix=".history-",
                                         suffix=".json", delete=False) as out:
            json.dump(data, out, indent=1, sort_keys=True)
        os.replace(out.name, self.path)
