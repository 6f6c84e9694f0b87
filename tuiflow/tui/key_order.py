"""Keys that arrive together are handled in the order they were sent: a workaround for Textual 8.2.8
(Textualize/textual#6605; PR #6631 is not released). Remove it once Textual keeps the order itself:
tests/tui/test_keys_burst.py then passes with `KeysInOrder` left out of `TuiflowApp`.

Why: the app posts each key to the focused widget's message queue and goes on to the next key at once.
A key the widget takes itself (a character typed into an Input) is applied at the widget, but a key
bound to an action (backspace, the arrows, Tab) goes up the DOM one queue at a time and its binding
runs only when the key is back at the app: after every character that came in the same read was
typed. Over SSH one read often holds several keys, so in Launch "⌫⌫⌫⌫30,60" typed "30,60" and then
deleted four characters of it ("3"), and "Tab ⌫⌫ 30" typed into the field that was left.

`KeysInOrder` sends a key (or a paste) on only once the one before it has settled: the widgets from the
focused one up to the screen have handled it and whatever it made them post (an Input's Submitted,
which moves the focus in Launch), and the app has run its binding. A key that never settles (a widget
stuck in a long handler) frees the next after `SETTLE_LIMIT_S`, as Textual would have sent it anyway.
"Settled" is read from Textual's internals (each widget's message queue, which has no join()): should
a Textual release change them, keys go on as Textual sends them and the tests above fail.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from typing import Any

from textual import events
from textual.app import App
from textual.dom import DOMNode

SETTLE_LIMIT_S = 1.0
"""The longest a key holds back the keys after it (a handler stuck longer is a bug of its own; on a
busy machine a key may well take half a second)."""

_Input = events.Key | events.Paste


class KeysInOrder(App[Any]):
    """Mixed into the app (before `App`): keys and pastes from the terminal, one settled at a time."""

    _key_in_flight: _Input | None = None
    _key_chain: tuple[DOMNode, ...] = ()
    _key_deadline = 0.0
    _keys_waiting: deque[_Input] | None = None
    _key_watcher: asyncio.Task[None] | None = None  # held: the loop keeps only a weak reference

    @property
    def keys_pending(self) -> int:
        """Keys (and pastes) received and not yet handled to the end: the one in flight and those after it."""
        return (self._key_in_flight is not None) + len(self._keys_waiting or ())

    async def on_event(self, event: events.Event) -> None:
        if not isinstance(event, (events.Key, events.Paste)) or event.is_forwarded:
            await super().on_event(event)  # anything else, and a key bubbling back up: as Textual does
            return
        if self._keys_waiting is None:
            self._keys_waiting = deque()
        if self._key_in_flight is not None or self._keys_waiting:
            self._keys_waiting.append(event)
            return
        await self._send_key(event)

    async def _send_key(self, event: _Input) -> None:
        """Hand `event` to the app's own handling (priority bindings, then the focused widget)."""
        target: DOMNode = self.focused or self.screen  # where App.on_event forwards it
        await super().on_event(event)
        if not event.is_forwarded:  # a priority binding took it here: done already
            return
        self._key_in_flight = event
        self._key_chain = tuple(node for node in target.ancestors_with_self if node is not self)
        self._key_deadline = time.monotonic() + SETTLE_LIMIT_S
        self._watch_key(event)

    def _watch_key(self, event: _Input) -> None:
        self._key_watcher = asyncio.create_task(self._settle(event))

    async def _settle(self, event: _Input) -> None:
        """Wait for the chain's queues to empty, then let the app check (after the key, if it bubbled
        up to it: the app's queue is first in, first out)."""
        turns = 0
        while not self._chain_quiet() and time.monotonic() < self._key_deadline:
            turns += 1  # a few turns of the loop are enough for most keys; then stop spinning
            await asyncio.sleep(0 if turns < 50 else 0.001)
        self.call_later(self._settled, event)

    async def _settled(self, event: _Input) -> None:
        if event is not self._key_in_flight:
            return
        # The app's binding for the key may have posted more (Input's enter posts Submitted): drain again.
        if not self._chain_quiet() and time.monotonic() < self._key_deadline:
            self._watch_key(event)
            return
        self._key_in_flight, self._key_chain = None, ()
        waiting = self._keys_waiting
        while waiting and self._key_in_flight is None:
            await self._send_key(waiting.popleft())

    def _chain_quiet(self) -> bool:
        """Whether no widget of the key's chain has a message waiting (Textual's own queue has no
        join(): a widget takes a message off it and handles it in one go unless a handler awaits)."""
        try:
            return all(node._closed or (node._message_queue.empty() and node._pending_message is None)
                       for node in self._key_chain)
        except AttributeError:  # a Textual without these internals: keys go on as Textual sends them
            return True
