"""The parameter layer's REST side: a DRF view declares its query parameters once
(`params_class`, a levelup_api.core.params.Params) and gets them parsed and validated before its
handler runs, errors as JSON whatever format was asked for, a `Deprecation` header when an old
spelling was used, and on every CSV the `Link` to its CSVW metadata."""

from __future__ import annotations

from django.http import Http404

from . import csvw
from .errors import JSONErrorsMixin
from .params import DEPRECATED_ON, NoParams, ParameterError, Params, Problem, params_parse


def add_link(response, link: str) -> None:
    """One more link in the response's `Link` header (RFC 8288: comma-separated)."""
    response["Link"] = f"{response['Link']}, {link}" if response.has_header("Link") else link


def deprecation_headers(response, deprecated: list[tuple[str, str]]) -> None:
    if deprecated:
        response["Deprecation"] = f"@{int(DEPRECATED_ON.timestamp())}"
        add_link(response, '</api/docs/>; rel="deprecation"; type="text/html"')
        response["Warning"] = "; ".join(f'299 - "{old} is deprecated: use {new}"' for old, new in deprecated)


class ParamsMixin(JSONErrorsMixin):
    """A DRF view whose query parameters are `params_class` (per method: `params_classes`).
    They are parsed before the handler runs, after authentication and quotas; the handler reads
    `self.params` (the bound declaration) and `self.cleaned` (its values)."""

    params_class: type[Params] = NoParams
    params_classes: dict[str, type[Params]] = {}

    def get_params_class(self, method: str) -> type[Params]:
        return self.params_classes.get(method.lower(), self.params_class)

    def params_queryset(self):
        return None

    def initial(self, request, *args, **kwargs):
        super().initial(request, *args, **kwargs)
        if request.method.lower() not in self.http_method_names or not hasattr(self, request.method.lower()):
            return  # dispatch() answers 405: the parameters of a method the view lacks do not matter
        # DRF reads `format` itself (perform_content_negotiation below checks its value).
        self.params = params_parse(self.get_params_class(request.method), request.query_params,
                                   queryset=self.params_queryset(), request=request, ignore=("format",))
        self.cleaned = self.params.cleaned

    def handle_exception(self, exc):
        params = getattr(self, "params", None)
        if isinstance(exc, ParameterError) and params is not None and params.deprecated:
            # A problem is reported under the name the client sent.
            sent = {new: old for old, new in params.deprecated}
            exc = ParameterError.many([Problem(sent.get(p.parameter, p.parameter), p.message, p.extra)
                                       for p in exc.problems])
        return super().handle_exception(exc)

    def finalize_response(self, request, response, *args, **kwargs):
        response = super().finalize_response(request, response, *args, **kwargs)
        params = getattr(self, "params", None)
        if params is not None:
            deprecation_headers(response, params.deprecated)
        if response.status_code == 200 and response.get("Content-Type", "").startswith("text/csv"):
            # CSVW's discovery by Link header: every CSV names its metadata document.
            add_link(response, csvw.describedby(request))
        return response

    def perform_content_negotiation(self, request, force=False):
        """An unknown `format` is a 400 naming it (DRF would answer 404)."""
        try:
            return super().perform_content_negotiation(request, force=force)
        except Http404:
            formats = ", ".join(r.format for r in self.get_renderers())
            raise ParameterError("format", f"must be one of {formats}, got {request.query_params.get('format')!r}") from None
