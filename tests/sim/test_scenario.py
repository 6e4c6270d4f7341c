"""Scenario loading: inheritance, overrides, hashing, round trips and refusals."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest
import yaml

from sim.scenario import (
    ScenarioError,
    apply_overrides,
    load_scenario,
    parse_override,
    read_scenario_dict,
    scenario_hash,
    scenario_to_yaml,
)
from sim.scenario_yaml import _read_yaml

TESTS = Path(__file__).resolve().parents[1]
BASELINE = TESTS.parent / "scenarios" / "baseline.yaml"
SHIPPED = sorted((TESTS.parent / "scenarios").glob("*.yaml"))
BAD_DIR = TESTS / "data" / "bad_scenarios"
BAD_FILES = sorted(BAD_DIR.glob("*.yaml"))


def _write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def _extends_baseline(child_dir: Path) -> str:
    """A relative ``extends:`` from ``child_dir`` to the baseline, as users write it."""
    return os.path.relpath(BASELINE, child_dir)


@pytest.fixture(scope="module")
def baseline() -> Any:
    return load_scenario(BASELINE)


# -- the shipped baseline ---------------------------------------------------------


def test_baseline_loads_as_written(baseline: Any) -> None:
    assert baseline.name == "baseline"
    assert baseline.population.size == 148_300
    assert baseline.lifecycle.stage_names == [
        "potential", "onboarding", "growth", "maturity", "decline", "churned"]
    assert baseline.lifecycle.transitions["decline"] == {"maturity": 0.035, "churned": 0.03}
    assert baseline.market.competitor_yield == pytest.approx(0.052)


# -- overrides (--set) --------------------------------------------------------------


def test_overrides_reach_the_scenario(baseline: Any) -> None:
    changed = load_scenario(BASELINE, [
        "population.size=2000",
        "market.bank_yield=0.06",
        "tiers.1.name=fifty_k",
        "lifecycle.transitions.growth.maturity=0.03",
        "description=a bank with spaces = and equals",
        "seed=7",
    ])
    assert changed.population.size == 2000
    assert changed.market.bank_yield == 0.06
    assert changed.tiers[1].name == "fifty_k"
    assert changed.tiers[1].min_aum == baseline.tiers[1].min_aum  # sibling untouched
    assert changed.lifecycle.transitions["growth"] == {
        "maturity": 0.03, "decline": 0.012, "churned": 0.004}
    assert changed.description == "a bank with spaces = and equals"
    assert changed.seed == 7
    # everything not overridden is the baseline's
    assert changed.population.prospects == baseline.population.prospects
    assert changed.economics == baseline.economics
    assert changed.market.competitor_yield == baseline.market.competitor_yield


def test_override_creates_an_optional_section(baseline: Any) -> None:
    assert baseline.market.arrival_age is not None
    data = read_scenario_dict(BASELINE)
    del data["market"]["arrival_age"]
    made = apply_overrides(data, ["market.arrival_age.mean=33"])
    assert made["market"]["arrival_age"] == {"mean": 33}


@pytest.mark.parametrize(
    ("text", "keys", "value"),
    [
        ("market.bank_yield=0.06", ["market", "bank_yield"], 0.06),
        ("population.size=2000", ["population", "size"], 2000),
        ("strategies=[]", ["strategies"], []),
        ("tiers.0={name: all, min_aum: 0}", ["tiers", "0"], {"name": "all", "min_aum": 0}),
        ("description=", ["description"], ""),
        ("description=a=b", ["description"], "a=b"),
        ("description=[unclosed", ["description"], "[unclosed"),
        (" seed = 3", ["seed"], 3),
    ],
)
def test_parse_override_reads_the_value_as_yaml(text: str, keys: list[str], value: Any) -> None:
    assert parse_override(text) == (keys, value)


def test_apply_overrides_leaves_its_input_alone() -> None:
    data = read_scenario_dict(BASELINE)
    before = json.dumps(data, sort_keys=True)
    apply_overrides(data, ["population.size=1", "tiers.0.min_aum=5", "colour=blue"])
    assert json.dumps(data, sort_keys=True) == before


@pytest.mark.parametrize(
    ("override", "path", "expected"),
    [
        ("population.size", "population.size", "expected KEY.PATH=VALUE"),
        ("=5", "", "expected a dotted key path"),
        ("population..size=5", "population..size", "expected a dotted key path"),
        ("population.size.x=1", "population.size", "not a mapping"),
        ("tiers.9.name=x", "tiers.9", "expected a list index below 7"),
        ("tiers.first.name=x", "tiers.first", "expected a list index below 7"),
    ],
)
def test_malformed_overrides_are_refused_as_set_errors(
    override: str, path: str, expected: str
) -> None:
    with pytest.raises(ScenarioError) as info:
        load_scenario(BASELINE, [override])
    assert info.value.source == "--set"
    assert info.value.problems[0][0] == path
    assert expected in info.value.problems[0][1]


def test_an_invalid_override_is_blamed_on_the_override() -> None:
    with pytest.raises(ScenarioError) as info:
        load_scenario(BASELINE, ["population.size=-5", "market.bank_yield=0.06"])
    assert info.value.source == str(BASELINE)
    assert info.value.problems == [
        ("population.size", "got -5; expected a number >= 1 (from --set population.size=-5)")]


def test_every_problem_is_collected_in_one_error() -> None:
    with pytest.raises(ScenarioError) as info:
        load_scenario(BASELINE, ["population.size=-5", "colour=blue", "market.bank_yield=2"])
    paths = [path for path, _ in info.value.problems]
    assert sorted(paths) == ["colour", "market.bank_yield", "population.size"]
    line = info.value.one_line()
    assert "\n" not in line
    assert "(and 2 more: " in line
    assert str(info.value) == line


def test_one_line_is_one_line_whatever_the_messages_hold() -> None:
    error = ScenarioError("f.yaml", [("a.b", "first\nsecond"), ("", "third\r\nfourth")])
    assert error.one_line() == "f.yaml: a.b: first second (and 1 more: third fourth)"


# -- extends: and replace: ----------------------------------------------------------


def test_extends_inherits_and_overrides_only_the_nested_key(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, baseline: Any
) -> None:
    child_dir = tmp_path / "my_scenarios"
    child = _write(child_dir / "bigger_bank.yaml", (
        f"extends: {_extends_baseline(child_dir)}\n"
        "name: bigger_bank\n"
        "population:\n  size: 200000\n  age: {mean: 40}\n"
        "tiers:\n  - {name: all, min_aum: 0}\n"
    ))
    monkeypatch.chdir(tmp_path.parent)  # extends is relative to the file, not the cwd
    loaded = load_scenario(child)
    assert loaded.name == "bigger_bank"
    assert loaded.population.size == 200_000
    assert loaded.population.age.mean == 40
    assert loaded.population.age.sd == baseline.population.age.sd  # nested sibling kept
    assert loaded.population.prospects == baseline.population.prospects
    assert loaded.population.total_wealth == baseline.population.total_wealth
    assert [t.name for t in loaded.tiers] == ["all"]  # lists replace, they do not merge
    assert loaded.lifecycle == baseline.lifecycle
    assert loaded.economics == baseline.economics


def test_extends_chains_and_the_nearest_file_wins(tmp_path: Path) -> None:
    _write(tmp_path / "mid.yaml", (
        f"extends: {BASELINE}\nname: mid\n"
        "market: {bank_yield: 0.06, competitor_yield: 0.07}\n"
    ))
    leaf_text = "extends: mid.yaml\nname: leaf\nmarket: {bank_yield: 0.08}\n"
    leaf = _write(tmp_path / "leaf.yaml", leaf_text)
    loaded = load_scenario(leaf)
    assert (loaded.name, loaded.market.bank_yield, loaded.market.competitor_yield) == (
        "leaf", 0.08, 0.07)


def test_extends_a_list_merges_the_parents_in_order(tmp_path: Path) -> None:
    _write(tmp_path / "a.yaml", f"extends: {BASELINE}\nmarket: {{bank_yield: 0.06}}\n")
    _write(tmp_path / "b.yaml", f"extends: {BASELINE}\nmarket: {{bank_yield: 0.07, "
           "competitor_yield: 0.09}\n")
    both = load_scenario(_write(tmp_path / "ab.yaml", "extends: [a.yaml, b.yaml]\n"))
    assert (both.market.bank_yield, both.market.competitor_yield) == (0.07, 0.09)
    # each parent is a whole scenario: a.yaml carries the baseline's competitor yield
    reverse = load_scenario(_write(tmp_path / "ba.yaml", "extends: [b.yaml, a.yaml]\n"))
    baseline = load_scenario(BASELINE)
    assert (reverse.market.bank_yield, reverse.market.competitor_yield) == (
        0.06, baseline.market.competitor_yield)


def test_playbook_with_branches_has_both_parents_sections() -> None:
    scenarios = BASELINE.parent
    loaded = load_scenario(scenarios / "playbook_branches.yaml")
    playbook = load_scenario(scenarios / "abc_d_playbook.yaml")
    branches = load_scenario(scenarios / "branches.yaml")
    assert loaded.strategies == playbook.strategies
    assert loaded.channels == branches.channels
    assert loaded.lifecycle == branches.lifecycle


def test_replace_takes_a_section_whole_instead_of_merging(tmp_path: Path) -> None:
    text = f"extends: {BASELINE}\nlifecycle:\n  driver_effects: {{}}\n"
    merged = load_scenario(_write(tmp_path / "merged.yaml", text))
    assert merged.lifecycle.driver_effects  # an empty mapping merges into the baseline's
    replaced = load_scenario(
        _write(tmp_path / "replaced.yaml", "replace: [lifecycle.driver_effects]\n" + text)
    )
    assert replaced.lifecycle.driver_effects == {}
    assert replaced.lifecycle.transitions == merged.lifecycle.transitions


def test_replace_without_extends_is_refused(tmp_path: Path) -> None:
    path = _write(tmp_path / "lonely.yaml", BASELINE.read_text(encoding="utf-8")
                  + "\nreplace: [lifecycle]\n")
    with pytest.raises(ScenarioError) as info:
        load_scenario(path)
    assert info.value.problems == [
        ("replace", "expected only together with extends (nothing to replace)")]


def test_an_error_in_a_parent_names_the_parent(tmp_path: Path) -> None:
    parent = _write(tmp_path / "parent.yaml", "population: [unclosed\n")
    child = _write(tmp_path / "child.yaml", "extends: parent.yaml\n")
    with pytest.raises(ScenarioError) as info:
        load_scenario(child)
    assert info.value.source == str(parent)
    assert "malformed YAML at line 2" in info.value.one_line()


# -- hash and resolved YAML ---------------------------------------------------------


def _reversed(node: Any) -> Any:
    """The same mapping with every key order reversed (lists keep their order)."""
    if isinstance(node, dict):
        return {key: _reversed(node[key]) for key in reversed(list(node))}
    if isinstance(node, list):
        return [_reversed(item) for item in node]
    return node


def test_scenario_hash_ignores_key_order_and_follows_values(
    tmp_path: Path, baseline: Any
) -> None:
    data = _reversed(read_scenario_dict(BASELINE))
    shuffled = _write(tmp_path / "shuffled.yaml", yaml.safe_dump(data, sort_keys=False))
    assert next(iter(read_scenario_dict(shuffled))) != next(iter(read_scenario_dict(BASELINE)))
    digest = scenario_hash(baseline)
    assert len(digest) == 64 and int(digest, 16) >= 0
    assert scenario_hash(load_scenario(shuffled)) == digest
    assert scenario_hash(load_scenario(BASELINE, ["seed=20202"])) != digest
    assert scenario_hash(load_scenario(BASELINE, ["economics.acquisition_cost=1200.5"])) != digest
    # the same values reached by inheritance hash the same as written out in full
    child = _write(tmp_path / "child.yaml", f"extends: {BASELINE}\nname: baseline\n")
    assert scenario_hash(load_scenario(child)) == digest


@pytest.mark.parametrize("path", SHIPPED, ids=lambda p: p.stem)
def test_resolved_yaml_round_trips(path: Path, tmp_path: Path) -> None:
    scenario = load_scenario(path)
    text = scenario_to_yaml(scenario)
    assert "!!" not in text  # plain YAML: no tags of any kind
    again = load_scenario(_write(tmp_path / "resolved.yaml", text))
    assert again == scenario
    assert scenario_hash(again) == scenario_hash(scenario)
    assert scenario_to_yaml(again) == text


# -- refusals -----------------------------------------------------------------------


def test_the_bad_corpus_is_big_and_documented() -> None:
    expected = json.loads((BAD_DIR / "expected.json").read_text(encoding="utf-8"))
    assert len(BAD_FILES) >= 15
    assert {p.name for p in BAD_FILES} == set(expected) - {"_comment"}
    assert (BAD_DIR / "README.md").exists()


@pytest.mark.parametrize("path", BAD_FILES, ids=lambda p: p.stem)
def test_every_bad_file_raises_a_scenario_error(
    path: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)  # where a successful code-execution attack would write
    with pytest.raises(ScenarioError) as info:
        load_scenario(path)
    assert info.value.source == str(path)
    assert info.value.problems and all(msg for _, msg in info.value.problems)
    assert "\n" not in info.value.one_line()
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    ("name", "path", "fragment"),
    [
        ("transitions_row_above_one", "lifecycle.transitions.growth", "sum to 1.104"),
        ("absorbing_stage_with_exit", "lifecycle.transitions.churned", "cannot be left"),
        ("unknown_stage_in_transitions", "lifecycle.transitions.growth.heaven",
         "unknown stage; expected one of"),
        ("unknown_stage_in_initial_stages", "population.initial_stages.limbo", "role 'customer'"),
        ("unknown_strategy", "strategies.0.name", "unknown strategy 'nosuch'; valid names"),
        ("unknown_driver", "lifecycle.driver_effects.growth->maturity.happiness", "'wait'"),
        ("unknown_nested_key", "population.sise", "did you mean 'size'?"),
    ],
)
def test_cross_field_problems_carry_their_full_key_path(
    name: str, path: str, fragment: str
) -> None:
    with pytest.raises(ScenarioError) as info:
        load_scenario(BAD_DIR / f"{name}.yaml")
    assert info.value.problems[0][0] == path
    assert fragment in info.value.problems[0][1]


def test_two_cross_field_problems_stay_two(tmp_path: Path) -> None:
    with pytest.raises(ScenarioError) as info:
        load_scenario(BASELINE, [
            "lifecycle.transitions.growth.maturity=0.99",
            "lifecycle.transitions.churned.onboarding=0.1",
        ])
    assert [p for p, _ in info.value.problems] == [
        "lifecycle.transitions.growth", "lifecycle.transitions.churned"]


@pytest.mark.parametrize(
    "tag",
    [
        '!!python/object/apply:os.system ["echo pwned > clmsim_pwned_marker"]',
        "!!python/name:os.system",
        "!!python/object/new:subprocess.Popen [[touch, clmsim_pwned_marker]]",
    ],
)
def test_yaml_tags_never_construct_objects(
    tag: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = _write(tmp_path / "evil.yaml", f"extends: {BASELINE}\ndescription: {tag}\n")
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ScenarioError) as info:
        load_scenario(path)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["evil.yaml"]
    assert "unsupported YAML tag at line 2" in info.value.one_line()


@pytest.mark.parametrize(
    ("content", "fragment"),
    [
        (b"population:\n  size: \xff\xfe\n", "cannot read file (UnicodeDecodeError: byte 0xff "
         "at line 2, column 9 is not UTF-8); expected a UTF-8 YAML file"),
        ("description: caf\u00e9\n".encode("latin-1"), "byte 0xe9 at line 1, column 17"),
        (b"description: a\x07b\n", "line 1, column 15: character 0x0007 is not allowed"),
        (b"# only a comment\n", "file is empty"),
        (b"just a string\n", "top level is a str, expected a mapping"),
        (b"a: 1\na: 2\n", "duplicate key 'a' (first at line 1)"),
    ],
)
def test_files_that_are_not_scenarios(content: bytes, fragment: str, tmp_path: Path) -> None:
    path = tmp_path / "odd.yaml"
    path.write_bytes(content)
    with pytest.raises(ScenarioError) as info:
        load_scenario(path)
    assert info.value.source == str(path)
    assert fragment in info.value.one_line()


def test_a_directory_or_a_missing_file_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ScenarioError, match="is a directory, expected a YAML file"):
        load_scenario(tmp_path)
    with pytest.raises(ScenarioError, match=r"nosuch\.yaml: file not found; expected a path"):
        load_scenario(tmp_path / "nosuch.yaml")


def test_nan_is_not_a_valid_cost() -> None:
    with pytest.raises(ScenarioError, match=r"economics\.acquisition_cost: got nan"):
        load_scenario(BASELINE, ["economics.acquisition_cost=.nan"])


@pytest.mark.parametrize(
    "override",
    [
        "economics.acquisition_cost=.inf",
        "population.size=true",
        "market.prospect_arrivals_per_month=.inf",
    ],
)
def test_infinite_and_boolean_numbers_are_refused(override: str) -> None:
    with pytest.raises(ScenarioError):
        load_scenario(BASELINE, [override])


def test_child_without_a_name_is_named_after_its_file(tmp_path: Path) -> None:
    text = f"extends: {BASELINE}\nmarket: {{bank_yield: 0.05}}\n"
    child = _write(tmp_path / "rate_war.yaml", text)
    assert load_scenario(child).name == "rate_war"


def test_dot_names_are_refused() -> None:
    for name in (".", ".."):
        with pytest.raises(ScenarioError, match=r"name: got"):
            load_scenario(BASELINE, [f"name={name}"])


def test_same_second_runs_do_not_collide(tiny_set_args, tmp_path: Path, cli) -> None:
    args = ["run", str(BASELINE), *tiny_set_args, "--out", str(tmp_path), "--quiet",
            "--no-figures", "--executor", "serial"]
    first, second = cli(*args), cli(*args)
    assert first.code == second.code == 0
    assert first.out.strip() != second.out.strip()
    assert len(list((tmp_path / "baseline").iterdir())) == 2


@pytest.mark.parametrize("label", ["keep", "columns", "cohort_voucher", "voucher__last_redeemed",
                                   "aum", "_private"])
def test_label_names_cannot_shadow_the_table(label: str) -> None:
    with pytest.raises(ScenarioError, match=f"labels.{label}: expected a new identifier"):
        load_scenario(BASELINE, [f"labels.{label}=age > 3"])


def test_tier_names_must_be_unique() -> None:
    with pytest.raises(ScenarioError, match="tiers: names must be unique"):
        load_scenario(BASELINE, ["tiers=[{name: low, min_aum: 0}, {name: low, min_aum: 1}]"])


@pytest.mark.parametrize("value", [1e-05, 1e16, 0.1, 500.0, 3, None, True, "push", "a b",
                                   {"monthly": 1e-05, "priority": "highest_value"},
                                   -0.0, -1.5e-300, 2**70, float("inf"), "1e5", "null"])
def test_override_values_read_back_as_themselves(value: object) -> None:
    """``str(None)`` and ``str("1e5")`` do not read back as themselves; ``override_value``
    does."""
    from sim.scenario import override_value, parse_override

    assert parse_override(f"a.b={override_value(value)}") == (["a", "b"], value)


@pytest.mark.parametrize(
    ("written", "number"),
    [("1e15", 1e15), ("2E-3", 2e-3), ("-1e6", -1e6), ("+1e3", 1e3), ("1.0e15", 1e15),
     ("1.5E+2", 150.0), (".5e1", 5.0), ("1e1_0", "1e1_0"), ("1e", "1e"), ("e5", "e5")],
)
def test_exponent_numbers_read_as_yaml_1_2_floats(written: str, number: object) -> None:
    """PyYAML follows YAML 1.1, where ``1e15`` (no dot) and ``1.0e15`` (no sign) are strings."""
    assert parse_override(f"a.b={written}") == (["a", "b"], number)
    assert type(parse_override(f"a.b={written}")[1]) is type(number)


def test_a_budget_written_1e15_is_a_number_in_a_file_and_a_set(tmp_path: Path) -> None:
    text = (f"extends: {BASELINE}\nstrategies:\n  - name: voucher\n    budget: 1e15\n"
            "    params: {face_value: 5e2}\n")
    scenario = load_scenario(_write(tmp_path / "rich.yaml", text))
    assert scenario.strategies[0].budget.total == 1e15
    assert scenario.strategies[0].params["face_value"] == 500.0
    again = load_scenario(BASELINE, ["strategies=[{name: voucher}]", "strategies.0.budget=1e15"])
    assert again.strategies[0].budget.total == 1e15


@pytest.mark.parametrize("changes", [
    [("population.size", 1500), ("market.bank_yield", 1e-05)],
    [("tiers.1.min_aum", 60000), ("tiers.1.name", "a b")],
    [("lifecycle.driver_effects.growth->maturity.satisfaction", -2.5)],
    [("strategies", [{"name": "voucher"}]), ("strategies.0.budget.monthly", 7.0)],
    [("channels.default.tellers", 3)],  # a section the baseline lacks: created
])
def test_set_values_is_apply_overrides_without_copying_the_rest(
    changes: list[tuple[str, object]]
) -> None:
    from sim.scenario import override_value, set_values

    data = read_scenario_dict(BASELINE)
    before = json.dumps(data, sort_keys=True)
    texts = [f"{key}={override_value(value)}" for key, value in changes]
    assert set_values(data, changes) == apply_overrides(data, texts)
    assert json.dumps(data, sort_keys=True) == before  # the input is left alone
    assert set_values(data, changes)["economics"] is data["economics"]  # shared, not copied


@pytest.mark.parametrize(("key", "problem"), [
    ("population.size.x", "not a mapping"), ("tiers.9.name", "expected a list index below 7"),
])
def test_set_values_refuses_a_path_as_apply_overrides_does(key: str, problem: str) -> None:
    from sim.scenario import set_values

    with pytest.raises(ScenarioError, match=problem):
        set_values(read_scenario_dict(BASELINE), [(key, 1)])


def test_aliases_that_repeat_a_few_sections_are_fine(tmp_path: Path) -> None:
    text = (f"extends: {BASELINE}\nstrategies:\n"
            "  - {name: voucher, target: &b {segments: [B]}, budget: &money {monthly: 1e4}}\n"
            "  - {name: pricing_subsidy, target: *b, budget: *money}\n")
    scenario = load_scenario(_write(tmp_path / "shared.yaml", text))
    assert scenario.strategies[1].target.segments == ["B"]
    assert scenario.strategies[1].budget.monthly == 1e4


def test_an_alias_bomb_or_deep_nesting_in_a_set_is_a_plain_string() -> None:
    """``--set`` reads a value that is not YAML as the text written (``description=[x``)."""
    bomb = "[" * 1000 + "]" * 1000
    assert parse_override(f"description={bomb}") == (["description"], bomb)


@pytest.mark.parametrize("override", [
    "population.size=99999999999999999999", "population.prospects=10000000000",
    "population.branches=99999999999999999999", "seed=99999999999999999999",
    "market.prospect_arrivals_per_month=1e300",
    "channels={call_centre: {agents: 99999999999999999999}}",
])
def test_numbers_too_big_to_simulate_are_refused(override: str) -> None:
    """Each was valid, then a traceback (OverflowError, 'lam value too large', 'high is
    out of bounds for int64') or a run that never ended (Erlang C over 10**20 agents)."""
    key = override.split("=")[0] if "{" not in override else "channels.call_centre.agents"
    with pytest.raises(ScenarioError, match=rf"{key}: got .*; expected a number <="):
        load_scenario(BASELINE, [override])


@pytest.mark.parametrize("encoding", ["utf-16", "utf-16-le", "utf-16-be", "utf-8-sig"])
def test_a_file_in_utf16_with_its_byte_order_mark_is_read(encoding: str, tmp_path: Path) -> None:
    """Windows tools write UTF-16 with a byte-order mark, which YAML allows; it was refused
    ("cannot read file (UnicodeDecodeError)")."""
    text = f"extends: {BASELINE}\ndescription: café 银行\n"
    data = text.encode(encoding)
    if encoding in ("utf-16-le", "utf-16-be"):
        data = "\ufeff".encode(encoding) + data
    path = tmp_path / "windows.yaml"
    path.write_bytes(data)
    assert load_scenario(path).description == "café 银行"


@pytest.mark.parametrize(("override", "message"), [
    ("strategies=[{name: voucher, budget: [1]}]",
     "strategies.0.budget: got [1]; expected a mapping (key: value)"),
    ("population=[1]", "population: got [1]; expected a mapping (key: value)"),
    ("labels=[a]", "labels: got ['a']; expected a mapping (key: value)"),
    ("tiers={}", "tiers: got {}; expected a list ([a, b] or '- ' lines)"),
])
def test_a_list_for_a_mapping_says_so_in_yaml_words(override: str, message: str) -> None:
    """It said "expected a valid dictionary or instance of Budget": Python's words."""
    with pytest.raises(ScenarioError) as info:
        load_scenario(BASELINE, [override])
    assert message in info.value.one_line()


def test_a_key_given_twice_in_a_set_value_is_refused() -> None:
    """The value was taken as the text written, and refused as a string ("market: got
    '{bank_yield: 0.05, bank_yield: 0.06}'; expected a mapping"), hiding the typo."""
    with pytest.raises(ScenarioError) as info:
        load_scenario(BASELINE, ["market={bank_yield: 0.05, bank_yield: 0.06}"])
    assert info.value.source == "--set"
    assert info.value.problems[0][0] == "market"
    assert "duplicate key 'bank_yield'" in info.value.one_line()
    assert "expected each key once per mapping" in info.value.one_line()


def test_extends_naming_a_directory_is_blamed_on_extends(tmp_path: Path) -> None:
    """It said "folder: is a directory", naming neither the file nor its extends."""
    (tmp_path / "folder").mkdir()
    child = _write(tmp_path / "child.yaml", "extends: folder\n")
    with pytest.raises(ScenarioError) as info:
        load_scenario(child)
    assert info.value.source == str(child)
    assert info.value.problems == [
        ("extends", "got 'folder'; that is a directory, expected a scenario YAML file")]


@pytest.mark.parametrize(("text", "first"), [
    ("extend: {base}\nmarket: {{bank_yield: 0.05}}\n",
     "extend: unknown key; did you mean 'extends'?"),
    ("extends: {base}\nreplaces: [market]\n", "replaces: unknown key; did you mean 'replace'?"),
])
def test_a_misspelt_extends_or_replace_is_the_first_problem(
    text: str, first: str, tmp_path: Path
) -> None:
    """'extend:' came last of fourteen problems, after "horizon_months: required key is
    missing" and the rest it caused; 'replaces:' was taken for 'replications'."""
    path = _write(tmp_path / "typo.yaml", text.format(base=BASELINE))
    with pytest.raises(ScenarioError) as info:
        load_scenario(path)
    assert info.value.one_line().startswith(f"{path}: {first}")


@pytest.mark.parametrize(("written", "value"), [
    ("010", 10), ("0o17", 15), ("0x1f", 31), ("-0x1f", -31), ("1_000", 1000), ("08", 8),
    ("9:30", "9:30"), ("1:30", "1:30"), ("2024-01-01", "2024-01-01"), ("15", 15),
    ("1.", 1.0), (".inf", float("inf")), ("~", None), ("true", True), ("False", False),
    ("yes", "yes"), ("No", "No"), ("on", "on"), ("OFF", "OFF"),
])
def test_numbers_read_as_yaml_1_2_without_yaml_1_1_traps(written: str, value: object) -> None:
    """YAML 1.1 read 010 as octal 8, 9:30 as sexagesimal 570, 2024-01-01 as a date and
    yes/no/on/off as truth values (YAML 1.2 has only true and false)."""
    parsed = parse_override(f"a.b={written}")[1]
    assert parsed == value and type(parsed) is type(value)


def test_a_scenario_named_no_or_off_is_a_name_not_a_truth_value(tmp_path: Path) -> None:
    """YAML 1.1's 'name: no' was False: "name: expected a string" for the Norway scenario.

    A file written by clmsim still quotes such strings, so YAML 1.1 readers read them back
    as strings too.
    """
    from sim.scenario import scenario_to_yaml

    for name in ("no", "off", "On", "YES"):
        path = _write(tmp_path / f"{name}.yaml", f"extends: {BASELINE}\nname: {name}\n")
        scenario = load_scenario(path)
        assert scenario.name == name
        assert f"name: '{name}'\n" in scenario_to_yaml(scenario)


@pytest.mark.parametrize(("written", "value"), [
    ("1_", 1), ("1__000", 1000), ("0x_1f", 31), ("0x_", "0x_"), ("0o_", "0o_"), ("0b_", "0b_"),
    ("-0b_", "-0b_"),
])
def test_numbers_with_stray_underscores_are_read_not_a_traceback(
    written: str, value: object
) -> None:
    """'size: 1_' resolved as an int and int('1_') raised ValueError: a traceback, no line.

    Underscores are dropped as PyYAML drops them; a base prefix with no digit is a string.
    """
    parsed = parse_override(f"a.b={written}")[1]
    assert parsed == value and type(parsed) is type(value)


def test_an_explicit_int_tag_on_a_non_number_is_one_line(tmp_path: Path) -> None:
    """'size: !!int abc' (or '!!int 0x_') was int()'s ValueError traceback."""
    for text in ("a: !!int abc\n", "a: !!int 0x_\n"):
        path = _write(tmp_path / "tag.yaml", text)
        with pytest.raises(ScenarioError, match="line 1, column 4"):
            _read_yaml(path)


def test_a_key_overriding_a_merged_one_is_not_a_duplicate(tmp_path: Path) -> None:
    """``<<: *base`` then ``b: 2``: YAML's merge keys let the mapping's own keys override
    the merged ones; the duplicate-key check refused it. A key twice in the mapping's own
    keys is still refused."""
    path = _write(tmp_path / "merge.yaml", "a: &x {b: 1, d: 3}\nc: {<<: *x, b: 2}\n")
    assert _read_yaml(path) == {"a": {"b": 1, "d": 3}, "c": {"b": 2, "d": 3}}
    path = _write(tmp_path / "two.yaml", "a: &x {b: 1, d: 3}\nc: {<<: *x, b: 2, b: 4}\n")
    with pytest.raises(ScenarioError, match="duplicate key 'b'"):
        _read_yaml(path)


def test_a_size_written_with_a_leading_zero_is_that_many_customers(tmp_path: Path) -> None:
    """``size: 010`` made a bank of 8 customers (YAML 1.1 octal), without a word."""
    text = f"extends: {BASELINE}\nname: 2024-01-01\npopulation: {{size: 010}}\n"
    scenario = load_scenario(_write(tmp_path / "zero.yaml", text))
    assert scenario.population.size == 10 and scenario.name == "2024-01-01"
    again = load_scenario(_write(tmp_path / "resolved.yaml", scenario_to_yaml(scenario)))
    assert again == scenario
    assert yaml.safe_load(scenario_to_yaml(scenario))["name"] == "2024-01-01"  # quoted
