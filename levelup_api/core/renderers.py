"""Renderers: fast JSON with orjson (DRF's default json.dumps is several times slower on big lists), and
the media types the API serves beside it (GeoJSON, JSON-stat, CSVW metadata, CSV)."""

import csv
import datetime
import decimal
import io
from collections.abc import Iterator

import orjson
from rest_framework.renderers import BaseRenderer


def _default(obj):
    if isinstance(obj, decimal.Decimal):
        return float(obj)
    if hasattr(obj, "geojson"):
        return orjson.Fragment(obj.geojson)
    if isinstance(obj, (datetime.date, datetime.datetime)):
        return obj.isoformat()
    raise TypeError


class ORJSONRenderer(BaseRenderer):
    media_type = "application/json"
    format = "json"
    charset = None

    def render(self, data, accepted_media_type=None, renderer_context=None):
        if data is None:
            return b""
        return orjson.dumps(data, default=_default, option=orjson.OPT_NON_STR_KEYS)


class GeoJSONRenderer(ORJSONRenderer):
    media_type = "application/geo+json"
    format = "geojson"


class JSONStatRenderer(ORJSONRenderer):
    """JSON-stat 2.0 (`?format=jsonstat` or `Accept: application/vnd.json-stat+json`); the view builds
    the dataset (levelup_api.core.jsonstat)."""

    media_type = "application/vnd.json-stat+json"
    format = "jsonstat"


class JSONStatAliasRenderer(JSONStatRenderer):
    """The same dataset for clients that ask for JSON-stat as `application/json+stat`."""

    media_type = "application/json+stat"


class CSVWRenderer(ORJSONRenderer):
    """CSVW metadata for the CSV of the same request (`?format=csvw` or `Accept: application/csvm+json`;
    levelup_api.core.csvw)."""

    media_type = "application/csvm+json"
    format = "csvw"


class CSVRenderer(BaseRenderer):
    """Marks an endpoint as offering CSV (`?format=csv` or `Accept: text/csv`); the view streams it."""

    media_type = "text/csv"
    format = "csv"
    charset = "utf-8"

    def render(self, data, accepted_media_type=None, renderer_context=None):
        # Only reached for errors raised before the view could stream: send them as JSON text.
        return orjson.dumps(data, default=_default)


def csv_stream(header: list[str], rows) -> Iterator[bytes]:
    """CSV lines (RFC 4180, UTF-8) from an iterable of tuples, without holding the result in memory."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(header)
    for n, row in enumerate(rows, start=1):
        writer.writerow(["" if v is None else v for v in row])
        if n % 1000 == 0:
            yield buffer.getvalue().encode()
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue().encode()
