"""Root GraphQL schema, assembled from per-app query mixins."""

import graphene

from geographies.graphql import GeographyQueries


class Query(GeographyQueries, graphene.ObjectType):
    pass


schema = graphene.Schema(query=Query)
