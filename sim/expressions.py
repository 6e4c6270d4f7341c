"""Safe expressions over customer attributes, for labels and targeting.

Scenarios may say who a label or a strategy applies to with an expression
such as ``"channel == 'online' and payments_ytd >= 4"`` (DOMAIN §6: the
"mobile spender" label). Expressions are parsed with :mod:`ast` and only a
small whitelist of nodes is accepted — names of population columns and of
labels, numbers, strings, comparisons, ``and``/``or``/``not``, arithmetic,
``in`` over a literal list, and the functions ``abs(x)``, ``log10(x)``,
``min(a, b)``, ``max(a, b)``. There are no attribute look-ups, subscripts,
calls of anything else or lambdas, so an expression cannot reach any Python
object: it is evaluated element-wise over NumPy arrays, never by
:func:`eval`, and it only reads (the functions take exactly their
arguments: NumPy's own would take a third as an output array). What each
part evaluates to is checked before any data is seen, so ``'a' + 1`` or
``age < 'x'`` is refused by ``clmsim validate``, not in the middle of a run.

Categorical columns compare with their names: ``stage == 'maturity'``,
``segment in ['A', 'B']``, ``channel == 'online'``, ``tier == '200k_1m'``.
"""

from __future__ import annotations

import ast
import itertools
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

__all__ = ["Expression", "ExpressionError"]

_COMPARE: dict[type, Callable[[Any, Any], Any]] = {
    ast.Eq: np.equal, ast.NotEq: np.not_equal, ast.Lt: np.less, ast.LtE: np.less_equal,
    ast.Gt: np.greater, ast.GtE: np.greater_equal,
}
_BINARY: dict[type, Callable[[Any, Any], Any]] = {
    ast.Add: np.add, ast.Sub: np.subtract, ast.Mult: np.multiply, ast.Div: np.divide,
    ast.Mod: np.mod, ast.Pow: np.power,
}
# wrapped, with fixed arguments: NumPy's own ufuncs take a third argument as ``out=``, so
# ``max(satisfaction, 0, satisfaction)`` would write into the model's column
_FUNCTIONS: dict[str, Callable[..., Any]] = {
    "abs": lambda x: np.abs(x),
    "log10": lambda x: np.log10(x),
    "min": lambda a, b: np.minimum(a, b),
    "max": lambda a, b: np.maximum(a, b),
}
_ARITY = {"abs": 1, "log10": 1, "min": 2, "max": 2}
#: What a sub-expression evaluates to, for the check before any data is seen.
_NUMBER, _TRUTH, _TEXT, _CATEGORY, _LIST = "number", "truth value", "string", "category", "list"


def _number(value: Any) -> Any:
    """Truth values as 0 and 1 for arithmetic (NumPy refuses ``-`` on booleans)."""
    array = np.asarray(value)
    return array.astype(np.int8) if array.dtype == np.bool_ else value


class ExpressionError(ValueError):
    """An expression uses syntax or names that are not allowed."""


@dataclass(frozen=True)
class Expression:
    """A parsed, checked expression.

    Args:
        text: The expression as written in the scenario.
        names: Names it may use (columns and labels).
        categories: For categorical columns, the category names in code order.
    """

    text: str
    names: frozenset[str]
    categories: Mapping[str, tuple[str, ...]]

    def __post_init__(self) -> None:
        try:
            tree = ast.parse(self.text.strip(), mode="eval")
        except SyntaxError as exc:
            raise ExpressionError(f"cannot parse {self.text!r}: {exc.msg}") from None
        self._check(tree.body)
        kind = self._kind(tree.body)
        if kind in (_TEXT, _LIST, _CATEGORY):
            raise ExpressionError(f"{self.text!r}: is a {kind}; expected a condition "
                                  "such as age < 60")
        object.__setattr__(self, "_tree", tree.body)

    def _check(self, node: ast.AST) -> None:
        allowed = (ast.BoolOp, ast.And, ast.Or, ast.UnaryOp, ast.Not, ast.USub, ast.UAdd,
                   ast.Compare, ast.BinOp, ast.Name, ast.Constant, ast.List, ast.Tuple,
                   ast.Load, ast.In, ast.NotIn, ast.Call, *_COMPARE, *_BINARY)
        for sub in ast.walk(node):
            if not isinstance(sub, allowed):
                raise ExpressionError(
                    f"{self.text!r}: {type(sub).__name__} is not allowed; use column names, "
                    "numbers, strings, comparisons, and/or/not, arithmetic"
                )
            if isinstance(sub, ast.Call) and not (
                isinstance(sub.func, ast.Name) and sub.func.id in _FUNCTIONS and not sub.keywords
            ):
                raise ExpressionError(
                    f"{self.text!r}: only the functions {sorted(_FUNCTIONS)} may be called"
                )
            if isinstance(sub, ast.Call) and len(sub.args) != _ARITY[sub.func.id]:  # type: ignore[attr-defined]
                name = sub.func.id  # type: ignore[attr-defined]
                raise ExpressionError(
                    f"{self.text!r}: {name} takes {_ARITY[name]} argument(s), "
                    f"got {len(sub.args)}")
            if isinstance(sub, ast.Name) and sub.id not in self.names and sub.id not in _FUNCTIONS:
                raise ExpressionError(
                    f"{self.text!r}: unknown name {sub.id!r}; expected one of {sorted(self.names)}"
                )
            if isinstance(sub, ast.Constant) and not isinstance(sub.value, int | float | str):
                raise ExpressionError(f"{self.text!r}: constant {sub.value!r} is not allowed")
            if isinstance(sub, ast.Compare):
                operands = [sub.left, *sub.comparators]
                for a, b in itertools.pairwise(operands):
                    self._check_categories(a, b)
                    self._check_categories(b, a)

    def _kind(self, node: ast.AST) -> str:
        """What ``node`` evaluates to; raises if the operation cannot take its operands.

        Checked once, before any data: ``'a' + 1`` or ``age < 'x'`` would
        otherwise pass ``clmsim validate`` and fail in the middle of a run.
        """
        def operand(sub: ast.AST, where: str) -> str:
            kind = self._kind(sub)
            if kind in (_TEXT, _LIST, _CATEGORY):
                raise ExpressionError(f"{self.text!r}: a {kind} cannot be {where}")
            return kind

        if isinstance(node, ast.Constant):
            return _TEXT if isinstance(node.value, str) else _NUMBER
        if isinstance(node, ast.Name):
            return _CATEGORY if node.id in self.categories else _NUMBER
        if isinstance(node, ast.List | ast.Tuple):
            return _LIST
        if isinstance(node, ast.BoolOp):
            for value in node.values:
                operand(value, "combined with and/or")
            return _TRUTH
        if isinstance(node, ast.UnaryOp):
            operand(node.operand, "negated")
            return _TRUTH if isinstance(node.op, ast.Not) else _NUMBER
        if isinstance(node, ast.BinOp):
            operand(node.left, "used in arithmetic")
            operand(node.right, "used in arithmetic")
            return _NUMBER
        if isinstance(node, ast.Call):
            for arg in node.args:
                operand(arg, "a function's argument")
            return _NUMBER
        if isinstance(node, ast.Compare):
            operands = [node.left, *node.comparators]
            for op, (a, b) in zip(node.ops, itertools.pairwise(operands), strict=True):
                left, right = self._kind(a), self._kind(b)
                if isinstance(op, ast.In | ast.NotIn):
                    if right != _LIST:
                        raise ExpressionError(f"{self.text!r}: 'in' needs a literal list")
                    if left == _LIST:
                        raise ExpressionError(f"{self.text!r}: a list cannot be in a list")
                    for item in b.elts:  # type: ignore[attr-defined]
                        if isinstance(item, ast.UnaryOp) and isinstance(item.op, ast.USub):
                            item = item.operand  # -1
                        if not isinstance(item, ast.Constant):
                            raise ExpressionError(f"{self.text!r}: the list after 'in' holds "
                                                  "numbers or strings, not expressions")
                    continue
                if _LIST in (left, right):
                    raise ExpressionError(f"{self.text!r}: a list can only follow 'in'")
                text = {left, right} & {_TEXT}
                if text and not {left, right} & {_CATEGORY}:
                    raise ExpressionError(f"{self.text!r}: a string can only be compared "
                                          "with a categorical column")
            return _TRUTH
        raise ExpressionError(f"{self.text!r}: {type(node).__name__} is not allowed")

    def _check_categories(self, name: ast.AST, other: ast.AST) -> None:
        """A string compared with a column must be one of that column's categories."""
        if not isinstance(name, ast.Name):
            return
        items = other.elts if isinstance(other, ast.List | ast.Tuple) else [other]
        strings = [e.value for e in items if isinstance(e, ast.Constant)
                   and isinstance(e.value, str)]
        if not strings:
            return
        cats = self.categories.get(name.id)
        if cats is None:
            raise ExpressionError(f"{self.text!r}: {name.id} is not categorical; compare it "
                                  f"with a number, not {strings[0]!r}")
        for value in strings:
            if value not in cats:
                raise ExpressionError(f"{self.text!r}: {name.id} has no category {value!r}; "
                                      f"expected one of {list(cats)}")

    def evaluate(self, columns: Mapping[str, np.ndarray], n: int) -> np.ndarray:
        """Evaluate over ``n`` customers; returns a boolean (or numeric) array of length ``n``."""
        value = self._eval(self._tree, columns)  # type: ignore[attr-defined]
        return np.broadcast_to(np.asarray(value), (n,))

    def _code(self, column: str, value: Any) -> Any:
        cats = self.categories.get(column)
        if cats is None or not isinstance(value, str):
            return value
        if value not in cats:
            raise ExpressionError(f"{self.text!r}: {column} has no category {value!r}; "
                                  f"expected one of {list(cats)}")
        return cats.index(value)

    def _eval(self, node: ast.AST, cols: Mapping[str, np.ndarray]) -> Any:
        if isinstance(node, ast.Constant):
            return node.value
        if isinstance(node, ast.Name):
            return cols[node.id]
        if isinstance(node, ast.BoolOp):
            values = [np.asarray(self._eval(v, cols), bool) for v in node.values]
            op = np.logical_and if isinstance(node.op, ast.And) else np.logical_or
            out = values[0]
            for v in values[1:]:
                out = op(out, v)
            return out
        if isinstance(node, ast.UnaryOp):
            operand = self._eval(node.operand, cols)
            if isinstance(node.op, ast.Not):
                return np.logical_not(operand)
            return -_number(operand) if isinstance(node.op, ast.USub) else operand
        if isinstance(node, ast.BinOp):
            return _BINARY[type(node.op)](_number(self._eval(node.left, cols)),
                                          _number(self._eval(node.right, cols)))
        if isinstance(node, ast.Call):
            assert isinstance(node.func, ast.Name)
            return _FUNCTIONS[node.func.id](*(_number(self._eval(a, cols)) for a in node.args))
        if isinstance(node, ast.Compare):
            return self._compare(node, cols)
        raise ExpressionError(f"{self.text!r}: cannot evaluate {type(node).__name__}")

    def _compare(self, node: ast.Compare, cols: Mapping[str, np.ndarray]) -> Any:
        result: Any = True
        left_node, left = node.left, self._eval(node.left, cols)
        for op, right_node in zip(node.ops, node.comparators, strict=True):
            column = left_node.id if isinstance(left_node, ast.Name) else None
            if isinstance(op, ast.In | ast.NotIn):
                if not isinstance(right_node, ast.List | ast.Tuple):
                    raise ExpressionError(f"{self.text!r}: 'in' needs a literal list")
                items = [self._code(column or "", self._eval(e, cols)) for e in right_node.elts]
                part = np.isin(left, items)
                part = np.logical_not(part) if isinstance(op, ast.NotIn) else part
                right = None
            else:
                right = self._eval(right_node, cols)
                if column:
                    right = self._code(column, right)
                elif isinstance(right_node, ast.Name) and isinstance(left, str):
                    left = self._code(right_node.id, left)
                part = _COMPARE[type(op)](left, right)
            # the first comparison's boolean array is the result as it is: NumPy's
            # logical_and(True, array) makes the same array, but slowly (0.9 ms at 1.2M
            # rows, several times the comparison; 4.5 of the 6.4 ms of the baseline's labels)
            first = (result is True and isinstance(part, np.ndarray) and part.ndim > 0
                     and part.dtype == np.bool_)
            result = part if first else np.logical_and(result, part)
            left_node, left = right_node, right
        return result
