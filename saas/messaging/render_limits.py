"""Bounds on what a tenant's template can make the server compute.

Jinja's sandbox keeps a template away from Python objects, not away from the CPU and memory:
`{{ '%020000000d'|format(1) }}`, `|center(20000000)` or three nested `range(1000)` loops each
render megabytes for seconds. Every render runs under a `Budget`: an output size (256 KB for an
email, 1,600 characters for an SMS), a number of loop iterations, and a time budget. Each
operation that could make a large value is checked *before* it allocates (filter widths,
repetition, `%` format widths, joins, big integers) or right after, when its size is bounded by
its inputs (`~` and `+`, every filter's result); the clock is read at each such step. A
template over a limit fails with `RenderLimitExceeded`, whose message says which limit: the
template form shows it at save time, and a send fails with it as its reason.
"""

from __future__ import annotations

import re
import time
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from functools import wraps
from itertools import islice

from jinja2 import nodes, pass_context
from jinja2.sandbox import ImmutableSandboxedEnvironment, SecurityError
from jinja2.visitor import NodeTransformer

from saas.i18n import _

EMAIL_MAX_BYTES = 256 * 1024
SMS_MAX_CHARACTERS = 1600
MAX_SOURCE = 256 * 1024  # characters of template source
MAX_VALUE = EMAIL_MAX_BYTES  # characters of any text a template builds along the way
MAX_ITEMS = 10_000  # items of a list a template builds
MAX_WIDTH = 10_000  # a filter's width, a format's width or precision
MAX_RANGE = 1000
MAX_REPEAT = 10_000
MAX_LOOP_ITERATIONS = 10_000  # all loops of one render together
MAX_INT_BITS = 4096
TIME_BUDGET_SECONDS = 1.0


class RenderError(RuntimeError):
    """A saved template failed to render."""


class RenderLimitExceeded(RenderError):
    """A template went over one of the limits; the message says which, for a person."""


@dataclass
class Budget:
    max_output: int
    unit: str  # "bytes" (UTF-8) or "characters"
    deadline: float
    iterations: int = 0

    def size(self, text: str) -> int:
        return len(text.encode("utf-8", "surrogatepass")) if self.unit == "bytes" else len(text)


_budget: ContextVar[Budget | None] = ContextVar("template_budget", default=None)


def _limit_label(budget: Budget) -> str:
    if budget.unit == "bytes":
        return _("%(size)s KB (an email's limit)", size=_n(budget.max_output // 1024))
    return _("%(count)s characters (an SMS's limit)", count=_n(budget.max_output))


def _n(number) -> str:
    """A number for a person, in the language being spoken ("1,600", "1 600")."""
    from flask import has_app_context
    from flask_babel import format_decimal

    return format_decimal(number) if has_app_context() else f"{number:,}"


@contextmanager
def budget(*, sms: bool):
    """Run one render under the limits of its channel."""
    current = Budget(SMS_MAX_CHARACTERS if sms else EMAIL_MAX_BYTES,
                     "characters" if sms else "bytes", time.monotonic() + TIME_BUDGET_SECONDS)
    token = _budget.set(current)
    try:
        yield current
    finally:
        _budget.reset(token)


def check_source(source: str) -> None:
    if len(source) > MAX_SOURCE:
        raise RenderLimitExceeded(
            _("The template is %(size)s long; a template may be at most %(limit)s KB.",
              size=_size_label(len(source)), limit=_n(MAX_SOURCE // 1024)))


def _size_label(n: int) -> str:
    if n >= 1024 * 1024:
        return _("%(size)s MB", size=_n(round(n / 1024 / 1024)))
    return _("%(size)s KB", size=_n(round(n / 1024)))


def tick() -> None:
    """Read the clock: refuse a render that has used its time budget."""
    current = _budget.get()
    if current is not None and time.monotonic() > current.deadline:
        raise RenderLimitExceeded(
            _("The template takes longer than %(seconds)s second to render; simplify its "
              "loops and filters.", seconds=format(TIME_BUDGET_SECONDS, "g")))


def checked(value):
    """A value a template just built: refused when it is too large, and the clock is read."""
    if isinstance(value, str) and len(value) > MAX_VALUE:
        raise RenderLimitExceeded(_too_long())
    if isinstance(value, list | tuple) and len(value) > MAX_ITEMS:
        raise RenderLimitExceeded(_("The template builds a list of more than %(count)s items.",
                                    count=_n(MAX_ITEMS)))
    tick()
    return value


def bounded_loop(iterable):
    """The items of a `{% for %}` loop, counted against the render's loop budget."""
    current = _budget.get()
    for item in iterable:
        if current is not None:
            current.iterations += 1
            if current.iterations > MAX_LOOP_ITERATIONS:
                raise RenderLimitExceeded(
                    _("The template's loops run more than %(count)s times in one message.",
                      count=_n(MAX_LOOP_ITERATIONS)))
        tick()
        yield item


def write(chunks) -> str:
    """Join a template's output chunks, stopping at the channel's output limit."""
    current = _budget.get()
    total, out = 0, []
    for chunk in chunks:
        total += current.size(chunk) if current else len(chunk)
        if current is not None and total > current.max_output:
            raise RenderLimitExceeded(
                _("The message is longer than %(limit)s once rendered.",
                  limit=_limit_label(current)))
        out.append(chunk)
        tick()
    return "".join(out)


# -- what a template can do, checked -------------------------------------------------------------

def _too_long() -> str:
    return _("The template builds text longer than %(size)s KB.", size=_n(MAX_VALUE // 1024))


def _refused(what: str, value) -> str:
    messages = {
        "center": _("A center width of %(value)s is refused: at most %(limit)s."),
        "indent": _("An indent of %(value)s is refused: at most %(limit)s."),
        "wrap": _("A wrap width of %(value)s is refused: at most %(limit)s."),
        "batch": _("A batch size of %(value)s is refused: at most %(limit)s."),
        "slices": _("A number of slices of %(value)s is refused: at most %(limit)s."),
        "json": _("A JSON indent of %(value)s is refused: at most %(limit)s."),
    }
    return messages[what] % {"value": _n(value), "limit": _n(MAX_WIDTH)}


def _number(value, what: str) -> int:
    width = len(value) if isinstance(value, str) else value
    if isinstance(width, bool) or not isinstance(width, int | float):
        return 0
    if width > MAX_WIDTH:
        raise RenderLimitExceeded(_refused(what, width))
    return int(width)


_FORMAT_SPEC = re.compile(r"%(?:\([^)]*\))?[-#0 +]*(\*|\d+)?(?:\.(\*|\d+))?")


def _check_format(spec) -> None:
    for width, precision in _FORMAT_SPEC.findall(str(spec)):
        for number in (width, precision):
            if number == "*":
                raise RenderLimitExceeded(_("A format width given as * is not allowed."))
            if number and len(number) > 5 or number and int(number) > MAX_WIDTH:
                raise RenderLimitExceeded(
                    _("A format width of %(value)s is refused: at most %(limit)s.",
                      value=number, limit=_n(MAX_WIDTH)))


def _items(value) -> list:
    if not isinstance(value, list | tuple | str):
        value = list(islice(value, MAX_ITEMS + 1))
    return checked(value)


def _join(value, d="", *args, **kwargs):
    value = _items(value)
    if len(str(d)) * len(value) > MAX_VALUE:
        raise RenderLimitExceeded(_too_long())
    return (value, d, *args), kwargs


def _indent(s, width=4, *args, **kwargs):
    lines = str(s).count("\n") + 1
    if _number(width, "indent") * lines + len(str(s)) > MAX_VALUE:
        raise RenderLimitExceeded(_too_long())
    return (s, width, *args), kwargs


def _replace(s, old, new, count=None):
    s, old, new = str(s), str(old), str(new)
    times = (len(s) + 1) if not old else s.count(old)
    if count is not None and isinstance(count, int):
        times = min(times, max(count, 0))
    if len(s) + times * max(len(new) - len(old), 0) > MAX_VALUE:
        raise RenderLimitExceeded(_too_long())
    return (s, old, new) + ((count,) if count is not None else ()), {}


def _wordwrap(s, width=79, break_long_words=True, wrapstring=None, *args, **kwargs):
    lines = len(str(s)) // max(_number(width, "wrap") or 1, 1) + 1
    if lines * len(str(wrapstring or "\n")) + len(str(s)) > MAX_VALUE:
        raise RenderLimitExceeded(_too_long())
    return (s, width, break_long_words, wrapstring, *args), kwargs


def _simple(check):
    def pre(value, *args, **kwargs):
        check(value, *args, **kwargs)
        return (value, *args), kwargs
    return pre


PRECHECKS = {
    "center": _simple(lambda v, width=80, *a, **k: _number(width, "center")),
    "format": _simple(lambda v, *a, **k: _check_format(v)),
    "batch": _simple(lambda v, linecount, *a, **k: _number(linecount, "batch")),
    "slice": _simple(lambda v, slices, *a, **k: _number(slices, "slices")),
    "tojson": _simple(lambda v, indent=None, *a, **k: _number(indent or 0, "json")),
    "indent": _indent, "join": _join, "replace": _replace, "wordwrap": _wordwrap,
}


def _guard(name: str, func):
    """A filter whose arguments are checked first (when it can allocate a lot) and whose
    result is checked after."""
    pre = PRECHECKS.get(name)
    passes_first = getattr(func, "jinja_pass_arg", None) is not None

    @wraps(func)
    def guarded(*args, **kwargs):
        tick()
        if pre is not None:
            head, rest = (args[:1], args[1:]) if passes_first else ((), args)
            checked_args, kwargs = pre(*rest, **kwargs)
            args = (*head, *checked_args)
        return checked(func(*args, **kwargs))

    return guarded


def _range(*args):
    values = range(*args)
    if len(values) > MAX_RANGE:
        raise RenderLimitExceeded(_("range() is limited to %(count)s items in a template.",
                                    count=_n(MAX_RANGE)))
    return values


class _Bounded(NodeTransformer):
    """Every loop's items counted; every `~` concatenation's result checked."""

    def visit_For(self, node):
        node = self.generic_visit(node)
        if node.recursive:
            raise SecurityError(_("recursive loops are not allowed in a message template"))
        node.iter = nodes.Filter(node.iter, "_bounded_loop", [], [], None, None,
                                 lineno=node.lineno)
        return node

    def visit_Concat(self, node):
        node = self.generic_visit(node)
        return nodes.Filter(node, "_checked", [], [], None, None, lineno=node.lineno)


class BoundedSandbox(ImmutableSandboxedEnvironment):
    """Jinja's sandbox with the limits above; no `**`, no method calls on values."""

    intercepted_binops = frozenset(["*", "**", "+", "%"])

    def __init__(self, **options):
        super().__init__(**options)
        self.filters = {name: _guard(name, f) for name, f in self.filters.items()}
        # Context-passing, so the optimizer never runs them at compile time.
        self.filters["_bounded_loop"] = pass_context(lambda _context, items: bounded_loop(items))
        self.filters["_checked"] = pass_context(lambda _context, value: checked(value))
        self.globals.pop("lipsum", None)
        self.globals["range"] = _range

    def _generate(self, source, name, filename, defer_init=False):
        return super()._generate(_Bounded().visit(source), name, filename, defer_init)

    def call_binop(self, context, operator, left, right):
        tick()
        if operator == "**":
            raise SecurityError(_("the power operator is not allowed in a template"))
        sequences = str | list | tuple
        if operator == "*":
            if isinstance(left, sequences) or isinstance(right, sequences):
                sequence, times = (left, right) if isinstance(left, sequences) else (right, left)
                if isinstance(times, int) and len(sequence) * times > MAX_REPEAT:
                    raise RenderLimitExceeded(
                        _("A template may not repeat text that many times."))
            elif isinstance(left, int) and isinstance(right, int) \
                    and left.bit_length() + right.bit_length() > MAX_INT_BITS:
                raise RenderLimitExceeded(_("The template computes too large a number."))
        if operator == "%" and isinstance(left, str):
            _check_format(left)
        return checked(super().call_binop(context, operator, left, right))

    def call(__self, __context, __obj, *args, **kwargs):  # noqa: N805 - Jinja's signature
        tick()
        owner = getattr(__obj, "__self__", None)
        if isinstance(owner, str | bytes | list | tuple | dict | set | int | float):
            raise SecurityError(_("methods of values cannot be called in a message template"))
        return checked(super().call(__context, __obj, *args, **kwargs))
