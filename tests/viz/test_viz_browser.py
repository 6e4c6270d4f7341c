"""End to end: ``clmsim viz`` in headless Chromium (Debian's), driven by Playwright.

Skipped, with the reason, only when Playwright or a Chromium cannot be
launched. Everything is bounded: the server is killed in a ``finally``.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync"]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _chromium() -> str | None:
    for name in ("/usr/bin/chromium", "/usr/bin/chromium-browser"):
        if Path(name).exists():
            return name
    return shutil.which("chromium") or shutil.which("chromium-browser")


@pytest.fixture
def server(tmp_path: Path) -> Iterator[str]:
    port = _free_port()
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(
        p for p in (str(REPO), os.environ.get("PYTHONPATH", "")) if p))
    log = (tmp_path / "server.log").open("w")
    proc = subprocess.Popen(
        [sys.executable, "-m", "sim.cli", "viz", str(REPO / "scenarios" / "voucher.yaml"),
         "--port", str(port)],
        cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    url = f"http://127.0.0.1:{port}/"
    try:
        deadline = time.monotonic() + 40
        while True:
            try:
                with urllib.request.urlopen(url, timeout=2) as response:
                    if response.status == 200:
                        break
            except OSError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                log.close()
                pytest.fail(f"viz server did not answer: {(tmp_path / 'server.log').read_text()}")
            time.sleep(0.3)
        yield url
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
        log.close()


def _month(page: object) -> int:
    text = page.get_by_text(re.compile(r"month \d+")).first.inner_text()  # type: ignore[attr-defined]
    return int(re.search(r"month (\d+)", text).group(1))  # type: ignore[union-attr]


def _profit(page: object) -> str:
    text = page.locator("body").inner_text()  # type: ignore[attr-defined]
    return re.search(r"cumulative profit (\S+) million CNY", text).group(1)  # type: ignore[union-attr]


def _image_sources(page: object) -> list[str]:
    return page.eval_on_selector_all(  # type: ignore[attr-defined]
        "img", "els => els.map(e => e.src).filter(s => s.length > 0)")


def _one_month_after_reset(page: object) -> list[str]:
    """Reset (levers apply), step one month, and return the charts' sources."""
    page.get_by_role("button", name="Reset").click()  # type: ignore[attr-defined]
    page.get_by_text(re.compile(r"month 0")).first.wait_for()  # type: ignore[attr-defined]
    page.get_by_role("button", name="Step").click()  # type: ignore[attr-defined]
    page.get_by_text(re.compile(r"month 1")).first.wait_for()  # type: ignore[attr-defined]
    page.wait_for_timeout(500)  # type: ignore[attr-defined]
    return _image_sources(page)


def test_page_plays_updates_charts_and_a_lever_changes_the_outcome(
    server: str, tmp_path: Path
) -> None:
    sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed")
    chromium = _chromium()
    if chromium is None:
        pytest.skip("no Chromium: apt-get install chromium (see .ci/run)")
    started = time.monotonic()
    with sync_api.sync_playwright() as p:
        try:
            browser = p.chromium.launch(executable_path=chromium, args=FLAGS, timeout=30_000)
        except Exception as exc:  # any launch failure means: no browser here
            pytest.skip(f"Chromium cannot be launched here: {exc}")
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 1800})
            page.set_default_timeout(30_000)
            page.goto(server)
            page.get_by_text(re.compile(r"month 0")).first.wait_for()
            page.wait_for_function("document.querySelectorAll('img').length >= 5")
            before = _image_sources(page)
            page.get_by_role("button", name="▶").click()
            page.wait_for_function(
                "() => { const m = document.body.innerText.match(/month (\\d+)/);"
                " return m && Number(m[1]) >= 3; }")
            page.get_by_role("button", name="❚❚").click()
            assert _month(page) >= 3
            page.wait_for_timeout(500)
            after = _image_sources(page)
            assert after != before, "charts did not change while the model played"

            default_charts = _one_month_after_reset(page)
            default_profit = _profit(page)
            same = _one_month_after_reset(page)  # same levers, same seed: same pictures
            assert same == default_charts, "a reset run is not reproducible"
            assert _profit(page) == default_profit

            voucher = page.get_by_role("slider").last  # the page's own lever comes last
            assert voucher.get_attribute("aria-valuenow") == "500"
            voucher.focus()
            voucher.press("End")  # face value 500 -> 2,000 CNY
            assert voucher.get_attribute("aria-valuenow") == "2000"
            bigger_voucher = _one_month_after_reset(page)
            assert bigger_voucher != default_charts, "the voucher slider did not change the outcome"
            assert _profit(page) != default_profit, "the voucher slider did not change profit"

            page.get_by_text("strategies on", exact=True).click()  # the box is under a ripple
            assert _one_month_after_reset(page) != bigger_voucher, "strategies off changed nothing"
            shot = tmp_path / "viz.png"
            page.screenshot(path=str(shot), full_page=True)
            assert shot.stat().st_size > 10_000
            print(f"screenshot: {shot} ({time.monotonic() - started:.1f} s in the browser)")
        finally:
            browser.close()
    assert time.monotonic() - started < 90
