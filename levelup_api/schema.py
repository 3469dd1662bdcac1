"""Root GraphQL schema, composed from per-app parts (as Saleor builds its schema): each app's query
mixin, and the `Area` type from the fields each app contributes; then the compiled path's SQL,
composed the same way from what each app declares for its own fields (docs/graphql.md). Only this
module, at the top of the app graph, knows all the apps; a lower app never imports a higher one."""

import graphene
from graphene import relay
from graphene_django import DjangoObjectType

from geographies.graphql import AREA_MODEL_FIELDS, AreaGraphFilterSet, GeographyAreaFields, GeographyQueries
from geographies.graphql_sql import GEOGRAPHY_SQL
from geographies.models import Area
from indicators.graphql import IndicatorAreaFields, IndicatorQueries
from indicators.graphql_sql import INDICATOR_SQL
from levelup_api.core.graphql import CountedConnection
from levelup_api.core.graphql_sql import SQLCompiler
from missions.graphql import MissionAreaFields, MissionQueries
from missions.graphql_sql import MISSION_SQL


# An area: geographies' fields (type, hierarchy, code history, boundary), indicators' (observations,
# series) and missions' (profile, missions, similar). As the DjangoObjectType registered for the Area
# model it is what every field returning an area resolves to, including those geographies declares
# (by the model, through graphene-django's registry). A comment, not a docstring: graphene would
# publish a docstring as the type's description.
class AreaNode(MissionAreaFields, IndicatorAreaFields, GeographyAreaFields, DjangoObjectType):
    class Meta:
        model = Area
        name = "Area"
        interfaces = (relay.Node,)
        connection_class = CountedConnection
        filterset_class = AreaGraphFilterSet
        fields = AREA_MODEL_FIELDS


class Query(GeographyQueries, IndicatorQueries, MissionQueries, graphene.ObjectType):
    pass


schema = graphene.Schema(query=Query)

# GraphQL compiled to SQL for the hot shapes (levelup_api/core/graphql_sql.py): each app declares
# the SQL of its own fields next to its graphene types (missions: `profile`, from the profile facts).
compiled = SQLCompiler(schema, GEOGRAPHY_SQL, INDICATOR_SQL, MISSION_SQL)
