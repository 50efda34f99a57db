"""The Jinja environment templates render in: sandboxed, and bounded in what it computes.

Jinja's sandbox stops a template reaching Python internals, but not exhausting the
machine: ``{{ 10**(3*10**6) }}`` takes seconds of CPU, ``{{ 'a' * 10**10 }}`` ten
gigabytes. Worse, Jinja folds constant expressions while compiling (the optimizer, and
the code generator for the children of an output tag), so merely compiling such a body
(which listing templates did, to find their variables) evaluates it. Here:

- nothing is evaluated at compile time: the optimizer is off and the code generator
  folds only literal text;
- ``**``, ``*``, ``+``, ``%`` and ``~`` check the size of their result before computing
  it, ``range`` shares a budget of items per render, the filters and string formatting
  that take a width or a count refuse absurd ones, and a render's output is capped.

A limit crossed raises :class:`TemplateLimitError`, which the renderer reports like any
other render error. CPU time of loops over data a template already holds is not bounded:
that would need a separate process.
"""

from __future__ import annotations

import math
import re
import string
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Any, overload

import jinja2
from jinja2 import nodes
from jinja2.compiler import CodeGenerator, Frame
from jinja2.meta import TrackingCodeGenerator
from jinja2.nodes import EvalContext
from jinja2.runtime import Context
from jinja2.sandbox import ImmutableSandboxedEnvironment

__all__ = [
    "MAX_INT_BITS",
    "MAX_LENGTH",
    "MAX_OUTPUT",
    "MAX_RANGE_ITEMS",
    "ScaffoldSandbox",
    "TemplateLimitError",
    "undeclared_names",
]

MAX_INT_BITS = 16_384  # ~4,900 decimal digits: Python will not print more than 4,300
MAX_LENGTH = 1 << 20  # items of a string or list built by *, +, ~, a width or a count
MAX_RANGE_ITEMS = 1_000_000  # items all ranges of one render may produce together
MAX_OUTPUT = 1 << 26  # characters of one rendered text (64 MiB)

# printf-style conversion: flags, width, precision (%-10.3f, %*d).
_PRINTF = re.compile(r"%(?:\([^)]*\))?[-#0 +]*(\d+|\*)?(?:\.(\d+|\*))?")
_DIGITS = re.compile(r"\d+")


class TemplateLimitError(Exception):
    """An expression would compute something far larger than any scaffold needs."""


def _too_long(length: int) -> None:
    if length > MAX_LENGTH:
        raise TemplateLimitError(
            f"result too large: {length:,} items (templates may build at most {MAX_LENGTH:,})"
        )


def _sized(value: Any) -> bool:
    return isinstance(value, str | list | tuple)


def _int_bits(value: int) -> int:
    return abs(value).bit_length()


def _check_power(base: Any, exponent: Any) -> None:
    if not isinstance(base, int) or not isinstance(exponent, int) or exponent <= 0:
        return  # floats overflow promptly with an OverflowError of their own
    if abs(base) <= 1:
        return
    bits = exponent * math.log2(abs(base))
    if bits > MAX_INT_BITS:
        raise TemplateLimitError(
            f"number too large: {base}**{exponent} has about {bits:,.0f} bits "
            f"(templates may compute at most {MAX_INT_BITS:,})"
        )


def _check_product(left: Any, right: Any) -> None:
    if isinstance(left, int) and isinstance(right, int):
        if _int_bits(left) + _int_bits(right) > MAX_INT_BITS:
            raise TemplateLimitError(
                f"number too large: a product of {_int_bits(left) + _int_bits(right):,} "
                f"bits (templates may compute at most {MAX_INT_BITS:,})"
            )
        return
    for sequence, count in ((left, right), (right, left)):
        if _sized(sequence) and isinstance(count, int):
            _too_long(len(sequence) * max(count, 0))


def _check_sum(left: Any, right: Any) -> None:
    # Numbers grow by a bit at a time this way: only sequences can double.
    if _sized(left) and _sized(right):
        _too_long(len(left) + len(right))


def _check_numbers(values: Iterable[Any], what: str) -> None:
    for value in values:
        if isinstance(value, int) and not isinstance(value, bool) and abs(value) > MAX_LENGTH:
            raise TemplateLimitError(f"{what} {value:,} is too large (at most {MAX_LENGTH:,})")


def _check_printf(form: str, args: Any) -> None:
    """``'%10d' % x``: a width or precision is an allocation of that many characters."""
    for match in _PRINTF.finditer(form):
        for number in match.groups():
            if number is not None and number != "*" and int(number) > MAX_LENGTH:
                raise TemplateLimitError(
                    f"format width {int(number):,} is too large (at most {MAX_LENGTH:,})"
                )
        if "*" in match.group(0):
            values = args if isinstance(args, tuple) else (args,)
            _check_numbers(values, "format width")


def _check_format(form: str, args: Sequence[Any], kwargs: dict[str, Any]) -> None:
    """``'{:>10}'.format(x)``: the same for str.format, nested widths included."""
    try:
        fields = list(string.Formatter().parse(form))
    except ValueError:
        return  # str.format will say what is wrong with it
    for _text, _name, spec, _conversion in fields:
        if not spec:
            continue
        for number in _DIGITS.findall(spec):
            if int(number) > MAX_LENGTH:
                raise TemplateLimitError(
                    f"format width {int(number):,} is too large (at most {MAX_LENGTH:,})"
                )
        if "{" in spec:
            _check_numbers([*args, *kwargs.values()], "format width")


class _RangeBudget:
    """``range`` for templates: ranges of one render share MAX_RANGE_ITEMS items, so
    nested loops over large ranges stop instead of running for hours."""

    def __init__(self) -> None:
        self.left = MAX_RANGE_ITEMS

    def reset(self) -> None:
        self.left = MAX_RANGE_ITEMS

    def __call__(self, *args: int) -> _BudgetedRange:
        items = range(*args)
        if len(items) > MAX_RANGE_ITEMS:
            raise TemplateLimitError(
                f"range too large: {len(items):,} items (at most {MAX_RANGE_ITEMS:,})"
            )
        return _BudgetedRange(items, self)

    def take(self) -> None:
        self.left -= 1
        if self.left < 0:
            raise TemplateLimitError(
                f"too many loop iterations: ranges may produce at most {MAX_RANGE_ITEMS:,} "
                "items in one file"
            )


class _BudgetedRange(Sequence[int]):
    def __init__(self, items: range, budget: _RangeBudget) -> None:
        self._items = items
        self._budget = budget

    def __len__(self) -> int:
        return len(self._items)

    @overload
    def __getitem__(self, index: int) -> int: ...
    @overload
    def __getitem__(self, index: slice) -> Sequence[int]: ...
    def __getitem__(self, index: int | slice) -> int | Sequence[int]:
        if isinstance(index, slice):
            return _BudgetedRange(self._items[index], self._budget)
        return self._items[index]

    def __iter__(self) -> Iterator[int]:
        for item in self._items:
            self._budget.take()
            yield item

    def __contains__(self, item: object) -> bool:
        return item in self._items

    def __repr__(self) -> str:
        return repr(self._items)


def _no_folding(generator: CodeGenerator, node: nodes.Expr) -> None:
    # Folding evaluates the expression at compile time: {{ 10**(3*10**6) }} would be
    # computed by merely compiling (or introspecting) the template. Literal text is safe.
    if not isinstance(node, nodes.TemplateData):
        raise nodes.Impossible()


class _Generator(CodeGenerator):
    def _output_child_to_const(self, node: nodes.Expr, frame: Frame, finalize: Any) -> str:
        _no_folding(self, node)
        return super()._output_child_to_const(node, frame, finalize)

    def visit_Concat(self, node: nodes.Concat, frame: Frame) -> None:
        # ``a ~ b`` is not an intercepted operator: route it through a bounded join.
        self.write("environment.bounded_concat((")
        for arg in node.nodes:
            self.visit(arg, frame)
            self.write(", ")
        self.write("))")


class _Tracker(TrackingCodeGenerator):
    def _output_child_to_const(self, node: nodes.Expr, frame: Frame, finalize: Any) -> str:
        _no_folding(self, node)
        return super()._output_child_to_const(node, frame, finalize)


def undeclared_names(template: nodes.Template) -> set[str]:
    """The variables a parsed template reads from its context (jinja2.meta's
    find_undeclared_variables, without evaluating any constant expression)."""
    assert template.environment is not None  # a parsed template has one
    tracker = _Tracker(template.environment)
    tracker.visit(template)
    return tracker.undeclared_identifiers


def _checked_filter(
    function: Callable[..., Any], check: Callable[[tuple[Any, ...], dict[str, Any]], None]
) -> Callable[..., Any]:
    def checked(*args: Any, **kwargs: Any) -> Any:
        check(args, kwargs)
        return function(*args, **kwargs)

    checked.__dict__.update(function.__dict__)  # keeps Jinja's pass_* markers
    return checked


def _sizes_after_value(args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
    passed = 1 if args and isinstance(args[0], jinja2.Environment | EvalContext) else 0
    _check_numbers([*args[passed + 1 :], *kwargs.values()], "filter argument")


def _printf_filter(args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
    if args:
        _check_printf(str(args[0]), kwargs or tuple(args[1:]))


def _replace_filter(args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
    # replace(eval_ctx, value, old, new[, count]): with old == "" every gap gets a copy
    # of new, so "a"*10**6 |replace("", "b"*10**6) is a terabyte.
    value, old, new, *_ = [*args[1:], *kwargs.values(), "", "", ""]
    if isinstance(value, str) and isinstance(new, str):
        gaps = len(value) + 1 if old == "" else value.count(str(old)) if old else 0
        _too_long(len(value) + gaps * len(new))


# Filters whose numeric arguments are a size to allocate or a count to loop over.
_SIZED_FILTERS = ("batch", "center", "indent", "slice", "truncate", "wordwrap")


class ScaffoldSandbox(ImmutableSandboxedEnvironment):
    intercepted_binops = frozenset({"**", "*", "+", "%"})
    code_generator_class = _Generator

    def __init__(self) -> None:
        super().__init__(
            undefined=jinja2.StrictUndefined,
            keep_trailing_newline=True,
            autoescape=False,
            optimized=False,
        )
        self.ranges = _RangeBudget()
        self.globals["range"] = self.ranges
        self.globals.pop("lipsum", None)  # lipsum(10**9): nothing a scaffold needs
        for name in _SIZED_FILTERS:
            self.filters[name] = _checked_filter(self.filters[name], _sizes_after_value)
        self.filters["format"] = _checked_filter(self.filters["format"], _printf_filter)
        self.filters["replace"] = _checked_filter(self.filters["replace"], _replace_filter)

    def call_binop(self, context: Context, operator: str, left: Any, right: Any) -> Any:
        if operator == "**":
            _check_power(left, right)
        elif operator == "*":
            _check_product(left, right)
        elif operator == "+":
            _check_sum(left, right)
        elif operator == "%" and isinstance(left, str):
            _check_printf(left, right)
        return super().call_binop(context, operator, left, right)

    def wrap_str_format(self, value: Any) -> Callable[..., str] | None:
        """``'{:>10}'.format(x)`` and ``format_map``: widths checked before formatting."""
        wrapped = super().wrap_str_format(value)
        if wrapped is None:
            return None
        form = str(value.__self__)

        def checked(*args: Any, **kwargs: Any) -> str:
            mapped = [v for a in args if isinstance(a, dict) for v in a.values()]
            _check_format(form, [*args, *mapped], kwargs)
            return wrapped(*args, **kwargs)

        return checked

    def bounded_concat(self, parts: Iterable[Any]) -> str:
        return self.concat(str(part) for part in parts)

    def concat(self, parts: Iterable[str]) -> str:
        """Every render, macro and ``{% set %}`` block joins its output here: capped."""
        kept: list[str] = []
        total = 0
        for part in parts:
            total += len(part)
            if total > MAX_OUTPUT:
                raise TemplateLimitError(f"output too large: more than {MAX_OUTPUT:,} characters")
            kept.append(part)
        return "".join(kept)
