"""Read the fields of a page's forms, so the fuzz starts from what a person would submit."""

from __future__ import annotations

from html.parser import HTMLParser
from urllib.parse import urlsplit


class _Forms(HTMLParser):
    def __init__(self):
        super().__init__()
        self.forms: list[dict] = []
        self._form: dict | None = None
        self._select: str | None = None
        self._textarea: str | None = None

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "form":
            self._form = {"action": a.get("action") or "", "method": (a.get("method") or "get")
                          .lower(), "fields": {}}
            self.forms.append(self._form)
            return
        if self._form is None or not a.get("name") or "disabled" in a:
            return
        fields, name = self._form["fields"], a["name"]
        if tag == "input":
            kind = (a.get("type") or "text").lower()
            if kind in ("submit", "button", "image", "reset", "file"):
                return
            if kind in ("checkbox", "radio") and "checked" not in a and name in fields:
                return
            fields[name] = a.get("value") or ("on" if kind == "checkbox" else "")
        elif tag == "select":
            self._select = name
            fields.setdefault(name, "")
        elif tag == "option" and self._select:
            value = a.get("value", "")
            if "selected" in a or not fields.get(self._select):
                fields[self._select] = value
        elif tag == "textarea":
            self._textarea = name
            fields[name] = ""

    def handle_data(self, data):
        if self._form is not None and self._textarea:
            self._form["fields"][self._textarea] += data

    def handle_endtag(self, tag):
        if tag == "form":
            self._form = None
        elif tag == "select":
            self._select = None
        elif tag == "textarea":
            self._textarea = None


def post_fields(html: str, path: str) -> dict[str, str]:
    """The fields of the POST form(s) on the page that submit to `path` (csrf token left out)."""
    parser = _Forms()
    parser.feed(html)
    fields: dict[str, str] = {}
    for form in parser.forms:
        target = urlsplit(form["action"]).path or path
        if form["method"] == "post" and target == path:
            fields.update(form["fields"])
    fields.pop("csrf_token", None)
    return fields
