"""Start the lifecycle page: ``solara run`` on ``sim/viz/app.py``, offline and local.

Solara reads the app from a file, so the scenario and its overrides reach the
app through environment variables (``CLMSIM_VIZ_SCENARIO``,
``CLMSIM_VIZ_OVERRIDES``, one ``KEY.PATH=VALUE`` a line). The server is
started from the app's folder with telemetry off and the front-end assets
served locally (``solara-assets``), as TRAPS.md recommends.
"""

from __future__ import annotations

import errno
import os
import socket
import subprocess
import sys
from pathlib import Path

__all__ = ["APP", "check_address", "serve", "viz_environment"]

#: The Solara app file.
APP = Path(__file__).with_name("app.py")


def viz_environment(scenario: Path, overrides: list[str]) -> dict[str, str]:
    """The environment the page needs: scenario, overrides, no telemetry, headless plots."""
    env = dict(os.environ)
    env.update({
        "CLMSIM_VIZ_SCENARIO": str(scenario.resolve()),
        "CLMSIM_VIZ_OVERRIDES": "\n".join(overrides),
        "SOLARA_TELEMETRY_MIXPANEL_ENABLE": "False",
        "MPLBACKEND": "Agg",
    })
    root = str(Path(__file__).resolve().parents[2])
    env["PYTHONPATH"] = os.pathsep.join(p for p in (root, env.get("PYTHONPATH", "")) if p)
    return env


def check_address(host: str, port: int) -> None:
    """Raise :class:`OSError` naming ``--host``/``--port`` unless the page can listen there.

    Solara would print its URL, a page of warnings and ``[Errno 98] ... address already
    in use`` and exit 3; this is one line (exit 2) before anything starts. The test bind
    uses ``SO_REUSEADDR`` as the server does, so a port in TIME_WAIT is not refused.
    """
    try:
        family, kind, proto, _, address = socket.getaddrinfo(host, port,
                                                             type=socket.SOCK_STREAM)[0]
    except socket.gaierror as exc:
        raise OSError(errno.EINVAL, f"no such address ({exc.strerror})", f"--host {host}") from None
    with socket.socket(family, kind, proto) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(address)
        except OSError as exc:
            raise OSError(exc.errno, f"cannot listen on {host}:{port} ({exc.strerror}); "
                          "choose another --port", f"--port {port}") from None


def serve(scenario: Path, overrides: list[str], host: str, port: int) -> int:
    """Run the Solara server in the foreground until interrupted; return its exit code.

    Raises:
        OSError: The page cannot listen on ``host:port`` (:func:`check_address`).
    """
    check_address(host, port)
    command = [sys.executable, "-m", "solara", "run", str(APP), "--host", host,
               "--port", str(port), "--no-open", "--production"]
    print(f"clmsim viz: http://{host}:{port}/  (Ctrl+C to stop)", flush=True)
    try:
        return subprocess.call(command, cwd=APP.parent, env=viz_environment(scenario, overrides))
    except KeyboardInterrupt:
        return 0
