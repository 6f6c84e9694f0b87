"""`tuiflow serve`: the app in a browser through textual-serve, as a real server process on a free port.

The page is fetched over HTTP, a websocket is opened as the page opens it, and headless Chromium (driven
through the DevTools protocol) draws the dashboard from it. Chromium is a CI requirement (`.ci/run`
installs Debian's): without it this file's browser test skips outside CI and fails in CI.
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import aiohttp
import psutil
import pytest
from tui_helpers import REPO, Lab, daemon_home

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CHROMIUM_FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync",
                  "--window-size=1280,900", "--remote-debugging-port=0")
WARNING = "anyone who can reach this port gets the app"


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Lab]:
    # No daemon: the dashboard draws the simulated GPUs without one.
    yield from daemon_home(tmp_path, monkeypatch, start=False)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class Served:
    """A `tuiflow serve` process of the test's own (its own session: nothing it starts outlives the test)."""

    def __init__(self, lab: Lab, *args: str, port: int | None = None) -> None:
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.out = lab.home.parent / f"serve-{self.port}.out"
        self.err = lab.home.parent / f"serve-{self.port}.err"
        with open(self.out, "wb") as out, open(self.err, "wb") as err:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "tuiflow", "serve", "--home", str(lab.home), "--port", str(self.port), *args],
                stdin=subprocess.DEVNULL, stdout=out, stderr=err, env=lab.env, cwd=REPO, start_new_session=True)

    def output(self) -> str:
        return f"stdout:\n{self.out.read_text(errors='replace')}\nstderr:\n{self.err.read_text(errors='replace')}"

    def wait_listening(self, host: str = "127.0.0.1", timeout: float = 30) -> None:
        deadline = time.monotonic() + timeout
        while True:
            if self.process.poll() is not None:
                raise AssertionError(f"`tuiflow serve` exited {self.process.returncode}:\n{self.output()}")
            try:
                socket.create_connection((host, self.port), timeout=1).close()
                return
            except OSError:
                if time.monotonic() > deadline:
                    raise AssertionError(f"nothing listens on {host}:{self.port} after {timeout:g} s:\n"
                                         f"{self.output()}") from None
                time.sleep(0.1)

    def app_processes(self) -> list[psutil.Process]:
        """The app processes the server runs, one per open websocket."""
        return [child for child in psutil.Process(self.process.pid).children()
                if "tui" in child.cmdline()]

    def wait_app_processes(self, count: int, timeout: float = 20) -> list[psutil.Process]:
        deadline = time.monotonic() + timeout
        while len(apps := self.app_processes()) != count:
            if time.monotonic() > deadline:
                raise AssertionError(f"{len(apps)} app processes, not {count}, after {timeout:g} s")
            time.sleep(0.1)
        return apps

    def stop(self, sig: signal.Signals, timeout: float = 15) -> int:
        """Signal the server; its exit code once it has ended."""
        self.process.send_signal(sig)
        try:
            return self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            raise AssertionError(f"`tuiflow serve` still runs {timeout:g} s after {sig.name}") from None

    def close(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(10)


@pytest.fixture
def serve(home: Lab) -> Iterator[Any]:
    started: list[Served] = []

    def start(*args: str, port: int | None = None) -> Served:
        started.append(Served(home, *args, port=port))
        return started[-1]

    yield start
    for served in started:
        served.close()


def fetch(url: str, headers: dict[str, str] | None = None) -> tuple[int, str]:
    request = urllib.request.Request(url, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode()


def assert_gone(processes: list[psutil.Process], timeout: float = 20) -> None:
    _, alive = psutil.wait_procs(processes, timeout=timeout)
    assert not alive, f"app processes outlived the server: {[p.pid for p in alive]}"


def test_serve_gives_the_textual_page_on_loopback_only_and_stops_with_its_apps(home: Lab, serve: Any) -> None:
    served = serve("--refresh", "0.5", "--ascii")
    served.wait_listening()
    status, page = fetch(served.url + "/")
    assert status == 200
    assert 'class="textual-terminal"' in page and "/static/js/textual.js" in page
    assert f'data-session-websocket-url="ws://127.0.0.1:{served.port}/ws"' in page
    # Listening on loopback only: every listening socket of the server is on 127.0.0.1.
    listening = [c.laddr for c in psutil.Process(served.process.pid).net_connections("inet")
                 if c.status == psutil.CONN_LISTEN]
    assert listening and all(address.ip == "127.0.0.1" for address in listening), listening
    assert served.err.read_text() == ""  # no warning on loopback

    # A port forwarded to another local port: the page's URLs follow the address the browser used.
    status, page = fetch(served.url + "/", {"Host": "localhost:9999"})
    assert status == 200 and 'data-session-websocket-url="ws://localhost:9999/ws"' in page
    # A DNS-rebinding site's name, and a websocket opened from another site's page, are refused.
    assert fetch(served.url + "/", {"Host": f"attacker.example:{served.port}"})[0] == 403
    assert fetch(served.url + "/ws", {"Origin": "http://attacker.example"})[0] == 403

    async def open_app() -> list[psutil.Process]:
        async with aiohttp.ClientSession() as session, session.ws_connect(
                f"ws://127.0.0.1:{served.port}/ws?width=100&height=30", origin=served.url) as websocket:
            drawn = b""
            while b"GPU0" not in drawn:
                message = await asyncio.wait_for(websocket.receive(), 30)
                assert message.type == aiohttp.WSMsgType.BINARY, message
                drawn += message.data
            return served.wait_app_processes(1)

    [app] = asyncio.run(open_app())
    # The app is `tuiflow tui` on the same home, with the same options.
    command = app.cmdline()
    assert command[command.index("tui"):] == ["tui", "--refresh", "0.5", "--theme", "tuiflow",
                                              "--home", str(home.home), "--ascii"]
    assert_gone([app])  # the websocket closed: its app quit

    async def open_and_stop() -> tuple[int, list[psutil.Process]]:
        async with aiohttp.ClientSession() as session, session.ws_connect(
                f"ws://127.0.0.1:{served.port}/ws", origin=served.url) as websocket:
            await asyncio.wait_for(websocket.receive(), 30)
            apps = served.wait_app_processes(1)
            return served.stop(signal.SIGTERM), apps

    code, apps = asyncio.run(open_and_stop())
    assert code == 0, served.output()
    assert_gone(apps)
    assert "Traceback" not in served.output()


def test_another_host_needs_saying_and_warns(home: Lab, serve: Any) -> None:
    served = serve("--host", "0.0.0.0")
    served.wait_listening()
    lines = served.err.read_text().splitlines()
    assert len(lines) == 1 and WARNING in lines[0] and "0.0.0.0" in lines[0], lines
    # Any host name is served there (the browser names the machine as it knows it).
    status, page = fetch(served.url + "/", {"Host": f"gpu-box:{served.port}"})
    assert status == 200 and f'"ws://gpu-box:{served.port}/ws"' in page
    assert served.stop(signal.SIGINT) == 0


@pytest.mark.parametrize("case", ["port in use", "port out of range", "no textual-serve", "bad host"])
def test_what_cannot_be_served_is_one_line(home: Lab, case: str, tmp_path: Path) -> None:
    env = dict(home.env)
    args = ["--port", str(free_port())]
    with socket.socket() as taken:
        if case == "port in use":
            taken.bind(("127.0.0.1", 0))
            taken.listen()
            args = ["--port", str(taken.getsockname()[1])]
            expected = "is in use"
        elif case == "port out of range":
            args = ["--port", "65536"]
            expected = "--port must be a whole number from 1 to 65,535"
        elif case == "no textual-serve":
            hidden = tmp_path / "hidden"
            (hidden / "textual_serve").mkdir(parents=True)
            (hidden / "textual_serve" / "__init__.py").write_text("raise ImportError('hidden by the test')\n")
            env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(hidden), env.get("PYTHONPATH")]))
            expected = "pip install 'tuiflow[serve]'"
        else:
            args += ["--host", "no-such-host.invalid"]
            expected = "--host 'no-such-host.invalid' is not"
        result = subprocess.run([sys.executable, "-m", "tuiflow", "serve", "--home", str(home.home), *args],
                                capture_output=True, text=True, env=env, cwd=REPO, timeout=60,
                                stdin=subprocess.DEVNULL)
    assert result.returncode == 2, result
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("tuiflow: error: ") and expected in lines[0], result.stderr
    assert result.stdout == ""


# --- a real browser ----------------------------------------------------------------------------------

# textual-serve keeps its xterm.js Terminal out of reach (in a closure), and draws it on a canvas, so the
# DOM holds no text. Before the page's script runs, catch the Terminal as the page stores it (as
# `this.terminal`) and read its rows through xterm's public buffer API: what the user sees.
CATCH_TERMINAL = """
window.__terminals = [];
Object.defineProperty(Object.prototype, "terminal", {configurable: true, set(value) {
  Object.defineProperty(this, "terminal", {value, writable: true, configurable: true, enumerable: true});
  window.__terminals.push(value);
}});
"""
READ_SCREEN = """(() => {
  const terminal = (window.__terminals || [])[0];  // none yet while the page loads
  const state = document.body ? document.body.className : "";
  if (!terminal) return {state, rows: []};
  const buffer = terminal.buffer.active, rows = [];
  for (let i = 0; i < buffer.length; i++) rows.push(buffer.getLine(i).translateToString(true));
  return {state, rows};
})()"""


class DevTools:
    """One page of a headless Chromium, driven over the DevTools protocol."""

    def __init__(self, websocket: aiohttp.ClientWebSocketResponse) -> None:
        self.websocket, self.calls = websocket, 0

    async def call(self, method: str, **params: Any) -> dict[str, Any]:
        self.calls += 1
        await self.websocket.send_json({"id": self.calls, "method": method, "params": params})
        while True:
            answer = json.loads((await asyncio.wait_for(self.websocket.receive(), 30)).data)
            if answer.get("id") == self.calls:
                if "error" in answer:
                    raise AssertionError(f"{method}: {answer['error']}")
                return answer["result"]

    async def evaluate(self, expression: str) -> Any:
        result = await self.call("Runtime.evaluate", expression=expression, returnByValue=True)
        return result["result"].get("value")

    async def wait_screen(self, *texts: str, timeout: float = 30) -> str:
        deadline = time.monotonic() + timeout
        while True:
            shown = await self.evaluate(READ_SCREEN)
            screen = "\n".join(shown["rows"])
            if "-first-byte" in shown["state"] and all(text in screen for text in texts):
                return screen
            if time.monotonic() > deadline:
                raise AssertionError(f"{texts} not in the browser after {timeout:g} s (page: {shown['state']!r}):\n"
                                     f"{screen}")
            await asyncio.sleep(0.2)


@pytest.fixture
def chromium(tmp_path: Path) -> Iterator[str]:
    """A headless Chromium of the test's own; the DevTools address of its first page."""
    if CHROMIUM is None:
        if os.environ.get("CI"):
            pytest.fail("chromium is not installed, and CI must run the browser test (.ci/run installs it)")
        pytest.skip("chromium is not installed (apt-get install chromium); CI installs it")
    profile = Path(tempfile.mkdtemp(prefix="chromium-", dir=tmp_path))
    with open(tmp_path / "chromium.log", "wb") as log:
        browser = subprocess.Popen([CHROMIUM, *CHROMIUM_FLAGS, f"--user-data-dir={profile}", "about:blank"],
                                   stdin=subprocess.DEVNULL, stdout=log, stderr=log, start_new_session=True)
    try:
        deadline = time.monotonic() + 30
        port_file = profile / "DevToolsActivePort"
        while not (port_file.exists() and port_file.read_text().count("\n") >= 1):
            if browser.poll() is not None or time.monotonic() > deadline:
                raise AssertionError(f"chromium did not start:\n{(tmp_path / 'chromium.log').read_text()}")
            time.sleep(0.1)
        port = int(port_file.read_text().split()[0])
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/json/list", timeout=10) as response:
            [page] = [target for target in json.load(response) if target["type"] == "page"]
        yield page["webSocketDebuggerUrl"]
    finally:
        try:
            os.killpg(browser.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        browser.wait(10)


def test_the_app_draws_its_dashboard_in_headless_chromium(home: Lab, serve: Any, chromium: str) -> None:
    served = serve()
    served.wait_listening()

    async def browse() -> str:
        async with aiohttp.ClientSession() as session, session.ws_connect(chromium, max_msg_size=0) as websocket:
            page = DevTools(websocket)
            await page.call("Page.enable")
            await page.call("Page.addScriptToEvaluateOnNewDocument", source=CATCH_TERMINAL)
            await page.call("Page.navigate", url=served.url + "/")
            dashboard = await page.wait_screen("tuiflow", "GPU0", "GPU1", "Fake GPU", "q quit")
            # Keys typed in the page reach the app: `?` opens the help.
            await page.evaluate("window.__terminals[0].focus()")
            await page.call("Input.dispatchKeyEvent", type="keyDown", key="?", text="?")
            await page.call("Input.dispatchKeyEvent", type="keyUp", key="?")
            await page.wait_screen("Every key, and its id", "esc close")
            return dashboard

    dashboard = asyncio.run(browse())
    assert "Nothing has run" in dashboard
    apps = served.wait_app_processes(1)  # the tab is still open
    assert served.stop(signal.SIGINT) == 0, served.output()
    assert_gone(apps)
