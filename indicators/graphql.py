"""GraphQL for indicators: the same selectors and FilterSet as REST."""

from __future__ import annotations

import graphene
from graphene import relay
from graphene_django import DjangoObjectType
from graphene_django.filter import DjangoFilterConnectionField, GlobalIDFilter
from graphql import GraphQLError

from geographies.graphql import CountedConnection

from . import selectors
from .filters import IndicatorFilterSet, ObservationFilterSet
from .models import Indicator, Observation, Period


class PeriodType(DjangoObjectType):
    class Meta:
        model = Period
        name = "Period"
        fields = ("iso", "label", "type", "start", "end", "duration")


class IndicatorType(DjangoObjectType):
    source = graphene.List(graphene.NonNull(graphene.String), required=True)
    licence = graphene.String(required=True)
    periods = graphene.List(graphene.NonNull(PeriodType), required=True)

    class Meta:
        model = Indicator
        name = "Indicator"
        fields = ("slug", "title", "subtitle", "description", "caveats", "unit", "unit_symbol", "decimal_places",
                  "measure", "polarity", "aggregation", "topics", "capitals", "experimental")

    def resolve_source(self, info):
        return [p.name for p in self.dataset.publishers.all()]

    def resolve_licence(self, info):
        return self.dataset.licence

    def resolve_periods(self, info):
        return selectors.period_list(indicator=self)


class ObservationGraphFilterSet(ObservationFilterSet):
    id = GlobalIDFilter()

    class Meta(ObservationFilterSet.Meta):
        fields = [*ObservationFilterSet.Meta.fields, "id"]


class ObservationNode(DjangoObjectType):
    area_code = graphene.String(required=True)
    area_name = graphene.String(required=True)
    indicator_slug = graphene.String(required=True)

    class Meta:
        model = Observation
        name = "Observation"
        interfaces = (relay.Node,)
        connection_class = CountedConnection
        filterset_class = ObservationGraphFilterSet
        fields = ("indicator", "area", "period", "value", "lci", "uci", "status", "note")

    @classmethod
    def get_queryset(cls, queryset, info):
        return queryset.select_related("indicator", "area", "period").order_by("indicator_id", "period_id", "area_id")

    def resolve_area_code(self, info):
        return self.area.code

    def resolve_area_name(self, info):
        return self.area.name

    def resolve_indicator_slug(self, info):
        return self.indicator.slug


class ObservationsField(DjangoFilterConnectionField):
    """Unknown slugs, codes and periods are GraphQL errors naming the parameter."""

    @classmethod
    def resolve_queryset(cls, connection, iterable, info, args, filtering_args, filterset_class):
        try:
            return super().resolve_queryset(connection, iterable, info, args, filtering_args, filterset_class)
        except selectors.ObservationQueryError as exc:
            raise GraphQLError(exc.message, extensions={"parameter": exc.parameter}) from None


class IndicatorQueries(graphene.ObjectType):
    indicator = graphene.Field(IndicatorType, slug=graphene.String(required=True))
    indicators = graphene.List(
        graphene.NonNull(IndicatorType), required=True, q=graphene.String(), topic=graphene.String(),
        capital=graphene.String(), measure=graphene.String(), polarity=graphene.String(), area_type=graphene.String(),
    )
    observations = ObservationsField(ObservationNode, description="Observations, with the REST filters.")

    def resolve_indicator(self, info, slug):
        return selectors.indicator_list().filter(slug=slug).first()

    def resolve_indicators(self, info, **filters):
        fs = IndicatorFilterSet(data=filters, queryset=selectors.indicator_list())
        if not fs.is_valid():
            name, errors = next(iter(fs.errors.items()))
            raise GraphQLError(f"{name}: {errors[0]}", extensions={"parameter": name})
        return fs.qs
