"""Reads the profile table of an area page back into numbers (the standard library's HTML parser):
each row's data-indicator, and the text of each element with a data-field inside it."""

from __future__ import annotations

from html.parser import HTMLParser


class ProfileTable(HTMLParser):
    """rows: {indicator slug: {field: text}}, plus 'period', 'title' and the spine's data- attributes."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.rows: dict[str, dict[str, str]] = {}
        self.spines: dict[str, dict[str, str]] = {}
        self._row: str | None = None
        self._field: str | None = None
        self._depth = 0
        self._in_table = False

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "table" and attrs.get("id") == "profile-table":
            self._in_table = True
        if not self._in_table:
            return
        if tag == "tr" and "data-indicator" in attrs:
            self._row = attrs["data-indicator"]
            self.rows[self._row] = {}
        elif self._row and tag == "svg" and "spine" in (attrs.get("class") or "").split():
            self.spines[self._row] = {k.removeprefix("data-"): v for k, v in attrs.items() if k.startswith("data-")}
        elif self._row and (attrs.get("data-field") or (tag == "td" and "period" in (attrs.get("class") or ""))):
            self._field = attrs.get("data-field") or "period"
            self.rows[self._row][self._field] = ""
            self._depth = 0
        elif self._field:
            self._depth += 1

    def handle_endtag(self, tag):
        if tag == "table" and self._in_table:
            self._in_table = False
        if self._field:
            if self._depth == 0:
                self._field = None
            else:
                self._depth -= 1
        if tag == "tr":
            self._row = None

    def handle_data(self, data):
        if self._row and self._field:
            self.rows[self._row][self._field] += data


def profile_table(html: str) -> ProfileTable:
    parser = ProfileTable()
    parser.feed(html)
    return parser


def number(text: str) -> float:
    """A number as a page shows it (thousands grouped) back to the float."""
    return float(text.strip().replace(",", ""))
