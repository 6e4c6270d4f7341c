"""Start the lifecycle page: ``solara run`` on ``sim/viz/app.py``, offline and local.

Solara reads the app from a file, so the scenario and its overrides reach the
app through environment variables (``CLMSIM_VIZ_SCENARIO``,
``CLMSIM_VIZ_OVERRIDES``, one ``KEY.PATH=VALUE`` a line). The server is
started from the app's folder with telemetry off and the front-end assets
served locally (``solara-assets``), as TRAPS.md recommends.
"""

from __future__ import annotations

import contextlib
import errno
import os
import signal
import socket
import subprocess
import sys
import threading
from pathlib import Path

__all__ = ["APP", "check_address", "serve", "viz_environment"]

#: The Solara app file.
APP = Path(__file__).with_name("app.py")
#: Modules whose UserWarnings the page's server does not print (see viz_environment).
QUIET_MODULES = ("solara.validate_hooks", "solara.server.starlette")
#: Exit code after SIGTERM (128 + 15), as ``clmsim run``'s.
EXIT_TERMINATED = 143
#: How long the server gets to stop after SIGTERM before it is killed.
STOP_SECONDS = 10.0


def viz_environment(scenario: Path, overrides: list[str]) -> dict[str, str]:
    """The environment the page needs: scenario, overrides, no telemetry, headless plots."""
    env = dict(os.environ)
    env.update({
        "CLMSIM_VIZ_SCENARIO": str(scenario.resolve()),
        "CLMSIM_VIZ_OVERRIDES": "\n".join(overrides),
        "SOLARA_TELEMETRY_MIXPANEL_ENABLE": "False",
        "MPLBACKEND": "Agg",
        # warnings about the libraries' own code, a screenful at every start and first
        # page load (Mesa's use of a Solara hook; session cookies over plain http on
        # loopback): nothing a teacher can act on
        "PYTHONWARNINGS": ",".join(filter(None, (
            env.get("PYTHONWARNINGS"), *(f"ignore::UserWarning:{module}"
                                         for module in QUIET_MODULES)))),
    })
    root = str(Path(__file__).resolve().parents[2])
    env["PYTHONPATH"] = os.pathsep.join(p for p in (root, env.get("PYTHONPATH", "")) if p)
    return env


def check_address(host: str, port: int) -> None:
    """Raise :class:`OSError` naming ``--host``/``--port`` unless the page can listen there.

    Solara would print its URL, a page of warnings and ``[Errno 98] ... address already
    in use`` and exit 3; this is one line (exit 2) before anything starts. The probe binds
    what the server binds (uvicorn's ``loop.create_server(host=..., port=...)``): every
    address ``getaddrinfo`` gives for a passive socket, IPv6 ones IPv6-only, each with
    ``SO_REUSEADDR`` (a port in TIME_WAIT is not refused), an address not on this machine
    skipped (its family is not enabled). Only the first was probed: ``localhost`` may give
    ``::1`` first, so a port taken on 127.0.0.1 passed and Solara failed after all.
    """
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    except socket.gaierror as exc:
        raise OSError(errno.EINVAL, f"no such address ({exc.strerror})", f"--host {host}") from None
    bound = 0
    with contextlib.ExitStack() as probes:  # all held at once, as the server holds them
        for family, kind, proto, _, address in dict.fromkeys(infos):
            try:
                probe = probes.enter_context(socket.socket(family, kind, proto))
            except OSError:
                continue  # a family this machine lacks: the server skips it too
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            if family == socket.AF_INET6 and hasattr(socket, "IPPROTO_IPV6"):
                probe.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
            try:
                probe.bind(address)
            except OSError as exc:
                if exc.errno == errno.EADDRNOTAVAIL:
                    continue
                where = "" if address[0] == host else f" on {address[0]}"
                raise OSError(exc.errno, f"cannot listen on {host}:{port} ({exc.strerror}"
                              f"{where}); choose another --port", f"--port {port}") from None
            bound += 1
    if not bound:
        raise OSError(errno.EADDRNOTAVAIL, f"cannot listen on {host}:{port} (no address of it "
                      "is on this machine); expected a local address such as 127.0.0.1",
                      f"--host {host}")


def serve(scenario: Path, overrides: list[str], host: str, port: int) -> int:
    """Run the Solara server in the foreground until interrupted; return its exit code.

    Raises:
        OSError: The page cannot listen on ``host:port`` (:func:`check_address`).
    """
    check_address(host, port)
    command = [sys.executable, "-m", "solara", "run", str(APP), "--host", host,
               "--port", str(port), "--no-open", "--production"]
    print(f"clmsim viz: http://{host}:{port}/  (Ctrl+C to stop)", flush=True)
    server = subprocess.Popen(command, cwd=APP.parent, env=viz_environment(scenario, overrides))
    return _wait(server)


class _Terminated(KeyboardInterrupt):
    """SIGTERM (``kill PID``) while the page is served."""


def _raise_terminated(signum: int, frame: object) -> None:
    raise _Terminated


def _wait(server: subprocess.Popen[bytes]) -> int:
    """Wait for the server; on Ctrl-C or SIGTERM stop it, so none is left serving the port.

    ``kill PID`` of ``clmsim viz`` used to end this process only: the Solara server
    went on serving, orphaned, and the next ``clmsim viz`` found its port taken.
    """
    main = threading.current_thread() is threading.main_thread()
    previous = signal.signal(signal.SIGTERM, _raise_terminated) if main else None
    try:
        return server.wait()
    except KeyboardInterrupt as exc:  # Ctrl-C: the server has it too and is stopping
        return EXIT_TERMINATED if isinstance(exc, _Terminated) else 0
    finally:
        if main:
            signal.signal(signal.SIGTERM, signal.SIG_DFL if previous is None else previous)
        if server.poll() is None:
            server.terminate()
            try:
                server.wait(timeout=STOP_SECONDS)
            except subprocess.TimeoutExpired:
                server.kill()
                server.wait()
