"""The OpenAPI document from the parameter layer: every operation's query parameters come from its
view's declaration (levelup_api.core.params), and every operation lists the error statuses it can
return with the one JSON error schema. Kept apart from openapi.py, which apps.ready() imports
before DRF's views can be (drf-spectacular's AutoSchema imports them)."""

from drf_spectacular.openapi import AutoSchema as DrfAutoSchema

from .params import openapi_parameters


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

    def get_operation(self, *args, **kwargs):
        operation = super().get_operation(*args, **kwargs)
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
