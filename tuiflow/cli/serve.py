"""``tuiflow serve``: the app of ``tuiflow tui`` in a browser, through textual-serve.

Each browser tab gets an app process of its own (``python -m tuiflow tui`` with the same home and
options), spoken to over a websocket. Bound to 127.0.0.1 unless ``--host`` says otherwise: whoever
reaches the port gets the app, and the app launches and cancels runs.
"""

from __future__ import annotations

import errno
import ipaddress
import math
import shlex
import socket
import sys
import time
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import typer

from tuiflow.cli.app import MAX_SECONDS, HomeOption, app, fail, open_lab, whole_number
from tuiflow.cli.tui import THEMES_HELP

if TYPE_CHECKING:
    from aiohttp import web

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8000
LOCAL_NAMES = frozenset({"localhost", "localhost.localdomain", "ip6-localhost"})
STOP_GRACE_S = 3.0
"""How long an app process has to quit after the server stops before it is terminated."""
INSTALL_HINT = "pip install 'tuiflow[serve]'"


def is_loopback(host: str) -> bool:
    """Whether ``host`` (a name or an address, IPv6 with or without brackets) is this machine's loopback."""
    host = host.strip("[]").lower()
    if host in LOCAL_NAMES or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def app_command(home: str | None, refresh: float, ascii_only: bool, theme: str) -> str:
    """The shell line textual-serve runs for each browser tab: this Python's ``tuiflow tui`` with the same
    home and options (``exec``: the app is the server's child itself, not a shell's)."""
    argv = [sys.executable, "-m", "tuiflow", "tui", "--refresh", f"{refresh:g}", "--theme", theme]
    if home is not None:
        argv += ["--home", home]
    if ascii_only:
        argv.append("--ascii")
    return "exec " + shlex.join(argv)


def check_app_options(home: str | None, refresh: float, theme: str) -> None:
    """Refuse, on this command line, what `tuiflow tui` would refuse in every browser tab: a bad refresh,
    home or theme. The home is opened (never created) to find a foreign or newer store now."""
    if not math.isfinite(refresh) or refresh < 0.1:
        fail(f"--refresh must be at least 0.1 seconds, not {refresh:g}")
    if refresh > MAX_SECONDS:
        fail(f"--refresh must be at most {MAX_SECONDS:,.0f} seconds, not {refresh:g}")
    if home is not None and not home.strip():
        fail("--home must name a folder, not an empty string")
    from tuiflow.tui import Options, TuiflowApp

    themes = TuiflowApp(Options(home=home, refresh_s=refresh, theme=theme)).available_themes
    if theme not in themes:
        fail(f"--theme {theme!r} is not a theme: {', '.join(sorted(themes))}")
    open_lab(home, missing_ok=True)


def check_port_free(host: str, port: int) -> None:
    """Bind every address ``host`` names, as the server will, and let go: a port in use or a host that is
    not this machine's is one line now, not a traceback after the banner."""
    try:
        addresses = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    except socket.gaierror as exc:
        fail(f"--host {host!r} is not a name or address of this machine ({exc.strerror})")
    for family, kind, protocol, _, address in addresses:
        with socket.socket(family, kind, protocol) as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                probe.bind(address)
            except OSError as exc:
                fail(_bind_error(host, port, exc))


def _bind_error(host: str, port: int, exc: OSError) -> str:
    if exc.errno == errno.EADDRINUSE:
        return f"port {port} on {host} is in use: choose another with --port"
    if exc.errno == errno.EACCES:
        return f"port {port} on {host}: permission denied (ports under 1024 need root): choose --port {DEFAULT_PORT}"
    if exc.errno == errno.EADDRNOTAVAIL:
        return f"--host {host!r} is not an address of this machine"
    return f"cannot listen on {host}:{port}: {exc.strerror or exc}"


def make_server(command: str, host: str, port: int, public_url: str | None) -> Any:
    """A textual-serve ``Server`` for ``command`` that also guards the app (imported here: textual-serve is
    an extra, and `--help` stays fast). A missing textual-serve is one line."""
    try:
        from aiohttp import web
        from textual_serve.server import Server
    except ImportError:
        fail(f"`tuiflow serve` needs textual-serve, which is not installed: {INSTALL_HINT}")

    class GuardedServer(Server):
        """textual-serve's server, with page URLs that follow the browser and two guards.

        - Without ``public_url`` the page's links and websocket URL use the address the browser asked
          for (its Host), so a port forwarded to any local port works; textual-serve would write its own
          bind address there.
        - Bound to loopback, a request for another host name is refused: a web page of a DNS-rebinding
          site cannot read or drive the app.
        - A websocket opened by a page of another origin is refused: any site the user visits could
          otherwise open ws://127.0.0.1:PORT/ws and type into the app (websockets ignore same-origin).
        """

        def __init__(self) -> None:
            super().__init__(command, host=host, port=port, title="tuiflow", public_url=public_url)
            self.fixed_url = public_url is not None
            self.public_netloc = urlsplit(public_url).netloc.lower() if public_url else None

        def refusal(self, request: web.Request) -> str | None:
            """Why this request is refused, or None."""
            asked = (request.host or "").lower()
            asked_name = urlsplit(f"//{asked}").hostname or ""
            if is_loopback(host) and asked != self.public_netloc and not is_loopback(asked_name):
                return f"this app is served to localhost only, not to {asked!r}"
            origin = request.headers.get("Origin")
            same_origin = origin is None or urlsplit(origin).netloc.lower() in {asked, self.public_netloc}
            if request.path.endswith("/ws") and not same_origin:
                return f"a page of {origin} may not open the app"
            return None

        async def handle_index(self, request: web.Request) -> web.StreamResponse:
            if (why := self.refusal(request)) is not None:
                raise web.HTTPForbidden(text=f"tuiflow serve: {why}\n")
            if not self.fixed_url:
                # The parent handler reads public_url without awaiting anything, so no other request
                # sees this value in between.
                self.public_url = f"{request.scheme}://{request.host}"
            return await super().handle_index(request)

        async def handle_websocket(self, request: web.Request) -> web.StreamResponse:
            if (why := self.refusal(request)) is not None:
                raise web.HTTPForbidden(text=f"tuiflow serve: {why}\n")
            return await super().handle_websocket(request)

        async def on_startup(self, app: web.Application) -> None:
            shown = public_url or f"http://{f'[{host}]' if ':' in host else host}:{port}"
            self.console.print(f"tuiflow serve: the app is at {shown} (Ctrl+C stops the server; runs go on)",
                               highlight=False, soft_wrap=True)

        async def on_shutdown(self, app: web.Application) -> None:
            """Stop the apps while the loop still runs, so that it reaps them (textual-serve leaves them
            to outlive it, and they would be met again, unreaped, by a closed loop)."""
            await stop_apps_in_loop()

        def serve(self, debug: bool = False) -> None:
            """As textual-serve's, but with a short shutdown: an open tab no longer holds a stop for a minute."""
            import asyncio
            import signal

            self.debug = debug
            self.initialize_logging()
            loop = asyncio.new_event_loop()
            loop.add_signal_handler(signal.SIGINT, self.request_exit)
            loop.add_signal_handler(signal.SIGTERM, self.request_exit)
            web.run_app(self._make_app(), host=host, port=port, handle_signals=False, loop=loop,
                        shutdown_timeout=1.0, print=lambda *args: None)

    return GuardedServer()


def _terminate_apps() -> list[Any]:
    """SIGTERM the server's app processes; them. Direct children only: a daemon an app started lives in
    a session of its own and goes on, and so do its runs."""
    import psutil

    children = psutil.Process().children(recursive=False)
    for child in children:
        try:
            child.terminate()
        except psutil.NoSuchProcess:
            pass
    return children


async def stop_apps_in_loop(grace: float = STOP_GRACE_S) -> None:
    """Terminate the server's app processes and let the loop's child watcher reap them (waiting here
    with os.waitpid would take their exit status from it)."""
    import asyncio

    import psutil

    children = _terminate_apps()
    deadline = time.monotonic() + grace
    while any(psutil.pid_exists(child.pid) for child in children) and time.monotonic() < deadline:
        await asyncio.sleep(0.05)


def stop_app_processes(grace: float = STOP_GRACE_S) -> None:
    """After the server stopped: end the app processes still there (one that ignored SIGTERM, one that
    started as the server stopped), killing those that outlast ``grace``."""
    import psutil

    _, alive = psutil.wait_procs(_terminate_apps(), timeout=grace)
    for child in alive:
        try:
            child.kill()
        except psutil.NoSuchProcess:
            pass
    psutil.wait_procs(alive, timeout=grace)


@app.command("serve")
def serve_command(
    home: str | None = HomeOption,
    port: int = typer.Option(DEFAULT_PORT, "--port", metavar="PORT", callback=whole_number("--port", 1, 65535),
                             help="The TCP port to listen on."),
    host: str = typer.Option(DEFAULT_HOST, "--host", metavar="ADDRESS",
                             help="The address to listen on. Anything but loopback lets whoever reaches the "
                                  "port launch and cancel runs."),
    public_url: str | None = typer.Option(None, "--public-url", metavar="URL", show_default=False,
                                          help="The URL browsers use, when a proxy puts the app at another "
                                               "address (default: the address each browser asked for)."),
    refresh: float = typer.Option(1.0, "--refresh", metavar="SECONDS", help="Seconds between two reads of the store."),
    ascii_only: bool = typer.Option(False, "--ascii", help="Draw with ASCII only: no block or braille glyphs."),
    theme: str = typer.Option("tuiflow", "--theme", metavar="NAME", help=THEMES_HELP),
) -> None:
    """Serve the app in a browser (each tab its own app); Ctrl+C stops the server, never the runs."""
    if not host.strip():
        fail("--host must name an address, not an empty string")
    if public_url is not None and urlsplit(public_url).scheme not in ("http", "https"):
        fail(f"--public-url must start with http:// or https://, not {public_url!r}")
    public_url = public_url.rstrip("/") if public_url else None
    check_app_options(home, refresh, theme)
    server = make_server(app_command(home, refresh, ascii_only, theme), host, port, public_url)
    check_port_free(host, port)
    if not is_loopback(host):
        typer.echo(f"tuiflow serve: warning: listening on {host}:{port}: anyone who can reach this port gets "
                   "the app, and can launch and cancel runs", err=True)
    try:
        server.serve()
    except OSError as exc:  # lost the port between the check and the bind
        fail(_bind_error(host, port, exc))
    finally:
        stop_app_processes()
