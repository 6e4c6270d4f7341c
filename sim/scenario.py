"""Scenario files: loading, inheritance, overrides and validation.

A scenario is a YAML file describing one simulated bank: its customers
(``population``), how they move between lifecycle stages (``lifecycle``), the
market around them (``market``), how they respond month by month
(``response``), how they are classed into A/B/C/D segments and AUM tiers
(``segments``, ``tiers``) and what they earn and cost (``economics``).
The schema lives in :mod:`sim.schema`, the wording of its errors in
:mod:`sim.scenario_errors`; this module turns files into a
validated, frozen :class:`~sim.schema.Scenario`.

Every problem a user can make — a file that is not there, YAML that does not
parse, an unknown key, a probability above 1, a negative cost — becomes one
:class:`ScenarioError` whose message names the file, the key path, the value
and what was expected. YAML is read with PyYAML's safe loader only (a
``yaml.SafeLoader`` that also refuses a key given twice and reads ``1e15`` as a
number, as YAML 1.2 does), so no scenario can construct Python objects or run code.
"""

from __future__ import annotations

import copy
import hashlib
import json
import math
import re
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from sim.scenario_errors import ScenarioError, _short, problems_from_validation
from sim.scenario_yaml import (
    _IS_A_DIRECTORY,
    _NOT_FOUND,
    _read_yaml,
    _safe_load,
    _StrictSafeDumper,
)
from sim.schema import Scenario

__all__ = [
    "ScenarioError",
    "apply_overrides",
    "default_name",
    "load_scenario",
    "override_value",
    "parse_override",
    "read_scenario_dict",
    "scenario_from_dict",
    "scenario_hash",
    "scenario_to_yaml",
    "set_values",
]


def deep_merge(base: Mapping[str, Any], change: Mapping[str, Any]) -> dict[str, Any]:
    """Return ``base`` updated by ``change``; mappings merge, everything else replaces."""
    merged = copy.deepcopy(dict(base))
    for key, value in change.items():
        if isinstance(value, Mapping) and isinstance(merged.get(key), Mapping):
            merged[key] = deep_merge(merged[key], value)
        else:
            merged[key] = copy.deepcopy(value)
    return merged


def read_scenario_dict(path: str | Path, _chain: tuple[Path, ...] = ()) -> dict[str, Any]:
    """Read a scenario file and resolve its ``extends:`` chain into one mapping.

    A child file changes only what differs: mappings merge key by key, lists
    and scalars replace. Key paths listed under ``replace:`` are taken whole
    from the child (use it to swap a whole lifecycle, say).

    Args:
        path: The YAML file.

    Returns:
        The merged mapping, without the ``extends`` key.

    Raises:
        ScenarioError: If a file is missing, malformed or the chain loops.
    """
    path = Path(path)
    resolved = path.resolve()
    if resolved in _chain:
        loop = " -> ".join(p.name for p in (*_chain, resolved))
        raise ScenarioError(str(path), [("extends", f"circular extends ({loop})")])
    data = _read_yaml(path)
    parent = data.pop("extends", None)
    replace = data.pop("replace", [])
    if parent is None:
        if replace:
            raise ScenarioError(
                str(path), [("replace", "expected only together with extends (nothing to replace)")]
            )
        return data
    if not isinstance(replace, list) or not all(isinstance(k, str) for k in replace):
        raise ScenarioError(
            str(path), [("replace", f"got {_short(replace)}; expected a list of key paths")]
        )
    parent_names = parent if isinstance(parent, list) and parent else [parent]
    if not all(isinstance(p, str) for p in parent_names):
        raise ScenarioError(str(path), [(
            "extends",
            f"got {_short(parent)}; expected a path to another scenario or a list of them",
        )])
    base: dict[str, Any] = {}
    for name in parent_names:  # several parents merge in order, later ones winning
        base = deep_merge(base, _read_parent(path, name, (*_chain, resolved)))
    for key in replace:  # these sections are taken whole from this file, not merged
        if not (_has_path(base, key) or _has_path(data, key)):
            raise ScenarioError(
                str(path), [("replace", f"got {key!r}; expected a key path of this scenario")]
            )
        node: Any = base
        *parents, last = key.split(".")
        for part in parents:
            node = node.get(part, {}) if isinstance(node, dict) else {}
        if isinstance(node, dict):
            node.pop(last, None)
    base.pop("name", None)  # a child is its own scenario: its name defaults to its file's
    return deep_merge(base, data)


def _read_parent(child: Path, parent: str, chain: tuple[Path, ...]) -> dict[str, Any]:
    parent_path = (child.parent / parent) if not Path(parent).is_absolute() else Path(parent)
    try:
        return read_scenario_dict(parent_path, chain)
    except ScenarioError as exc:
        if exc.source == str(parent_path) and exc.problems == [("", _NOT_FOUND)]:
            raise ScenarioError(
                str(child), [("extends", f"got {parent!r}; that file was not found")]
            ) from None
        if exc.source == str(parent_path) and exc.problems == [("", _IS_A_DIRECTORY)]:
            raise ScenarioError(str(child), [(
                "extends", f"got {parent!r}; that is a directory, expected a scenario YAML file"
            )]) from None
        raise


def _has_path(data: Mapping[str, Any], dotted: str) -> bool:
    node: Any = data
    for part in dotted.split("."):
        if not isinstance(node, Mapping) or part not in node:
            return False
        node = node[part]
    return True


def parse_override(text: str) -> tuple[list[str], Any]:
    """Split ``a.b.c=value`` into a key path and a YAML-parsed value."""
    if "=" not in text:
        raise ScenarioError("--set", [(text, "expected KEY.PATH=VALUE")])
    key, raw = text.split("=", 1)
    keys = [k for k in key.strip().split(".")]
    if not key.strip() or any(not k for k in keys):
        raise ScenarioError(
            "--set", [(key, "expected a dotted key path such as market.bank_yield")]
        )
    try:
        value = _safe_load(raw) if raw.strip() else ""
    except yaml.YAMLError as exc:  # not YAML: the text as written (description=a: b)
        problem = str(getattr(exc, "problem", ""))
        if problem.startswith("duplicate key"):  # YAML, with a typo in it
            twice = problem.split(" (first at")[0]
            raise ScenarioError("--set", [(key.strip(), f"{twice} in {text!r}; expected each "
                                           "key once per mapping")]) from None
        value = raw
    return keys, value


def override_value(value: Any) -> str:
    """``value`` as the text after ``=`` that :func:`parse_override` reads back as ``value``.

    ``str(None)`` is ``None``, which YAML reads as a string: PyYAML writes ``null``.
    A finite number is written as Python's shortest ``repr`` (``1e-05``, which the
    YAML 1.2 float resolver reads back), fifty times faster than PyYAML's dumper: a
    sweep writes one per parameter of every design point. A string PyYAML leaves
    unquoted but YAML 1.2 reads as a number (``"1e5"``) is quoted.
    """
    if isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value):
        return repr(int(value)) if isinstance(value, int) else repr(float(value))
    text = _dumped(value)
    if isinstance(value, int | float) or _safe_load(text) == value:
        return text
    return _dumped(value, style='"')


def _dumped(value: Any, style: str | None = None) -> str:
    text = yaml.dump(value, Dumper=_StrictSafeDumper, default_flow_style=True, width=10**9,
                     default_style=style)
    return text[: -len("\n...\n")] if text.endswith("\n...\n") else text.rstrip("\n")


def apply_overrides(data: dict[str, Any], overrides: Iterable[str]) -> dict[str, Any]:
    """Apply ``--set key.path=value`` overrides to a scenario mapping.

    Intermediate mappings are created as needed; the schema then rejects any
    key that does not exist, naming its path. A numeric key indexes a list.
    """
    data = copy.deepcopy(data)
    for text in overrides:
        keys, value = parse_override(text)
        node: Any = data
        for i, key in enumerate(keys[:-1]):
            node = _descend(node, key, keys[: i + 1], text)
        last = keys[-1]
        if isinstance(node, list):
            idx = _list_index(node, last, keys, text)
            node[idx] = value
        else:
            node[last] = value
    return data


def set_values(data: dict[str, Any], changes: Iterable[tuple[str, Any]]) -> dict[str, Any]:
    """``data`` with each ``(key.path, value)`` set, copying only what the paths go through.

    As :func:`apply_overrides` sets the text ``key.path=value``. The result shares
    everything else with ``data``: read it (validate it, say), never change it.
    Checking a sweep's every design point deep-copied the whole scenario and wrote
    and parsed each value as YAML, three quarters of the check's time.
    """
    out = dict(data)
    for dotted, value in changes:
        keys = dotted.split(".")
        node: Any = out
        for i, key in enumerate(keys[:-1]):
            if isinstance(node, list):
                index: Any = _list_index(node, key, keys[: i + 1], f"{dotted}=...")
            else:
                index = key
                child = node.get(key)
                if not isinstance(child, dict | list | None):
                    _descend(node, key, keys[: i + 1], f"{dotted}=...")  # raises, naming it
            child = node[index] if isinstance(node, list) else node.get(index)
            node[index] = {} if child is None else copy.copy(child)
            node = node[index]
        if isinstance(node, list):
            node[_list_index(node, keys[-1], keys, f"{dotted}=...")] = value
        else:
            node[keys[-1]] = value
    return out


def _list_index(node: list[Any], key: str, keys: list[str], text: str) -> int:
    if not key.isdigit() or int(key) >= len(node):
        raise ScenarioError(
            "--set", [(".".join(keys), f"expected a list index below {len(node)} in {text!r}")]
        )
    return int(key)


def _descend(node: Any, key: str, keys: list[str], text: str) -> Any:
    if isinstance(node, list):
        return node[_list_index(node, key, keys, text)]
    if not isinstance(node, dict):
        raise ScenarioError("--set", [(".".join(keys), f"is not a mapping, cannot set {text!r}")])
    if node.get(key) is None:
        node[key] = {}
    elif not isinstance(node[key], dict | list):
        raise ScenarioError(
            "--set",
            [(".".join(keys), f"holds {_short(node[key])}, not a mapping; cannot set {text!r}")],
        )
    return node[key]


def scenario_from_dict(data: Mapping[str, Any], source: str = "<scenario>") -> Scenario:
    """Validate a scenario mapping.

    Raises:
        ScenarioError: Listing every problem found, each with its key path.
    """
    try:
        return Scenario.model_validate(dict(data))
    except ValidationError as exc:
        raise ScenarioError(source, problems_from_validation(exc)) from None


def default_name(path: str | Path) -> str:
    """The name of a scenario (or sweep) file that does not give one: its file name.

    Characters a name cannot hold (spaces, say) become ``_``; a file name
    with none it can hold gives ``scenario``.
    """
    stem = unicodedata.normalize("NFC", Path(path).stem)  # macOS writes names decomposed
    name = re.sub(r"[^\w.-]+", "_", stem).lstrip(".-")
    return name if name.strip("_") and re.fullmatch(r"\w[\w.-]*", name) else "scenario"


def load_scenario(path: str | Path, overrides: Iterable[str] = ()) -> Scenario:
    """Load, merge (``extends:``), override (``--set``) and validate a scenario file.

    Args:
        path: The scenario YAML file.
        overrides: ``key.path=value`` strings applied after inheritance.

    Returns:
        The validated, frozen scenario.

    Raises:
        ScenarioError: If anything about the file or overrides is invalid.
    """
    overrides = list(overrides)
    data = read_scenario_dict(path)
    data.setdefault("name", default_name(path))
    data = apply_overrides(data, overrides)
    try:
        return scenario_from_dict(data, str(path))
    except ScenarioError as exc:
        raise ScenarioError(exc.source, _blame_overrides(exc.problems, overrides)) from None


def _blame_overrides(
    problems: Sequence[tuple[str, str]], overrides: Sequence[str]
) -> list[tuple[str, str]]:
    """Add ``(from --set K=V)`` to each problem about a key path an override touched."""
    keyed = [(".".join(parse_override(text)[0]), text) for text in overrides]
    blamed = []
    for path, msg in problems:
        texts = [
            text for key, text in keyed
            if path and (key == path or key.startswith(f"{path}.") or path.startswith(f"{key}."))
        ]
        blamed.append((path, msg + "".join(f" (from --set {t})" for t in texts)))
    return blamed


def scenario_to_yaml(scenario: Scenario) -> str:
    """Return the fully resolved scenario as YAML (every default spelled out)."""
    return yaml.dump(scenario.model_dump(mode="json"), Dumper=_StrictSafeDumper, sort_keys=False,
                     allow_unicode=True)


def scenario_hash(scenario: Scenario) -> str:
    """Return a SHA-256 of the resolved scenario, stable across key order."""
    canonical = json.dumps(scenario.model_dump(mode="json"), sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()
