"""The user's keymap: ``keymap.toml`` in the home maps binding ids to keys, e.g. ``cancel = "x"``.

Every `Binding` of the app has an id (the help screen lists them); Textual's `App.set_keymap` swaps
the keys of the ids named. A ``[keymap]`` table, or top-level keys, are both read. `check_keymap`
keeps out an id no binding has (a typo would do nothing, silently) and a key that would take quit's
or help's keys (``q``, ``ctrl+q``, ``?``) from them: the way out and the way to the keys stay.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path

KEYMAP_FILE = "keymap.toml"
GUARDED = ("quit", "help")
"""Binding ids whose keys no other binding may take."""
ALWAYS_QUITS = ("ctrl+q",)
"""Textual's own quit key, besides whatever `quit` is mapped to."""
_KEY_NAMES = {"?": "question_mark", "+": "plus", "-": "minus", ",": "comma", "/": "slash", " ": "space",
              "esc": "escape", "return": "enter"}


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


def key_names(keys: str) -> list[str]:
    """The keys of a binding's key string (``"?,f1"``) as Textual names them (``question_mark``, ``f1``)."""
    return [_KEY_NAMES.get(key, key) for key in (part.strip() for part in keys.split(",")) if key]


def check_keymap(keymap: Mapping[str, str], bindings: Mapping[str, str]) -> tuple[dict[str, str], list[str]]:
    """The entries of `keymap` to apply, and one line for each refused: an id that is not one of
    `bindings` (binding id -> its default keys), or keys that would take a key of quit or help."""
    problems: list[str] = []
    known = {binding_id: keys for binding_id, keys in keymap.items() if binding_id in bindings}
    for binding_id in keymap:
        if binding_id not in bindings:
            problems.append(f"{KEYMAP_FILE}: no binding {binding_id!r} (? lists the ids): not applied")
    guarded: dict[str, str] = {key: "quit" for key in ALWAYS_QUITS}
    for owner in GUARDED:
        for key in key_names(known.get(owner, bindings.get(owner, ""))):
            guarded.setdefault(key, owner)
    applied: dict[str, str] = {}
    for binding_id, keys in known.items():
        taken = [(key, guarded[key]) for key in key_names(keys) if guarded.get(key, binding_id) != binding_id]
        if taken:
            key, owner = taken[0]
            problems.append(f'{KEYMAP_FILE}: {binding_id} = "{keys}" would take {shown(key)} from {owner}: '
                            "not applied")
        else:
            applied[binding_id] = keys
    return applied, problems


def shown(key: str) -> str:
    """A key as the footer shows it (``question_mark`` -> ``?``)."""
    return {"question_mark": "?", "plus": "+", "minus": "-", "comma": ",", "slash": "/", "escape": "esc",
            "space": "space"}.get(key, key)
