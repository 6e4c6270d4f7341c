"""Start the lifecycle page: ``solara run`` on ``sim/viz/app.py``, offline and local.

Solara reads the app from a file, so the scenario and its overrides reach the
app through environment variables (``CLMSIM_VIZ_SCENARIO``,
``CLMSIM_VIZ_OVERRIDES``, one ``KEY.PATH=VALUE`` a line). The server is
started from the app's folder with telemetry off and the front-end assets
served locally (``solara-assets``), as TRAPS.md recommends.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

__all__ = ["APP", "serve", "viz_environment"]

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


def serve(scenario: Path, overrides: list[str], host: str, port: int) -> int:
    """Run the Solara server in the foreground until interrupted; return its exit code."""
    command = [sys.executable, "-m", "solara", "run", str(APP), "--host", host,
               "--port", str(port), "--no-open", "--production"]
    print(f"clmsim viz: http://{host}:{port}/  (Ctrl+C to stop)", flush=True)
    try:
        return subprocess.call(command, cwd=APP.parent, env=viz_environment(scenario, overrides))
    except KeyboardInterrupt:
        return 0
