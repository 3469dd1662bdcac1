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


class Rows(HTMLParser):
    """Every element with the attribute `key` (inside the first element whose `within` attribute
    has the given value, when given), in order: its attributes, the text of each element inside
    it with a data-field, and the text of each element with class "num" in it."""

    VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr"}

    def __init__(self, key: str, within: tuple[str, str] | None = None):
        super().__init__(convert_charrefs=True)
        self.key, self.within = key, within
        self.rows: list[dict] = []
        self._inside = within is None
        self._done = False
        # per open element: tag, its data-field, the index of its "num" text, opens a row, opens `within`
        self._stack: list[tuple[str, str | None, int | None, bool, bool]] = []
        self._row: dict | None = None

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        opens_within = (not self._inside and not self._done and self.within is not None
                        and attrs.get(self.within[0]) == self.within[1])
        if opens_within:
            self._inside = True
        opens_row = self._inside and self._row is None and self.key in attrs
        if opens_row:
            self._row = {"attrs": attrs, "fields": {}, "nums": []}
            self.rows.append(self._row)
        field = num = None
        if self._row is not None:
            if attrs.get("data-field"):
                field = attrs["data-field"]
                self._row["fields"][field] = ""
            if "num" in (attrs.get("class") or "").split():
                num = len(self._row["nums"])
                self._row["nums"].append("")
        if tag in self.VOID:
            return  # never closed
        self._stack.append((tag, field, num, opens_row, opens_within))

    def handle_endtag(self, tag):
        if all(entry[0] != tag for entry in self._stack):
            return  # a void element, or a stray end tag
        while self._stack:
            open_tag, _, _, opens_row, opens_within = self._stack.pop()
            if opens_row:
                self._row = None
            if opens_within:
                self._inside, self._done = False, True
            if open_tag == tag:
                break

    def handle_data(self, data):
        if self._row is None:
            return
        for _, field, num, _, _ in self._stack:
            if field:
                self._row["fields"][field] += data
            if num is not None:
                self._row["nums"][num] += data


def rows(html: str, key: str, within: tuple[str, str] | None = None) -> list[dict]:
    parser = Rows(key, within)
    parser.feed(html)
    return parser.rows
