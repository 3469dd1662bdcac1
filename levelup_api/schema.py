"""Root GraphQL schema, composed from per-app parts (as Saleor builds its schema): each app's query
mixin, and the `Area` type from the fields each app contributes. Only this module, at the top of
the app graph, knows all the apps; a lower app never imports a higher one."""

import graphene
from graphene import relay
from graphene_django import DjangoObjectType

from geographies.graphql import AREA_MODEL_FIELDS, AreaGraphFilterSet, GeographyAreaFields, GeographyQueries
from geographies.models import Area
from indicators.graphql import IndicatorAreaFields, IndicatorQueries
from levelup_api.core.graphql import CountedConnection
from missions.graphql import MissionAreaFields, MissionQueries


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
