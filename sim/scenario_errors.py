"""What is wrong with a scenario, in one line: :class:`ScenarioError` and its messages.

Pydantic reports a validation error as a location and a terse message; a
user needs the key path as written in the file, the value found and what was
expected, with a suggestion for a misspelt key. This module turns the one
into the other; :mod:`sim.scenario` raises the result for files, overrides
and parents alike.
"""

from __future__ import annotations

import difflib
import re
import types
from collections.abc import Iterable, Mapping, Sequence
from typing import Annotated, Any, Union, get_args, get_origin

from pydantic import BaseModel, ValidationError

from sim.schema import Scenario

__all__ = ["ScenarioError", "problems_from_validation"]


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
        return " ".join(head.split())  # one line, whatever the messages held


def _short(value: Any, limit: int = 60) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _dotted(loc: Iterable[Any]) -> str:
    return ".".join(
        str(p) for p in loc
        if not (isinstance(p, str) and (p.startswith("function-") or p == "[key]"))
    )


def _unwrap(annotation: Any) -> Any:
    """Strip ``Annotated[...]`` and ``X | None`` down to the type inside."""
    while True:
        origin = get_origin(annotation)
        if origin is Annotated:
            annotation = get_args(annotation)[0]
        elif origin in (Union, types.UnionType):
            inner = [a for a in get_args(annotation) if a is not type(None)]
            if len(inner) != 1:
                return annotation
            annotation = inner[0]
        else:
            return annotation


def _schema_at(loc: Sequence[Any]) -> Any:
    """Return the schema type found at key path ``loc`` of a scenario, or None."""
    annotation: Any = Scenario
    for part in loc:
        annotation = _unwrap(annotation)
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            field = annotation.model_fields.get(str(part))
            if field is None:
                return None
            annotation = field.annotation
        elif get_origin(annotation) is list:
            annotation = get_args(annotation)[0]
        elif get_origin(annotation) is dict:
            annotation = get_args(annotation)[1]
        else:
            return None
    return _unwrap(annotation)


def _unknown_key_message(loc: Sequence[Any]) -> str:
    parent = _schema_at(loc[:-1])
    if not (isinstance(parent, type) and issubclass(parent, BaseModel)):
        return "unknown key"
    valid = list(parent.model_fields)
    if len(loc) == 1:  # the file's own keys, read before validation
        valid += ["extends", "replace"]
    close = difflib.get_close_matches(str(loc[-1]), valid, n=1)
    hint = f"did you mean {close[0]!r}? " if close else ""
    return f"unknown key; {hint}expected one of: {', '.join(valid)}"


_BOUNDS = {"greater_than_equal": ">=", "greater_than": ">", "less_than_equal": "<=",
           "less_than": "<"}
_BOUND_KEYS = {"greater_than_equal": "ge", "greater_than": "gt", "less_than_equal": "le",
               "less_than": "lt"}


#: Pydantic's words for YAML's kinds of value ("a valid dictionary or instance of Budget").
_KINDS = {"model_type": "a mapping (key: value)", "model_attributes_type": "a mapping (key: value)",
          "dict_type": "a mapping (key: value)", "list_type": "a list ([a, b] or '- ' lines)"}


def _expectation(item: Mapping[str, Any]) -> str:
    kind, msg, ctx = item["type"], item["msg"], item.get("ctx") or {}
    if kind in _KINDS:
        return _KINDS[kind]
    if kind in _BOUNDS:
        return f"a number {_BOUNDS[kind]} {ctx.get(_BOUND_KEYS[kind])}"
    if kind == "literal_error":
        return f"one of {ctx.get('expected', '')}"
    if kind == "string_pattern_mismatch":
        return f"a string matching {ctx.get('pattern')!r}"
    if kind in ("too_short", "too_long"):
        most = "least" if kind == "too_short" else "most"
        count = ctx.get("min_length" if kind == "too_short" else "max_length")
        return f"at {most} {count} item{'s' if count != 1 else ''}"
    for prefix in ("Input should be ", "Input should "):
        if msg.startswith(prefix):
            return msg[len(prefix) :].split(", ")[0]
    return msg[0].lower() + msg[1:]


#: A "key.path: " prefix at the start of a model validator's message.
_PATH_PREFIX = re.compile(r"^([A-Za-z_][\w-]*(?:\.[^\s:;]+)*): ")


def _split_validator_message(loc: Sequence[Any], msg: str) -> list[tuple[str, str]]:
    """Split ``"a.b: x; c.d: y"`` from a model validator into problems with full paths.

    The schema's cross-field checks join several problems with ``"; "`` and
    start each with its key path relative to the section (``loc``). A piece
    counts as a new problem only when it starts with a key that exists in the
    scenario schema, so a ``"; "`` inside one message does not split it.
    """
    base = list(loc)
    problems: list[tuple[str, str]] = []
    for piece in msg.split("; "):
        match = _PATH_PREFIX.match(piece)
        head = match.group(1).split(".")[0] if match else None
        rooted = base if head is not None and _schema_at([*base, head]) is not None else (
            [] if head is not None and _schema_at([head]) is not None else None
        )
        if match and rooted is not None:
            problems.append((_dotted([*rooted, match.group(1)]), piece[match.end() :]))
        elif problems:
            problems[-1] = (problems[-1][0], f"{problems[-1][1]}; {piece}")
        else:
            problems.append((_dotted(base), piece))
    return problems


def problems_from_validation(err: ValidationError) -> list[tuple[str, str]]:
    """One ``(key path, message)`` pair per problem pydantic found, worded for a user."""
    problems: list[tuple[str, str]] = []
    for item in err.errors(include_url=False):
        loc = [p for p in item["loc"] if not (isinstance(p, str) and p.startswith("function-"))]
        path = _dotted(loc)
        msg = item["msg"]
        if item["type"] == "value_error":
            problems.extend(_split_validator_message(loc, msg.removeprefix("Value error, ")))
            continue
        if item["type"] == "extra_forbidden":
            msg = _unknown_key_message(loc)
        elif item["type"] == "missing":
            msg = "required key is missing"
        else:
            where = "key " if "[key]" in item["loc"] else ""
            msg = f"got {where}{_short(item.get('input'))}; expected {_expectation(item)}"
        problems.append((path, msg))
    # an unknown key first: a misspelt one ("extend:", "populaton:") is why others are missing
    return sorted(problems, key=lambda problem: not problem[1].startswith("unknown key"))
