"""The user's keymap: ``keymap.toml`` in the home maps binding ids to keys, e.g. ``cancel = "x"``.

Every `Binding` of the app has an id (the help screen lists them); Textual's `App.set_keymap` swaps
the keys of the ids named. A ``[keymap]`` table, or top-level keys, are both read.
"""

from __future__ import annotations

import re
from pathlib import Path

KEYMAP_FILE = "keymap.toml"


class KeymapError(Exception):
    """A keymap file that cannot be read: one line saying where."""


def load_keymap(home: Path) -> dict[str, str]:
    """Binding id -> keys (comma-separated) from the home's keymap file; {} when there is none."""
    path = home / KEYMAP_FILE
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return {}
    except OSError as exc:
        raise KeymapError(f"{path}: {exc.strerror or exc}") from None
    except UnicodeDecodeError:
        raise KeymapError(f"{path}: not UTF-8 text") from None
    try:
        data = _parse(text)
    except ValueError as exc:
        raise KeymapError(f"{path}: {exc}") from None
    table = data.get("keymap", data)
    if not isinstance(table, dict):
        raise KeymapError(f"{path}: [keymap] must be a table of binding id = \"keys\"")
    keymap = {}
    for binding_id, keys in table.items():
        if isinstance(keys, list) and all(isinstance(k, str) for k in keys):
            keys = ",".join(keys)
        if not isinstance(keys, str) or not keys.strip():
            raise KeymapError(f"{path}: {binding_id} must be a key or a list of keys, like \"x\" or [\"x\", \"f5\"]")
        keymap[str(binding_id)] = keys.strip()
    return keymap


def _parse(text: str) -> dict:
    try:
        import tomllib
    except ModuleNotFoundError:  # Python 3.10: the simple form this file takes
        return _parse_simple(text)
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ValueError(str(exc)) from None


_LINE = re.compile(r'^\s*([\w.-]+|"[^"]+")\s*=\s*"([^"]*)"\s*(#.*)?$')


def _parse_simple(text: str) -> dict:
    table: dict[str, str] = {}
    for number, line in enumerate(text.splitlines(), 1):
        stripped = line.strip()
        if not stripped or stripped.startswith("#") or stripped == "[keymap]":
            continue
        match = _LINE.match(line)
        if match is None:
            raise ValueError(f"line {number}: expected id = \"keys\"")
        table[match.group(1).strip('"')] = match.group(2)
    return table
