"""Root GraphQL schema, assembled from per-app query mixins."""

import graphene

from geographies.graphql import GeographyQueries
from indicators.graphql import IndicatorQueries
from missions.graphql import MissionQueries


class Query(GeographyQueries, IndicatorQueries, MissionQueries, graphene.ObjectType):
    pass


schema = graphene.Schema(query=Query)
