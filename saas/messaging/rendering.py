"""Tenant-authored templates: sandboxed Jinja over a whitelisted context of plain values.

Merge fields a template may use (anything else is refused when the template is saved):

- `{{ record.<field> }}` for the fields in `RECORD_FIELDS` (first_name, company, ...);
- `{{ record.custom.<key> }}` (or `record.custom["key"]`) for the tenant's custom fields;
- `{{ seller.name }}`, `{{ seller.email }}`, `{{ tenant.name }}`, `{{ unsubscribe_url }}`.

Filters (`{{ record.first_name|title }}`) and `{% if %}` / `{% for %}` work; method calls on values,
`{% import %}`, `{% include %}` and `{% extends %}` do not. Every value in the context is a string
(never an ORM object), and rendering runs in Jinja's `ImmutableSandboxedEnvironment` with no
loader, so even a template that slipped past validation reaches nothing outside its context.
HTML output is sanitized with nh3. Rendering is bounded (output size, loop iterations, time,
filter widths: `saas.messaging.render_limits`). This module knows no engine and no database.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import lru_cache
from html.parser import HTMLParser

import nh3
from jinja2 import TemplateError, TemplateSyntaxError, nodes
from jinja2.meta import find_undeclared_variables

from saas.i18n import _
from saas.messaging.render_limits import (
    BoundedSandbox,
    RenderError,
    RenderLimitExceeded,
    budget,
    check_source,
    write,
)

__all__ = ["RenderError", "RenderLimitExceeded"]

RECORD_FIELDS = ("first_name", "last_name", "full_name", "company", "email", "phone", "country",
                 "lead_source", "status", "stage", "estimated_value", "close_date", "time_zone")
SELLER_FIELDS = ("name", "email")
TENANT_FIELDS = ("name",)
ROOTS = {"record": RECORD_FIELDS, "seller": SELLER_FIELDS, "tenant": TENANT_FIELDS}
NAMES = (*ROOTS, "unsubscribe_url")
_REFUSED_TAGS = {nodes.Import: "{% import %}", nodes.FromImport: "{% from ... import %}",
                 nodes.Include: "{% include %}", nodes.Extends: "{% extends %}"}


class TemplateInvalid(ValueError):
    """A template that may not be saved; `errors` are messages that start with the line."""

    def __init__(self, errors: list[str]):
        super().__init__("; ".join(errors))
        self.errors = errors


def _environment(autoescape: bool) -> BoundedSandbox:
    return BoundedSandbox(loader=None, autoescape=autoescape, keep_trailing_newline=True)


_PLAIN = _environment(autoescape=False)
_HTML = _environment(autoescape=True)


@lru_cache(maxsize=1024)
def _compiled(autoescape: bool, source: str):
    """A template compiled once per source (sending renders one template for many records).
    Its globals flattened into one dict: Jinja copies them into every render's context, and
    copying the ChainMap it keeps (the template's over the environment's) was a fifth of the
    time an email took to compose."""
    template = (_HTML if autoescape else _PLAIN).from_string(source)
    template.globals = dict(template.globals)
    return template


# -- the context ---------------------------------------------------------------------------------

def _text(value) -> str:
    return "" if value is None else str(value)


def build_context(record: Mapping, *, seller: Mapping | None = None, tenant_name: str = "",
                  unsubscribe_url: str = "", custom_keys: Iterable[str] = ()) -> dict:
    """The only values a template sees: plain strings in plain dicts, built from plain values."""
    custom_values = record.get("custom") or {}
    custom = {key: _text(custom_values.get(key)) for key in custom_keys}
    custom.update({k: _text(v) for k, v in custom_values.items() if isinstance(k, str)})
    values = {name: _text(record.get(name)) for name in RECORD_FIELDS}
    if not values["full_name"]:
        values["full_name"] = " ".join(p for p in (values["first_name"], values["last_name"]) if p)
    values["custom"] = custom
    seller = seller or {}
    return {"record": values,
            "seller": {name: _text(seller.get(name)) for name in SELLER_FIELDS},
            "tenant": {"name": _text(tenant_name)},
            "unsubscribe_url": _text(unsubscribe_url)}


# -- validation ----------------------------------------------------------------------------------

def _key_of(node) -> str | None:
    if isinstance(node, nodes.Getattr):
        return node.attr
    if isinstance(node, nodes.Getitem) and isinstance(node.arg, nodes.Const) \
            and isinstance(node.arg.value, str):
        return node.arg.value
    return None


def _path(node) -> str:
    parts = []
    while isinstance(node, nodes.Getattr | nodes.Getitem):
        parts.append(_key_of(node) or "[…]")
        node = node.node
    parts.append(node.name if isinstance(node, nodes.Name) else "…")
    return ".".join(reversed(parts))


def _check_access(node, custom_keys: set[str]) -> str | None:
    """Why an attribute/item access is refused, or None. `node` is the outermost access."""
    chain = []
    inner = node
    while isinstance(inner, nodes.Getattr | nodes.Getitem):
        chain.append(inner)
        inner = inner.node
    chain.reverse()  # innermost access first
    if not isinstance(inner, nodes.Name) or inner.name not in ROOTS:
        return _("“%(path)s” is not a merge field", path=_path(node))
    keys = [_key_of(n) for n in chain]
    if any(k is None for k in keys):
        return _("“%(path)s”: use a field name, not a computed key", path=_path(node))
    root = inner.name
    if keys[0] not in ROOTS[root] and not (root == "record" and keys[0] == "custom"):
        return _("unknown field “%(field)s”", field=".".join((root, keys[0])))
    if root == "record" and keys[0] == "custom":
        if len(keys) < 2:
            return _("“record.custom” needs a field key, e.g. record.custom.tier")
        if keys[1] not in custom_keys:
            return _("unknown custom field “%(field)s”", field="record.custom." + keys[1])
        depth = 2
    else:
        depth = 1
    if len(keys) > depth:
        return _("“%(path)s” is not a merge field (use a filter such as |upper instead)",
                 path=_path(node))
    return None


def validate(source: str, *, custom_keys: Iterable[str] = ()) -> list[str]:
    """Every problem in a template source, each starting with its line number."""
    try:
        check_source(source)
    except RenderLimitExceeded as error:
        return [str(error)]
    try:
        ast = _PLAIN.parse(source)
    except TemplateSyntaxError as error:
        return [_line(error.lineno, error.message)]
    try:
        undeclared = find_undeclared_variables(ast) - set(NAMES)
    except TemplateSyntaxError as error:  # an unknown filter or test
        return [_line(error.lineno, error.message)]
    custom = set(custom_keys)
    errors: list[tuple[int, str]] = []
    for node_type, tag in _REFUSED_TAGS.items():
        for node in ast.find_all(node_type):
            errors.append((node.lineno, _("%(tag)s is not allowed in a message template",
                                          tag=tag)))
    reported = set()
    for node in ast.find_all(nodes.Name):
        if node.ctx == "load" and (node.name in undeclared or node.name == "self") \
                and node.name not in reported:
            reported.add(node.name)
            errors.append((node.lineno, _("unknown field “%(field)s”", field=node.name)))
    outermost = _outermost_accesses(ast)
    for node in outermost:
        problem = _check_access(node, custom)
        if problem:
            errors.append((node.lineno, problem))
    if not errors:
        try:
            _PLAIN.from_string(source)  # compiles: unknown filters and tests show up here
        except TemplateSyntaxError as error:
            errors.append((error.lineno, error.message or _("invalid template")))
        except TemplateError as error:
            errors.append((1, str(error)))
    return [_line(line, message) for line, message in sorted(errors)]


def _line(number, message) -> str:
    """A problem with its line; Jinja's own syntax messages stay as Jinja words them."""
    return _("Line %(line)s: %(message)s", line=number, message=message)


def _outermost_accesses(ast) -> list:
    """Getattr/Getitem nodes that are not themselves the target of another access."""
    inner_ids = set()
    accesses = []
    for node in ast.find_all((nodes.Getattr, nodes.Getitem)):
        accesses.append(node)
        if isinstance(node.node, nodes.Getattr | nodes.Getitem):
            inner_ids.add(id(node.node))
    return [n for n in accesses if id(n) not in inner_ids]


# -- rendering -----------------------------------------------------------------------------------

def _render(autoescape: bool, source: str, context: Mapping, sms: bool) -> str:
    check_source(source)
    try:
        with budget(sms=sms):
            return write(_compiled(autoescape, source).generate(context))
    except RenderError:
        raise
    except Exception as error:  # a template's fault (no loader, a SecurityError, 1/0...)
        raise RenderError(str(error)) from error


def render_text(source: str, context: Mapping, *, sms: bool = False) -> str:
    """A subject, a text body or an SMS body (no escaping), within the channel's limits."""
    return _render(False, source, context, sms)


def sanitize_html(html: str) -> str:
    return nh3.clean(html)


def render_html(source: str, context: Mapping) -> str:
    """An HTML body: merge values are escaped, the result is sanitized (no script, no on*)."""
    return sanitize_html(_render(True, source, context, False))


def limit_problem(source: str, *, sms: bool = False, html: bool = False,
                  custom_keys: Iterable[str] = ()) -> str | None:
    """Why a template goes over the rendering limits with sample values, or None: checked when
    it is saved, so that a send does not discover it."""
    keys = list(custom_keys)
    sample = {name: "Sample" for name in RECORD_FIELDS}
    sample["custom"] = dict.fromkeys(keys, "Sample")
    context = build_context(sample, seller={"name": "Sample", "email": "seller@example.com"},
                            tenant_name="Sample", unsubscribe_url="https://example.com/u",
                            custom_keys=keys)
    try:
        _render(html, source, context, sms)
    except RenderLimitExceeded as error:
        return str(error)
    except RenderError:
        return None  # depends on the record's values; the preview shows it
    return None


# -- HTML to text --------------------------------------------------------------------------------

_BLOCKS = {"p", "div", "section", "article", "header", "footer", "table", "tr", "ul", "ol",
           "h1", "h2", "h3", "h4", "h5", "h6", "blockquote", "pre", "hr"}


class _TextExtractor(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.skip = 0
        self.href: list[str | None] = []

    def handle_starttag(self, tag, attrs):
        if tag in ("script", "style", "head", "title"):
            self.skip += 1
        elif tag == "br":
            self.parts.append("\n")
        elif tag == "li":
            self.parts.append("\n- ")
        elif tag in _BLOCKS:
            self.parts.append("\n\n")
        elif tag == "a":
            self.href.append(dict(attrs).get("href"))
        elif tag in ("td", "th"):
            self.parts.append(" ")

    def handle_endtag(self, tag):
        if tag in ("script", "style", "head", "title"):
            self.skip = max(0, self.skip - 1)
        elif tag in _BLOCKS:
            self.parts.append("\n\n")
        elif tag == "a" and self.href:
            href = self.href.pop()
            if href and not href.startswith(("#", "mailto:")):
                self.parts.append(f" ({href})")

    def handle_data(self, data):
        if not self.skip:
            self.parts.append(re.sub(r"\s+", " ", data))


def html_to_text(html: str) -> str:
    """A readable plain-text version of an HTML body: paragraphs, line breaks, list items,
    and links written as `text (url)`."""
    parser = _TextExtractor()
    parser.feed(html)
    parser.close()
    lines = [" ".join(line.split()) for line in "".join(parser.parts).split("\n")]
    text = "\n".join(line.strip() for line in lines)
    while "\n\n\n" in text:
        text = text.replace("\n\n\n", "\n\n")
    return text.strip()


# -- SMS segments --------------------------------------------------------------------------------

GSM7_BASIC = set(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà")
GSM7_EXTENSION = set("^{}\\[~]|€\f")


@dataclass(frozen=True)
class SmsCount:
    encoding: str  # "GSM-7" or "UCS-2"
    characters: int  # in the encoding's units: extension characters and emoji count 2
    parts: int
    per_part: int  # what one part holds at this length (160/153 or 70/67)

    @property
    def remaining(self) -> int:
        return self.parts * self.per_part - self.characters if self.parts else self.per_part


def count_sms(text: str) -> SmsCount:
    """How many SMS parts a body takes: GSM-7 holds 160 in one part or 153 per part when split;
    any character outside GSM-7 switches the whole message to UCS-2 (70, or 67 per part)."""
    if all(c in GSM7_BASIC or c in GSM7_EXTENSION for c in text):
        units = sum(2 if c in GSM7_EXTENSION else 1 for c in text)
        encoding, single, multi = "GSM-7", 160, 153
    else:
        units = len(text.encode("utf-16-le")) // 2
        encoding, single, multi = "UCS-2", 70, 67
    if units == 0:
        return SmsCount(encoding, 0, 0, single)
    if units <= single:
        return SmsCount(encoding, units, 1, single)
    return SmsCount(encoding, units, math.ceil(units / multi), multi)
