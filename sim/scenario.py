"""Scenario files: loading, inheritance, overrides and validation.

A scenario is a YAML file describing one simulated bank: its customers
(``population``), how they move between lifecycle stages (``lifecycle``), the
market around them (``market``), how they respond month by month
(``response``), how they are classed into A/B/C/D segments and AUM tiers
(``segments``, ``tiers``) and what they earn and cost (``economics``).
The schema lives in :mod:`sim.schema`; this module turns files into a
validated, frozen :class:`~sim.schema.Scenario`.

Every problem a user can make — a file that is not there, YAML that does not
parse, an unknown key, a probability above 1, a negative cost — becomes one
:class:`ScenarioError` whose message names the file, the key path, the value
and what was expected. YAML is read with ``yaml.safe_load`` only, so no
scenario can construct Python objects or run code.
"""

from __future__ import annotations

import copy
import hashlib
import json
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from sim.schema import Scenario

__all__ = [
    "ScenarioError",
    "apply_overrides",
    "load_scenario",
    "parse_override",
    "read_scenario_dict",
    "scenario_from_dict",
    "scenario_hash",
    "scenario_to_yaml",
]


class ScenarioError(ValueError):
    """A scenario file or override is invalid.

    Attributes:
        source: The file (or other source) the problem was found in.
        problems: One ``(key path, message)`` pair per problem found.
    """

    def __init__(self, source: str, problems: Sequence[tuple[str, str]]) -> None:
        self.source = source
        self.problems = list(problems)
        super().__init__(self.one_line())

    def one_line(self) -> str:
        """Return every problem on a single line, the first one in full."""
        parts = [f"{path}: {msg}" if path else msg for path, msg in self.problems]
        head = f"{self.source}: {parts[0]}"
        if len(parts) > 1:
            head += f" (and {len(parts) - 1} more: " + "; ".join(parts[1:]) + ")"
        return head


def _short(value: Any, limit: int = 60) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _dotted(loc: Iterable[Any]) -> str:
    return ".".join(str(p) for p in loc if not (isinstance(p, str) and p.startswith("function-")))


def _problems_from_validation(err: ValidationError) -> list[tuple[str, str]]:
    problems = []
    for item in err.errors(include_url=False):
        path = _dotted(item["loc"])
        msg = item["msg"]
        if msg.startswith("Value error, "):
            msg = msg[len("Value error, ") :]
        if item["type"] == "value_error":
            pass
        elif item["type"] == "extra_forbidden":
            msg = "unknown key; check the spelling against docs/scenario.md"
        elif item["type"] == "missing":
            msg = "required key is missing"
        else:
            msg = f"got {_short(item.get('input'))}; expected {msg[0].lower()}{msg[1:]}"
        problems.append((path, msg))
    return problems


def _read_yaml(path: Path) -> dict[str, Any]:
    if not path.exists():
        raise ScenarioError(str(path), [("", "file not found")])
    if path.is_dir():
        raise ScenarioError(str(path), [("", "is a directory, expected a YAML file")])
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ScenarioError(str(path), [("", f"cannot read file ({exc.__class__.__name__})")]) from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark else ""
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise ScenarioError(str(path), [("", f"malformed YAML at {where}{problem}")]) from None
    if data is None:
        raise ScenarioError(str(path), [("", "file is empty, expected a mapping of scenario keys")])
    if not isinstance(data, dict):
        raise ScenarioError(
            str(path), [("", f"top level is a {type(data).__name__}, expected a mapping")]
        )
    return data


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
        return data
    if not isinstance(replace, list) or not all(isinstance(k, str) for k in replace):
        raise ScenarioError(
            str(path), [("replace", f"got {_short(replace)}; expected a list of key paths")]
        )
    if not isinstance(parent, str):
        raise ScenarioError(
            str(path), [("extends", f"got {_short(parent)}; expected a path to another scenario")]
        )
    parent_path = (path.parent / parent) if not Path(parent).is_absolute() else Path(parent)
    try:
        base = read_scenario_dict(parent_path, (*_chain, resolved))
    except ScenarioError as exc:
        if exc.source == str(parent_path) and exc.problems == [("", "file not found")]:
            raise ScenarioError(
                str(path), [("extends", f"got {parent!r}; that file was not found")]
            ) from None
        raise
    for key in replace:  # these sections are taken whole from this file, not merged
        node: Any = base
        *parents, last = key.split(".")
        for part in parents:
            node = node.get(part, {}) if isinstance(node, dict) else {}
        if isinstance(node, dict):
            node.pop(last, None)
    return deep_merge(base, data)


def parse_override(text: str) -> tuple[list[str], Any]:
    """Split ``a.b.c=value`` into a key path and a YAML-parsed value."""
    if "=" not in text:
        raise ScenarioError("--set", [(text, "expected KEY.PATH=VALUE")])
    key, raw = text.split("=", 1)
    keys = [k for k in key.strip().split(".")]
    if not key.strip() or any(not k for k in keys):
        raise ScenarioError("--set", [(key, "expected a dotted key path such as market.bank_yield")])
    try:
        value = yaml.safe_load(raw) if raw.strip() else ""
    except yaml.YAMLError:
        value = raw
    return keys, value


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
    if not isinstance(node.get(key), dict | list):
        node[key] = {}
    return node[key]


def scenario_from_dict(data: Mapping[str, Any], source: str = "<scenario>") -> Scenario:
    """Validate a scenario mapping.

    Raises:
        ScenarioError: Listing every problem found, each with its key path.
    """
    try:
        return Scenario.model_validate(dict(data))
    except ValidationError as exc:
        raise ScenarioError(source, _problems_from_validation(exc)) from None


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
    data = read_scenario_dict(path)
    data.setdefault("name", Path(path).stem)
    data = apply_overrides(data, overrides)
    return scenario_from_dict(data, str(path))


def scenario_to_yaml(scenario: Scenario) -> str:
    """Return the fully resolved scenario as YAML (every default spelled out)."""
    return yaml.safe_dump(scenario.model_dump(mode="json"), sort_keys=False, allow_unicode=True)


def scenario_hash(scenario: Scenario) -> str:
    """Return a SHA-256 of the resolved scenario, stable across key order."""
    canonical = json.dumps(scenario.model_dump(mode="json"), sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()
