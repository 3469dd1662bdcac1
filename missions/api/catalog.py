"""The DCAT catalogue's view (`/api/v1/catalog`): JSON-LD built by missions.catalog, kept per data
version like the API's other catalogues."""

from __future__ import annotations

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework.views import APIView

from levelup_api.core.caching import data_version_iso, rendered_once
from levelup_api.core.renderers import ORJSONRenderer
from levelup_api.core.rest import ParamsMixin

from ..catalog import catalog_document


class JSONLDRenderer(ORJSONRenderer):
    media_type = "application/ld+json"
    format = "jsonld"


class CatalogView(ParamsMixin, APIView):
    renderer_classes = [JSONLDRenderer, ORJSONRenderer]

    @extend_schema(
        tags=["datasets"],
        operation_id="v1_catalog_retrieve",
        summary="The DCAT catalogue of every dataset (JSON-LD)",
        description=(
            "Every dataset as a DCAT-AP `dcat:Dataset` (typed `schema:Dataset` as well) in JSON-LD, for portals that "
            "harvest DCAT and for dataset search: title, description, `dct:publisher`, `dct:license` (a URI), "
            "`dct:temporal` (the first and last day its current values cover), `dct:spatial` (the nations, by their ONS "
            "statistical-geography URI, and the area types), `dcat:keyword` (the Levelling Up missions its indicators "
            "measure, their capitals and topics), and `dcat:distribution`: the observations through the API as JSON, as "
            "CSV with CSV on the Web metadata and as JSON-stat, and the bulk files (Parquet, gzipped CSV) with "
            "`dcat:byteSize` and an `spdx:checksum` (SHA-256). The national snapshot is a dataset of its own. "
            "`Accept: application/json` (or `format=json`) gets the same document as plain JSON."
        ),
        responses={
            (200, JSONLDRenderer.media_type): OpenApiTypes.OBJECT,
            (200, "application/json"): OpenApiTypes.OBJECT,
        },
    )
    def get(self, request):
        base = request.build_absolute_uri("/").removesuffix("/")
        response = rendered_once(
            f"catalog:{base}", lambda: catalog_document(base=base, modified=data_version_iso()), request
        )
        response["Content-Type"] = request.accepted_renderer.media_type
        return response
