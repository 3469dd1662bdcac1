"""Root GraphQL schema, assembled from per-app query mixins."""

import graphene

from geographies.graphql import GeographyQueries
from indicators.graphql import IndicatorQueries


class Query(GeographyQueries, IndicatorQueries, graphene.ObjectType):
    pass


schema = graphene.Schema(query=Query)
