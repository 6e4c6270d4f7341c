from __future__ import annotations

import contextlib
from pathlib import Path

import numpy as np
import pytest

from sim.viz.model import (
    DOTS,
    PAGE_POPULATION,
    VizModel,
    draw_dots,
    draw_flows,
    levers,
    page_scenario,
)
from sim.viz.serve import viz_environment

SCENARIOS = Path(__file__).resolve().parents[2] / "scenarios"


def test_page_shrinks_the_bank_unless_the_user_sets_its_size() -> None:
    small = page_scenario(SCENARIOS / "voucher.yaml", [])
    assert small.population.size == PAGE_POPULATION
    assert small.population.prospects < 26000 / 5
    assert small.population.prospects == round(26000 * PAGE_POPULATION / 148300)  # same share
    mine = page_scenario(SCENARIOS / "voucher.yaml", ["population.size=3000"])
    assert mine.population.size == 3000
    assert mine.population.prospects < small.population.prospects


def test_page_keeps_whole_branches_and_scales_what_the_bank_counts() -> None:
    file = page_scenario(SCENARIOS / "branches.yaml", ["population.size=148300"])
    page = page_scenario(SCENARIOS / "branches.yaml", [])
    assert page.population.branches == 1
    assert page.population.size * 10 == file.population.size  # same load per branch
    assert page.capacity.rm_hours_per_month * 10 == file.capacity.rm_hours_per_month
    voucher = page_scenario(SCENARIOS / "voucher.yaml", [])
    full = page_scenario(SCENARIOS / "voucher.yaml", ["population.size=148300"])
    assert voucher.strategies[0].budget.monthly < full.strategies[0].budget.monthly


def test_levers_follow_the_scenario() -> None:
    assert set(levers(page_scenario(SCENARIOS / "voucher.yaml", []))) == {
        "strategies_on", "voucher_value"}
    assert "tellers" in levers(page_scenario(SCENARIOS / "branches.yaml", []))


def test_flows_account_for_every_row_and_levers_change_the_model() -> None:
    sizes = "population.size=2000\npopulation.prospects=300\nhorizon_months=6"
    path = str(SCENARIOS / "voucher.yaml")
    model = VizModel(voucher_value=1500, path=path, overrides=sizes)
    assert model.scenario.strategies[0].params["face_value"] == 1500
    before = np.bincount(model.population.stage, minlength=len(model.stage_names))
    model.step()
    assert (model.flows.sum(axis=1).to_numpy() == before).all()
    assert model.flows.to_numpy().sum() + model.arrivals.sum() == len(model.population)
    off = VizModel(strategies_on=False, path=path, overrides=sizes)
    assert off.scenario.strategies == []
    draw_flows(model)
    draw_dots(model)


def test_the_page_builds_the_monthly_frame_once_a_month() -> None:
    sizes = "population.size=1000\npopulation.prospects=100\nhorizon_months=6"
    model = VizModel(path=str(SCENARIOS / "voucher.yaml"), overrides=sizes)
    first = model.monthly_frame()
    assert model.monthly_frame() is first  # the counter and the charts share one frame
    model.step()
    after = model.monthly_frame()
    assert after is not first and len(after) == len(first) + 1 == 2
    assert after.equals(super(VizModel, model).monthly_frame())


def test_server_environment_is_offline_and_names_the_scenario() -> None:
    env = viz_environment(SCENARIOS / "voucher.yaml", ["seed=3"])
    assert env["SOLARA_TELEMETRY_MIXPANEL_ENABLE"] == "False"
    assert env["CLMSIM_VIZ_OVERRIDES"] == "seed=3"
    assert env["CLMSIM_VIZ_SCENARIO"].endswith("voucher.yaml")


def test_cli_viz_refuses_a_bad_scenario_without_starting_a_server(tmp_path: Path, cli) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("extends: nowhere.yaml\nname: bad\n", encoding="utf-8")
    result = cli("viz", bad, "--port", "1")
    assert result.code == 2 and "bad.yaml" in result.err


def test_cli_viz_refuses_a_bad_port(cli) -> None:
    result = cli("viz", SCENARIOS / "voucher.yaml", "--port", "70000")
    assert result.code == 2 and "--port" in result.err


def test_levers_show_the_strategy_default_when_the_scenario_leaves_it_out() -> None:
    """abc_d_playbook sets no voucher value or subsidy: the sliders show the strategies' own
    defaults (500 CNY, 20 bp), so a reset does not switch them off by sending zeros."""
    from strategies.pricing_subsidy import PricingSubsidy
    from strategies.voucher import Voucher

    page = page_scenario(SCENARIOS / "abc_d_playbook.yaml", [])
    params = levers(page)
    assert params["voucher_value"]["value"] == Voucher().face_value == 500
    assert params["subsidy_bp"]["value"] == PricingSubsidy().bump_bp == 20


SMALL = "population.size=1500\npopulation.prospects=200\nhorizon_months=6"


def _after(months: int, **levers_set: int) -> VizModel:
    model = VizModel(path=str(SCENARIOS / "abc_d_playbook.yaml"), overrides=SMALL,
                     **levers_set)  # type: ignore[arg-type]  # (the levers are ints or None)
    for _ in range(months):
        model.step()
    return model


def test_a_zero_subsidy_runs_the_page_without_the_subsidy() -> None:
    """The teaching plan moves the subsidy slider to 0; the strategy refuses 0 bp, so the
    page drops it (it failed to build the model before)."""
    off = _after(1, subsidy_bp=0)
    names = [s.name for s in off.scenario.strategies]
    assert "pricing_subsidy" not in names and "voucher" in names
    assert "cost_strategy_pricing_subsidy" not in off.monthly_frame()
    on = _after(1, subsidy_bp=40)
    assert on.monthly_frame()["cost_strategy_pricing_subsidy"].iloc[-1] > 0


def test_the_levers_change_what_the_model_does() -> None:
    few, many = _after(2, outreach_calls=0), _after(2, outreach_calls=4)
    calls = "strategy_outreach_contacts_requested"
    assert many.monthly_frame()[calls].sum() > few.monthly_frame()[calls].sum() > 0  # SMS too
    low, high = _after(2, subsidy_bp=10), _after(2, subsidy_bp=50)
    cost = "cost_strategy_pricing_subsidy"
    assert high.monthly_frame()[cost].sum() > 3 * low.monthly_frame()[cost].sum() > 0
    branches = str(SCENARIOS / "branches.yaml")
    short = VizModel(tellers=1, path=branches, overrides=SMALL)
    staffed = VizModel(tellers=6, path=branches, overrides=SMALL)
    for model in (short, staffed):
        model.step()
    wait = "channels_mean_wait"
    assert short.monthly_frame()[wait].iloc[-1] > staffed.monthly_frame()[wait].iloc[-1]


def test_flow_and_dot_pictures_show_the_model() -> None:
    from matplotlib.patches import FancyArrowPatch

    model = _after(1)
    fig = draw_flows(model)
    moved = model.flows.to_numpy().copy()
    np.fill_diagonal(moved, 0)
    arrows = [p for p in fig.axes[0].patches if isinstance(p, FancyArrowPatch)]
    assert len(arrows) == np.count_nonzero(moved) > 0  # one arrow per stage-to-stage flow
    stock = np.bincount(model.population.stage, minlength=len(model.stage_names))
    texts = {t.get_text() for t in fig.axes[0].texts}
    for name, count in zip(model.stage_names, stock, strict=True):
        assert f"{name}\n{count:,}" in texts
    dots = draw_dots(model)
    shown = sum(len(c.get_offsets()) for c in dots.axes[0].collections)
    assert shown == min(int(model.is_customer().sum()), DOTS)
    assert dots.axes[0].get_title() == f"{shown} customers, coloured by stage"


def test_backward_flows_are_drawn_below_the_boxes_by_their_labels() -> None:
    """The title says "forward above, backward below"; decline → maturity (win-back) was
    drawn as an arc bulging upward through the forward arrows, its count alone below."""
    from matplotlib.patches import FancyArrowPatch
    from matplotlib.path import Path as DrawnPath

    model = _after(1)
    moved = model.flows.to_numpy().copy()
    np.fill_diagonal(moved, 0)
    assert np.tril(moved).sum() > 0  # the month has backward moves (decline → maturity)
    fig = draw_flows(model)
    fig.canvas.draw()
    ax = fig.axes[0]
    arrows, sides = [], {True: 0, False: 0}
    for arrow in (p for p in ax.patches if isinstance(p, FancyArrowPatch)):
        path = arrow.get_path()  # in data coordinates: the arc (from, control, to), the head
        i, j = (round(path.vertices[k, 0] / 2) for k in (0, 2))  # stage boxes are 2 apart
        y = path.vertices[path.codes != DrawnPath.CLOSEPOLY, 1]
        forward = j > i
        sides[forward] += 1
        assert (y > 0).all() if forward else (y < 0).all(), (i, j, y)
        arrows.append((float(i + j), forward, f"{moved[i, j]:,}"))  # label x: midpoint
    counts = [(t.get_position()[0], bool(t.get_position()[1] > 0), t.get_text())
              for t in ax.texts if "\n" not in t.get_text()]  # not the stage boxes
    assert sorted(counts) == sorted(arrows)  # each count on its arrow's side
    assert sides[True] > 0 and sides[False] > 0


def test_cli_viz_refuses_a_port_in_use_in_one_line(
    cli, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Solara printed the page's URL, a page of warnings and "[Errno 98] ... address
    already in use", exit code 3; a teacher saw the URL and opened the wrong page."""
    import socket
    import subprocess

    started: list[object] = []
    monkeypatch.setattr(subprocess, "call", lambda *a, **k: started.append(a) or 0)
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = cli("viz", SCENARIOS / "voucher.yaml", "--port", port)
    assert result.code == 2 and result.err.count("\n") == 1, result.err
    assert f"--port {port}: cannot listen on 127.0.0.1:{port}" in result.err
    assert started == [] and "http://" not in result.out
    bad_host = cli("viz", SCENARIOS / "voucher.yaml", "--host", "no-such-host.invalid")
    assert bad_host.code == 2 and "--host no-such-host.invalid" in bad_host.err
    assert started == []


def test_sigterm_to_clmsim_viz_stops_its_server(tmp_path: Path) -> None:
    """``kill PID`` of ``clmsim viz`` ended clmsim only: the Solara server it had started
    went on serving, orphaned, and the next page found its port taken."""
    import os
    import signal
    import subprocess
    import sys
    import time

    pid_file = tmp_path / "server.pid"
    server = tmp_path / "server"  # stands in for `python -m solara run ...`: writes its pid
    server.write_text(f"#!{sys.executable}\nimport os, time\n"
                      f"open({str(pid_file)!r}, 'w').write(str(os.getpid()))\ntime.sleep(120)\n")
    server.chmod(0o755)
    script = ("import sys\nfrom pathlib import Path\nfrom sim.viz import serve\n"
              f"sys.executable = {str(server)!r}\n"
              f"sys.exit(serve.serve(Path({str(SCENARIOS / 'voucher.yaml')!r}), [], "
              "'127.0.0.1', 0))\n")
    root = str(Path(__file__).resolve().parents[2])
    viz = subprocess.Popen([sys.executable, "-c", script], cwd=root,
                           env={**os.environ, "PYTHONPATH": root}, stdout=subprocess.DEVNULL)
    child = 0
    try:
        deadline = time.monotonic() + 60
        while not child and time.monotonic() < deadline:
            time.sleep(0.1)
            child = int(pid_file.read_text() or 0) if pid_file.exists() else 0
        assert child, "the stand-in server did not start"
        viz.send_signal(signal.SIGTERM)
        assert viz.wait(timeout=30) == 143
        time.sleep(0.2)
        with pytest.raises(ProcessLookupError):  # stopped and reaped, not orphaned
            os.kill(child, 0)
    finally:
        viz.kill()
        if child:
            with contextlib.suppress(ProcessLookupError):
                os.kill(child, signal.SIGKILL)


def test_the_server_does_not_print_the_libraries_warnings(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every start printed Solara's rules-of-hooks warning about Mesa's code, and the first
    page load a screenful about session cookies over http: noise on a teacher's terminal."""
    import warnings

    monkeypatch.setenv("PYTHONWARNINGS", "error::DeprecationWarning")
    env = viz_environment(SCENARIOS / "voucher.yaml", [])
    entries = env["PYTHONWARNINGS"].split(",")
    assert entries[0] == "error::DeprecationWarning"  # the user's own are kept
    assert {"ignore::UserWarning:solara.validate_hooks",
            "ignore::UserWarning:solara.server.starlette"} <= set(entries)
    with warnings.catch_warnings():  # each entry is one Python accepts
        for entry in entries:
            warnings._setoption(entry)  # type: ignore[attr-defined]


def test_the_outreach_calls_lever_moves_the_tier_and_segment_plans_too() -> None:
    """outreach.yaml calls C customers once a month and, from 200k CNY, twice (by_tier).
    The slider moved only the base plan: at 0 those tiers were still called twice a month
    (the page booked phone costs with "RM calls a month" at 0), and at 3 they got fewer
    calls than everyone else. Now every group's calls scale with the slider."""
    from strategies.outreach import Outreach

    path = str(SCENARIOS / "outreach.yaml")
    sizes = "population.size=3000\npopulation.prospects=300\nhorizon_months=6"
    page = page_scenario(Path(path), sizes.splitlines())
    assert levers(page)["outreach_calls"]["value"] == 1  # the file's base plan

    def plans(calls: int) -> tuple[VizModel, Outreach]:
        model = VizModel(outreach_calls=calls, path=path, overrides=sizes)
        return model, Outreach(**model.scenario.strategies[0].params)

    as_file, built = plans(1)
    assert as_file.scenario.strategies == page.strategies  # the slider's start: the file
    assert {t: p["phone"] for t, p in built.by_tier.items()} == dict.fromkeys(
        ["200k_1m", "1m_5m", "5m_6m", "private"], 2)
    silent, built = plans(0)
    assert built.contacts_per_month["phone"] == 0
    assert all(p["phone"] == 0 for p in [*built.by_tier.values(), *built.by_segment.values()])
    for _ in range(2):
        silent.step()
    frame = silent.monthly_frame()
    assert frame["strategy_outreach_cost_phone"].sum() == 0  # nobody called
    assert frame["strategy_outreach_cost_sms"].sum() > 0  # the rest of the plan still runs
    _, built = plans(3)
    assert built.contacts_per_month["phone"] == 3
    assert all(p["phone"] == 6 for p in built.by_tier.values())  # twice the base, as in the file
    assert built.by_segment["D"]["phone"] == 0  # DOMAIN §2: D gets push only, at any setting


def _resolving(monkeypatch: pytest.MonkeyPatch, host: str, addresses: list[str]) -> None:
    """Make ``host`` resolve to ``addresses`` in that order, as /etc/hosts may list them."""
    import socket

    from sim.viz import serve

    real = socket.getaddrinfo

    def getaddrinfo(name: str, port: int, *args: object, **kwargs: object) -> list[object]:
        if name != host:
            return real(name, port, *args, **kwargs)  # type: ignore[arg-type]
        return [info for address in addresses
                for info in real(address, port, *args, **kwargs)]  # type: ignore[arg-type]

    monkeypatch.setattr(serve.socket, "getaddrinfo", getaddrinfo)


def test_the_port_check_probes_every_address_the_server_binds(
    monkeypatch: pytest.MonkeyPatch
) -> None:
    """``localhost`` may resolve to ::1 first; the check bound only that, so a port taken
    on 127.0.0.1 passed, and Solara (binding both) failed after printing its URL."""
    import errno
    import socket

    from sim.viz.serve import check_address

    if not socket.has_ipv6:
        pytest.skip("no IPv6 here")
    with socket.socket(socket.AF_INET6) as free:  # a port free on ::1 ...
        free.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
        try:
            free.bind(("::1", 0))
        except OSError:
            pytest.skip("no ::1 here")
        port = free.getsockname()[1]
    with socket.socket() as taken:  # ... and taken on 127.0.0.1
        try:
            taken.bind(("127.0.0.1", port))
        except OSError:
            pytest.skip("the port was taken meanwhile")
        taken.listen()
        _resolving(monkeypatch, "localhost", ["::1", "127.0.0.1"])
        with pytest.raises(OSError, match=f"cannot listen on localhost:{port} .* on 127.0.0.1"):
            check_address("localhost", port)
    check_address("localhost", port)  # free on both: accepted
    # an address not on this machine is skipped, as the server skips it (no such family)
    _resolving(monkeypatch, "twohomes", ["192.0.2.1", "127.0.0.1"])
    check_address("twohomes", port)
    _resolving(monkeypatch, "elsewhere", ["192.0.2.1"])
    with pytest.raises(OSError) as info:
        check_address("elsewhere", port)
    assert info.value.errno == errno.EADDRNOTAVAIL and info.value.filename == "--host elsewhere"
