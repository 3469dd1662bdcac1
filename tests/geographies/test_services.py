"""geographies.services.custom_area_create checks its own input, for any caller that is not the
REST view (whose serializer checks first): bad input is a CustomAreaError naming the field, before
PostgreSQL or GEOS sees it."""

import pytest
from django.contrib.auth.models import User

from geographies.models import CustomArea
from geographies.services import CustomAreaError, custom_area_create, geojson_polygon_problem

pytestmark = pytest.mark.django_db

RING = [[-2.26, 53.47], [-2.22, 53.47], [-2.22, 53.49], [-2.26, 53.49], [-2.26, 53.47]]


@pytest.mark.parametrize(("kwargs", "parameter", "says"), [
    ({"name": 5, "codes": ["E01005061"]}, "name", "1 to 200 characters"),
    ({"name": ["x"], "codes": ["E01005061"]}, "name", "1 to 200 characters"),
    ({"name": "a\x00b", "codes": ["E01005061"]}, "name", "no NUL"),
    ({"name": "x", "codes": ["E01005061\x00"]}, "codes", "no NUL"),
    ({"name": "x", "codes": [5]}, "codes", "strings"),
    ({"name": "x", "codes": ["E01005061"], "vintage_code": 21}, "vintage", "must be a string"),
    ({"name": "x", "geometry": {"type": "Circle", "coordinates": [RING]}, "method": "overlap"}, "geometry",
     "not Circle"),
    ({"name": "x", "geometry": {"type": "Polygon", "coordinates": [[[], [], [], []]]}, "method": "overlap"},
     "geometry", "a position is"),
    ({"name": "x", "geometry": {"type": "Polygon", "coordinates": [RING]}, "method": "overlap",
      "vintage_code": "LAD23"}, "vintage", "an LSOA or MSOA vintage"),
])
def test_custom_area_create_refuses_bad_input_naming_the_field(kwargs, parameter, says):
    with pytest.raises(CustomAreaError) as raised:
        custom_area_create(user=User.objects.create_user("u"), **kwargs)
    assert raised.value.parameter == parameter and says in raised.value.message
    assert CustomArea.objects.count() == 0


def test_geojson_polygon_problem_accepts_polygons_and_multipolygons():
    assert geojson_polygon_problem({"type": "Polygon", "coordinates": [RING]}) is None
    assert geojson_polygon_problem({"type": "MultiPolygon", "coordinates": [[RING], [RING]]}) is None
    assert geojson_polygon_problem({"type": "Polygon", "coordinates": [[p + [0.0] for p in RING]]}) is None  # 3D
    assert "not Point" in geojson_polygon_problem({"type": "Point", "coordinates": [0, 0]})
