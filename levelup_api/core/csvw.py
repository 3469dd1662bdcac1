"""CSV on the Web (W3C CSVW, https://www.w3.org/TR/tabular-metadata/): the metadata document that
describes a CSV response of the API, and the `Link: <...>; rel="describedby"` that points to it.

A CSV at a URL is described at the same path and query with `format=csvw` (or `Accept:
application/csvm+json`): a table group whose first table is that CSV (its `url` is the same path
and query with `format=csv`), and whose other tables are the lists its foreign keys reference
(the areas list, for `area_code`). Generic: the columns, their datatypes and units are said by the
app that owns the data (geographies.csvw, indicators.csvw, missions.csvw).
"""

from __future__ import annotations

from dataclasses import dataclass

MEDIA_TYPE = "application/csvm+json"
CONTEXT = ["http://www.w3.org/ns/csvw", {"@language": "en"}]
DATATYPES = {"string", "number", "integer", "date", "boolean"}


@dataclass(frozen=True)
class Column:
    """One column as the CSV holds it: `datatype` is a CSVW built-in (string, number, integer, date,
    boolean); `unit` says what a value column counts (schema:unitText); `separator` marks a list
    in one cell (the profile's missions, `1;7`)."""

    name: str
    datatype: str
    description: str
    unit: str | None = None
    separator: str | None = None
    required: bool = False

    def __post_init__(self):
        if self.datatype not in DATATYPES:
            raise ValueError(f"{self.name}: datatype {self.datatype!r} is not one of {sorted(DATATYPES)}")

    def describe(self) -> dict:
        out = {"name": self.name, "titles": self.name, "datatype": self.datatype, "dc:description": self.description}
        if self.required:
            out["required"] = True
        if self.separator:
            out["separator"] = self.separator
        if self.unit:
            out["schema:unitText"] = self.unit
        return out


def url_with_format(request, fmt: str) -> str:
    """The request's absolute URL with `format=fmt`: the parameter replaced where the client put it,
    the rest of the query byte for byte (so that the URL of a CSV fetched with `format=csv` is the
    one its metadata names), else added at the end."""
    parts = [p for p in request.META.get("QUERY_STRING", "").split("&") if p]
    if any(p.split("=", 1)[0] == "format" for p in parts):
        parts = [f"format={fmt}" if p.split("=", 1)[0] == "format" else p for p in parts]
    else:
        parts.append(f"format={fmt}")
    return request.build_absolute_uri(request.path + "?" + "&".join(parts))


def csv_url(request) -> str:
    return url_with_format(request, "csv")


def metadata_url(request) -> str:
    return url_with_format(request, "csvw")


def describedby(request) -> str:
    """The Link header value a CSV response carries (RFC 8288; CSVW's "Link header" discovery)."""
    return f'<{metadata_url(request)}>; rel="describedby"; type="{MEDIA_TYPE}"'


def foreign_key(column: str, *, resource: str, reference: str) -> dict:
    return {"columnReference": column, "reference": {"resource": resource, "columnReference": reference}}


def table(
    url: str,
    columns: list[Column],
    *,
    title: str,
    description: str | None = None,
    foreign_keys: list[dict] = (),
    primary_key: str | None = None,
    suppress_output: bool = False,
    **properties,
) -> dict:
    """A table description: its URL, title, columns (in the CSV's order) and keys. `properties`
    are further common properties (prefixed names such as `dc:source`)."""
    schema: dict = {"columns": [c.describe() for c in columns]}
    if primary_key:
        schema["primaryKey"] = primary_key
    if foreign_keys:
        schema["foreignKeys"] = list(foreign_keys)
    out = {"url": url, "dc:title": title}
    if description:
        out["dc:description"] = description
    out.update({k: v for k, v in properties.items() if v is not None})
    if suppress_output:
        out["suppressOutput"] = True
    out["tableSchema"] = schema
    return out


def table_group(
    tables: list[dict],
    *,
    title: str,
    licence: dict | str,
    source: list | str | dict,
    modified: str | None = None,
    **properties,
) -> dict:
    """The metadata document: a table group whose first table is the CSV described. `licence` is
    {"name", "url"} (written as a link) or a name."""
    doc = {
        "@context": CONTEXT,
        "dc:title": title,
        "dc:license": {"@id": licence["url"], "dc:title": licence["name"]} if isinstance(licence, dict) else licence,
        "dc:source": source,
    }
    if modified:
        doc["dc:modified"] = {"@value": modified, "@type": "xsd:date"}
    doc.update({k: v for k, v in properties.items() if v is not None})
    doc["tables"] = tables
    return doc


# -- OpenAPI: the shape served ----------------------------------------------------------------------
_COLUMN = {
    "type": "object",
    "required": ["name", "titles", "datatype"],
    "properties": {
        "name": {"type": "string"},
        "titles": {"type": "string"},
        "datatype": {"type": "string", "pattern": "^(" + "|".join(sorted(DATATYPES)) + ")$"},
        "dc:description": {"type": "string"},
        "schema:unitText": {"type": "string"},
        "separator": {"type": "string"},
        "required": {"type": "boolean"},
    },
}
_TABLE = {
    "type": "object",
    "required": ["url", "tableSchema"],
    "properties": {
        "url": {"type": "string", "format": "uri"},
        "dc:title": {"type": "string"},
        "suppressOutput": {"type": "boolean"},
        "tableSchema": {
            "type": "object",
            "required": ["columns"],
            "properties": {
                "columns": {"type": "array", "items": _COLUMN},
                "primaryKey": {"type": "string"},
                "foreignKeys": {
                    "type": "array",
                    "items": {
                        "type": "object",
                        "properties": {
                            "columnReference": {"type": "string"},
                            "reference": {
                                "type": "object",
                                "properties": {"resource": {"type": "string"}, "columnReference": {"type": "string"}},
                            },
                        },
                    },
                },
            },
        },
    },
    "additionalProperties": True,
}
OPENAPI_SCHEMA = {
    "type": "object",
    "description": "CSVW metadata (JSON-LD, https://www.w3.org/TR/tabular-metadata/) for the CSV at the same path and "
    "query with `format=csv`: a table group whose first table is that CSV (every column's name, "
    "datatype, description and unit; `area_code`'s foreign key to the areas list, the second "
    "table), with the title, licence, source and releases. See docs/formats.md.",
    "required": ["@context", "tables"],
    "properties": {
        "@context": {"type": "array", "items": {}},
        "dc:title": {"type": "string"},
        "dc:license": {"description": 'A link ({"@id", "dc:title"}) or, for several licences, their names.'},
        "dc:source": {},
        "dc:modified": {"type": "object", "additionalProperties": True},
        "prov:wasDerivedFrom": {"type": "array", "items": {"type": "object", "additionalProperties": True}},
        "tables": {"type": "array", "minItems": 1, "items": _TABLE},
    },
    "additionalProperties": True,
}
