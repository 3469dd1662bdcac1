"""The OpenAPI document from the parameter layer: every operation's query parameters come from its
view's declaration (levelup_api.core.params), and every operation lists the error statuses it can
return with the one JSON error schema. Kept apart from openapi.py, which apps.ready() imports
before DRF's views can be (drf-spectacular's AutoSchema imports them)."""

from drf_spectacular.openapi import AutoSchema as DrfAutoSchema
from drf_spectacular.plumbing import ResolvedComponent, build_basic_type, build_parameter_type
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter
from rest_framework.renderers import BrowsableAPIRenderer

from . import csvw, jsonstat
from .params import openapi_parameters

# The body of each media type that is not the operation's JSON document (application/json and
# application/geo+json keep the serializer's schema): CSV text, and the shared components of the
# JSON-stat dataset and the CSVW metadata.
FORMAT_COMPONENTS = {"JSONStatDataset": jsonstat.OPENAPI_SCHEMA, "CSVWMetadata": csvw.OPENAPI_SCHEMA}
FORMAT_BODIES = {
    "text/csv": {"type": "string", "description": "CSV (RFC 4180, UTF-8, a header row); its CSVW metadata is at the "
                                                  "same path and query with format=csvw (the `Link` header)."},
    **{media: "JSONStatDataset" for media in jsonstat.MEDIA_TYPES},
    csvw.MEDIA_TYPE: "CSVWMetadata",
}
CSV_LINK_HEADER = {"Link": {"schema": {"type": "string"}, "description": (
    'On CSV: `<...format=csvw>; rel="describedby"; type="application/csvm+json"`, the CSVW metadata of this CSV '
    "(and, when an old parameter spelling was used, the deprecation link).")}}


class AutoSchema(DrfAutoSchema):
    """Query parameters come from the view's declaration (levelup_api.core.params), the one source
    that also validates them, rather than from django-filter's or the paginator's own guesses."""

    def _params_class(self):
        getter = getattr(self.view, "get_params_class", None)
        return getter(self.method) if getter else None

    def get_override_parameters(self):
        declared = self._params_class()
        own = openapi_parameters(declared) if declared is not None else []
        return [*own, *super().get_override_parameters()]

    def _get_filter_parameters(self):
        return [] if self._params_class() is not None else super()._get_filter_parameters()

    def _get_pagination_parameters(self):
        return [] if self._params_class() is not None else super()._get_pagination_parameters()

    def _served(self) -> list:
        """The view's renderers, less DRF's browsable page (HTML for a person, not a data format)."""
        return [r for r in self.view.get_renderers() if not isinstance(r, BrowsableAPIRenderer)]

    def _get_format_parameters(self):
        """`format` on every operation, its enum exactly the formats the view renders (DRF's own
        lists it only where there are two or more)."""
        formats = list(dict.fromkeys(r.format for r in self._served()))
        if not formats:
            return []
        parameter = build_parameter_type(name="format", schema=build_basic_type(OpenApiTypes.STR),
                                         location=OpenApiParameter.QUERY, enum=formats)
        parameter["allowEmptyValue"] = True  # DRF takes `?format=` as no format: the Accept header decides
        return [parameter]

    def _list_every_format(self, operation: dict) -> None:
        """Each success response lists every media type the view serves, each with its own body."""
        media_types = list(dict.fromkeys(r.media_type for r in self._served()))
        for code, response in operation.get("responses", {}).items():
            content = response.get("content")
            if not code.startswith("2") or not content:
                continue
            document = next((content[m] for m in ("application/json", "application/geo+json") if m in content), None)
            for media in media_types:
                body = FORMAT_BODIES.get(media)
                if isinstance(body, str):
                    component = ResolvedComponent(name=body, type=ResolvedComponent.SCHEMA, object=body,
                                                  schema=FORMAT_COMPONENTS[body])
                    self.registry.register_on_missing(component)
                    content[media] = {"schema": component.ref}
                elif body is not None:
                    content[media] = {"schema": body}
                elif media not in content and document is not None:
                    content[media] = document
            if "text/csv" in media_types:
                response.setdefault("headers", {}).update(CSV_LINK_HEADER)

    def get_operation(self, *args, **kwargs):
        operation = super().get_operation(*args, **kwargs)
        if operation is not None:
            self._list_every_format(operation)
        if operation is not None and self._params_class() is not None:
            for parameter in operation.get("parameters", []):
                schema = parameter.get("schema", {})
                typed = schema.get("type") != "string" or any(k in schema for k in ("format", "enum", "pattern"))
                if parameter["in"] == "query" and not parameter.get("required") and typed:
                    # params_parse takes `?page=` as `page` left out (as an HTML form sends an empty field).
                    parameter["allowEmptyValue"] = True
        return operation


ERROR_SCHEMA = {
    "type": "object",
    "description": "Every error under /api/ and /graphql has this shape.",
    "required": ["status", "error", "message"],
    "properties": {
        "status": {"type": "integer", "description": "The HTTP status, repeated."},
        "error": {"type": "string", "description": "A short code: bad_request, not_found, too_many_requests ..."},
        "message": {"type": "string", "description": "What went wrong, for a person."},
        "parameter": {"type": "string", "nullable": True, "description": "400: the first parameter at fault."},
        "errors": {"type": "array", "description": "400: every parameter at fault.", "items": {
            "type": "object", "required": ["parameter", "message"], "properties": {
                "parameter": {"type": "string", "nullable": True}, "message": {"type": "string"},
                "accepted": {"type": "array", "items": {"type": "string"}},
                "suggestion": {"type": "string"}}}},
        "request_id": {"type": "string", "description": "500: quote it when reporting the error."},
    },
    "additionalProperties": True,
}
ERROR_STATUSES = {
    "400": "A parameter is invalid or unknown; `parameter` and `errors` name it.",
    "401": "The X-API-Key (or token) sent is not valid; send none to read anonymously.",
    "404": "Nothing at that address (an unknown code, slug or id), or an unmatched route.",
    "406": "None of the formats in the Accept header can be served.",
    "429": "Over the quota; `Retry-After` says when to try again.",
}
WRITE_STATUSES = {
    "401": "No valid token.",
    "403": "The token may not do this.",
    "413": "The body is larger than the limit the message names.",
    "415": "The body is not JSON.",
}


def add_error_responses(result, generator, request, public):
    """Every operation lists the error statuses it can return, each with the one JSON error schema."""
    result.setdefault("components", {}).setdefault("schemas", {})["Error"] = ERROR_SCHEMA
    ref = {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}
    for path in result.get("paths", {}).values():
        for method, operation in path.items():
            responses = operation.setdefault("responses", {})
            statuses = dict(ERROR_STATUSES)
            if method in ("post", "put", "patch", "delete"):
                statuses.update(WRITE_STATUSES)
            for code, description in statuses.items():
                response = responses.setdefault(code, {"description": description})
                response.setdefault("description", description)
                response["content"] = ref
    return result
