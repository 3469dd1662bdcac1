"""Graphene converter for GeoDjango geometry fields: exposed as GeoJSON objects."""

import json

from django.contrib.gis.db import models as gis_models
from graphene.types.generic import GenericScalar
from graphene_django.converter import convert_django_field


class GeoJSON(GenericScalar):
    """A GeoJSON geometry object."""

    @staticmethod
    def serialize(value):
        if hasattr(value, "geojson"):
            return json.loads(value.geojson)
        return value


@convert_django_field.register(gis_models.GeometryField)
def convert_geometry_field(field, registry=None):
    return GeoJSON(description=field.help_text or "GeoJSON geometry (EPSG:4326)", required=not field.null)
