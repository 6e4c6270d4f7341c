"""Reading a scenario or sweep file's YAML: safely, strictly, and within bounds.

PyYAML's safe loader builds no Python objects and runs no code. On top of it,
:class:`_StrictSafeLoader` refuses what a user would not notice or cannot
afford: a key given twice in one mapping (PyYAML keeps the last one), aliases
that repeat more values than a scenario holds (a "billion laughs" file of a
few hundred bytes expands to hundreds of millions of values, which validating
took minutes and gigabytes), and nesting deeper than any scenario needs. It
reads plain scalars as YAML 1.2 does (``1e15`` is a float, ``010`` is ten,
``9:30``, ``2024-01-01``, ``no`` and ``off`` are strings; only ``true`` and
``false`` are truth values). Each problem becomes one
:class:`~sim.scenario_errors.ScenarioError` line naming the file and line.
"""

from __future__ import annotations

import codecs
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

from sim.scenario_errors import ScenarioError

#: Values aliases may repeat in one file (a scenario has a few hundred values in all).
MAX_REPEATED_VALUES = 100_000
#: Levels of nesting a file may have (a scenario needs about six).
MAX_DEPTH = 64


class _StrictSafeLoader(yaml.SafeLoader):
    """PyYAML's safe loader, refusing a key given twice, alias bombs and deep nesting.

    ``yaml.safe_load`` silently keeps the last of two equal keys, so a pasted
    second ``population:`` section would quietly replace the first.
    """

    def construct_document(self, node: yaml.Node) -> Any:
        _check_size(node)
        return super().construct_document(node)


def _children(node: yaml.Node) -> list[yaml.Node]:
    if isinstance(node, yaml.MappingNode):
        return [part for pair in node.value for part in pair]
    return list(node.value) if isinstance(node, yaml.SequenceNode) else []


def _check_size(root: yaml.Node) -> None:
    """Refuse a document whose aliases repeat too many values, or nested too deeply.

    Walks the composed nodes in document order without recursion. An alias is the
    very node of its anchor, met again: it repeats that node's values (measured when
    the anchor's node was left; a recursive alias, inside its own anchor, counts one).
    """
    size: dict[int, int] = {}
    entered: set[int] = set()
    repeated = 0
    stack: list[tuple[yaml.Node, yaml.Node, int, bool]] = [(root, root, 1, False)]
    while stack:
        node, parent, depth, leaving = stack.pop()
        children = _children(node)
        if leaving:
            size[id(node)] = 1 + sum(size.get(id(child), 1) for child in children)
            continue
        if id(node) in entered:
            repeated += size.get(id(node), 1)
            if repeated > MAX_REPEATED_VALUES:
                raise yaml.constructor.ConstructorError(
                    None, None, f"aliases repeat more than {MAX_REPEATED_VALUES:,} values",
                    parent.start_mark)
            continue
        if depth > MAX_DEPTH:
            raise yaml.constructor.ConstructorError(
                None, None, f"nested more than {MAX_DEPTH} levels deep", node.start_mark)
        entered.add(id(node))
        stack.append((node, parent, depth, True))
        stack.extend((child, node, depth + 1, False) for child in reversed(children))


def _construct_mapping(loader: _StrictSafeLoader, node: yaml.MappingNode) -> dict[Any, Any]:
    # the mapping's own keys, before merge keys (<<: *base) add the merged ones: YAML lets
    # an own key override a merged one, which is no duplicate
    own = [key_node for key_node, _ in node.value if key_node.tag != "tag:yaml.org,2002:merge"]
    loader.flatten_mapping(node)
    seen: dict[Any, yaml.Node] = {}
    for key_node in own:
        key = loader.construct_object(key_node, deep=True)
        if isinstance(key, Mapping | list):
            continue  # unhashable; construct_mapping reports it
        if key in seen:
            raise yaml.constructor.ConstructorError(
                "while constructing a mapping", node.start_mark,
                f"duplicate key {key!r} (first at line {seen[key].start_mark.line + 1})",
                key_node.start_mark,
            )
        seen[key] = key_node
    return loader.construct_mapping(node, deep=True)


_StrictSafeLoader.add_constructor(
    yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping
)

#: YAML 1.2's numbers (underscores between digits kept, as PyYAML reads ``1_000``).
#: A base prefix needs a digit after it: ``0x_`` is a string, not int('0x', 0)'s ValueError.
_INT = re.compile(r"^[-+]?(?:[0-9][0-9_]*|0[xX]_*[0-9a-fA-F][0-9a-fA-F_]*|0[oO]_*[0-7][0-7_]*"
                  r"|0[bB]_*[01][01_]*)$")
_FLOAT = re.compile(r"^(?:[-+]?(?:[0-9][0-9_]*\.[0-9_]*|\.[0-9][0-9_]*)(?:[eE][-+]?[0-9]+)?"
                    r"|[-+]?[0-9][0-9_]*[eE][-+]?[0-9]+|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))$")
_BOOL = re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$")
_INT_TAG, _FLOAT_TAG = "tag:yaml.org,2002:int", "tag:yaml.org,2002:float"
_BOOL_TAG = "tag:yaml.org,2002:bool"


def _yaml_1_2_numbers(cls: Any, *, keep_yaml_1_1: bool = False) -> None:
    """Make ``cls`` (a loader or dumper) resolve plain numbers and truth values as YAML 1.2.

    PyYAML follows YAML 1.1: ``1e15``, ``2E-3`` and ``1.0e15`` were strings ("got '1e15';
    expected a valid dictionary" for a budget), ``010`` was octal (``size: 010`` made a
    bank of 8 customers), ``9:30`` was sexagesimal 570, and ``2024-01-01`` a date (a
    scenario named so was refused: "got datetime.date(2024, 1, 1)"), and ``yes``, ``no``,
    ``on`` and ``off`` were truth values (``name: no`` was refused: "expected a string";
    no scenario field is a truth value, so only strings can meet these words). The dumper
    keeps both rules (``keep_yaml_1_1``), so a string either would read as something else
    (``'08'``, ``'2024-01-01'``, ``'no'``) is written quoted and reads back a string anywhere.
    """
    dropped = set() if keep_yaml_1_1 else {_INT_TAG, _FLOAT_TAG, _BOOL_TAG,
                                           "tag:yaml.org,2002:timestamp"}
    cls.yaml_implicit_resolvers = {
        first: [(tag, regexp) for tag, regexp in resolvers if tag not in dropped]
        for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()}
    cls.add_implicit_resolver(_INT_TAG, _INT, list("-+0123456789"))
    cls.add_implicit_resolver(_FLOAT_TAG, _FLOAT, list("-+0123456789."))
    if not keep_yaml_1_1:
        cls.add_implicit_resolver(_BOOL_TAG, _BOOL, list("tTfF"))


def _construct_int(loader: _StrictSafeLoader, node: yaml.ScalarNode) -> int:
    # underscores dropped as PyYAML drops them: int() refuses '1_' and '1__000'
    text = str(loader.construct_scalar(node)).replace("_", "")
    try:
        return int(text, 0 if re.match(r"[-+]?0[xXoObB]", text) else 10)  # 010 is ten
    except ValueError:  # an explicit !!int on what is not one: a line, not a traceback
        raise yaml.constructor.ConstructorError(
            None, None, f"!!int {text!r} is not an integer", node.start_mark) from None


class _StrictSafeDumper(yaml.SafeDumper):
    """PyYAML's safe dumper, quoting what :class:`_StrictSafeLoader` would read otherwise."""


_yaml_1_2_numbers(_StrictSafeLoader)
_yaml_1_2_numbers(_StrictSafeDumper, keep_yaml_1_1=True)
_StrictSafeLoader.add_constructor(_INT_TAG, _construct_int)


def _yaml_problem(exc: yaml.YAMLError, text: str = "") -> str:
    mark = getattr(exc, "problem_mark", None)
    where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark else ""
    problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
    if isinstance(exc, yaml.reader.ReaderError):  # a control character: its place by offset
        line, column = _line_column(text, exc.position)
        code = exc.character if isinstance(exc.character, int) else ord(exc.character)
        return (f"line {line}, column {column}: character {code:#06x} is not "
                "allowed in YAML; expected printable text")
    if isinstance(exc, yaml.constructor.ConstructorError) and "tag" in problem:
        return (
            f"unsupported YAML tag at {where}{problem}; expected plain YAML "
            "(mappings, lists, numbers, strings): scenarios cannot construct Python objects"
        )
    if isinstance(exc, yaml.constructor.ConstructorError) and "duplicate key" in problem:
        return f"{where}{problem}; expected each key once per mapping"
    if isinstance(exc, yaml.constructor.ConstructorError) and "aliases repeat" in problem:
        return (f"{where}{problem} (an alias bomb?); expected aliases (*name) that repeat "
                "a few sections")
    if "levels deep" in problem:
        return f"{where}{problem}; expected a scenario's few levels of mappings and lists"
    return f"malformed YAML at {where}{problem}"


def _safe_load(text: str) -> Any:
    """Parse YAML with the safe loader (no Python tags), rejecting duplicate keys."""
    try:
        return yaml.load(text, Loader=_StrictSafeLoader)  # a SafeLoader subclass: no tags
    except RecursionError:  # PyYAML composes nested nodes recursively: ~300 levels
        raise yaml.constructor.ConstructorError(
            None, None, f"nested more than {MAX_DEPTH} levels deep") from None


_NOT_FOUND = "file not found; expected a path to a scenario YAML file"
_IS_A_DIRECTORY = "is a directory, expected a YAML file"


def _line_column(text: str | bytes, offset: int) -> tuple[int, int]:
    newline = "\n" if isinstance(text, str) else b"\n"
    start = text.rfind(newline, 0, offset) + 1  # type: ignore[arg-type]
    return text.count(newline, 0, offset) + 1, offset - start + 1  # type: ignore[arg-type]


def _decoded(path: Path, raw: bytes) -> str:
    """The file's text: UTF-8, or UTF-16 with its byte-order mark.

    YAML allows UTF-16, which Windows tools write. Another encoding is refused naming
    the first byte that is not UTF-8 (a Latin-1 'é' said only "UnicodeDecodeError").
    """
    if raw.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        try:
            return raw.decode("utf-16")
        except UnicodeDecodeError:
            pass  # not UTF-16 after all: report it as not UTF-8
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line, column = _line_column(raw, exc.start)
        problem = (f"cannot read file (UnicodeDecodeError: byte {raw[exc.start]:#04x} at line "
                   f"{line}, column {column} is not UTF-8); expected a UTF-8 YAML file")
        raise ScenarioError(str(path), [("", problem)]) from None


def _read_yaml(path: Path, kind: str = "scenario") -> dict[str, Any]:
    """The mapping in a YAML file; ``kind`` (scenario, sweep) words its problems."""
    if not path.exists():
        raise ScenarioError(str(path), [("", _NOT_FOUND.replace("scenario", kind))])
    if path.is_dir():
        raise ScenarioError(str(path), [("", _IS_A_DIRECTORY)])
    try:
        raw = path.read_bytes()
    except OSError as exc:
        problem = f"cannot read file ({exc.__class__.__name__}); expected a UTF-8 YAML file"
        raise ScenarioError(str(path), [("", problem)]) from None
    text = _decoded(path, raw)
    try:
        data = _safe_load(text)
    except yaml.YAMLError as exc:
        raise ScenarioError(str(path), [("", _yaml_problem(exc, text))]) from None
    if data is None:
        raise ScenarioError(str(path), [("", f"file is empty, expected a mapping of {kind} keys")])
    if not isinstance(data, dict):
        raise ScenarioError(
            str(path), [("", f"top level is a {type(data).__name__}, expected a mapping")]
        )
    return data


