"""GraphQL for indicators: the same selectors and FilterSet as REST."""

from __future__ import annotations

import graphene
from graphene import relay
from graphene_django import DjangoObjectType
from graphene_django.filter import DjangoFilterConnectionField, GlobalIDFilter
from graphql import GraphQLError

from geographies.graphql import CountedConnection

from . import selectors
from .aggregation import aggregate_indicator
from .filters import AggregateFilterSet, IndicatorFilterSet, ObservationFilterSet
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
        # Harmonised values are not rows of the table: REST serves them, and Area.series in GraphQL.
        fields = [*(f for f in ObservationFilterSet.Meta.fields if f not in ("harmonise", "explain")), "id"]


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


class AggregateWeight(graphene.ObjectType):
    indicator = graphene.String(required=True)
    period = graphene.String(required=True)


class AggregateRow(graphene.ObjectType):
    area_code = graphene.String(required=True)
    area_name = graphene.String(required=True)
    period = graphene.String(required=True)
    period_iso = graphene.String(required=True)
    value = graphene.Float(description="Null when withheld; `reason` says why.")
    children_used = graphene.Int(required=True)
    children_expected = graphene.Int(required=True)
    coverage = graphene.Float()
    flag = graphene.String(required=True)
    reason = graphene.String()


def _aggregate_rows(rows: list[dict]) -> list[AggregateRow]:
    fields = AggregateRow._meta.fields
    return [AggregateRow(**{k: v for k, v in r.items() if k in fields}) for r in rows]


def _valid(fs):
    """The FilterSet, validated: its first invalid argument is a GraphQL error naming it."""
    if not fs.is_valid():
        name, errors = next(iter(fs.errors.items()))
        raise GraphQLError(f"{name}: {errors[0]}", extensions={"parameter": name})
    return fs


class Aggregate(graphene.ObjectType):
    indicator = graphene.String(required=True)
    method = graphene.String(required=True)
    from_vintage = graphene.String(required=True)
    to_vintage = graphene.String(required=True)
    weight = graphene.Field(AggregateWeight)
    min_coverage = graphene.Float(required=True)
    rows = graphene.List(graphene.NonNull(AggregateRow), required=True)


class CustomAreaMemberType(graphene.ObjectType):
    code = graphene.String(required=True)
    name = graphene.String(required=True)
    weight = graphene.Float(required=True)


class CustomAreaType(graphene.ObjectType):
    id = graphene.ID(required=True)
    name = graphene.String(required=True)
    method = graphene.String(required=True)
    vintage = graphene.String(required=True)
    members = graphene.List(graphene.NonNull(CustomAreaMemberType), required=True)
    observations = graphene.List(
        graphene.NonNull(AggregateRow), required=True, indicator=graphene.String(required=True),
        period=graphene.String(), description="Aggregatable indicators for the custom area (comma-separated slugs).")

    def resolve_members(self, info):
        return [CustomAreaMemberType(code=c, name=n, weight=w) for c, n, w in
                self.members.order_by("area__code").values_list("area__code", "area__name", "weight")]

    def resolve_vintage(self, info):
        return self.vintage.code

    def resolve_observations(self, info, indicator, period=None):
        from .aggregation import custom_area_aggregate

        slugs = [s.strip() for s in indicator.split(",") if s.strip()]
        found = {i.slug: i for i in Indicator.objects.select_related("weight_indicator").filter(slug__in=slugs)}
        missing = [s for s in slugs if s not in found]
        if missing:
            raise GraphQLError(f"unknown indicator(s) {', '.join(missing)}", extensions={"parameter": "indicator"})
        rows = []
        try:
            for slug in slugs:
                rows += custom_area_aggregate(custom_area=self, indicator=found[slug],
                                              periods=[period] if period else []).rows
        except selectors.ObservationQueryError as exc:
            raise GraphQLError(exc.message, extensions={"parameter": exc.parameter}) from None
        return _aggregate_rows(rows)


class IndicatorQueries(graphene.ObjectType):
    custom_area = graphene.Field(CustomAreaType, id=graphene.ID(required=True),
                                 description="A custom area by the id it was created with (POST /api/v1/custom-areas/).")
    aggregate = graphene.Field(
        Aggregate, indicator=graphene.String(required=True), from_type=graphene.String(), from_vintage=graphene.String(),
        to_type=graphene.String(), to_vintage=graphene.String(), period=graphene.String(), method=graphene.String(),
        weight=graphene.String(), weight_period=graphene.String(), parent=graphene.String(),
        min_coverage=graphene.Float(),
        description="An indicator aggregated up the hierarchy: the same parameters, rules and numbers as "
                    "GET /api/v1/indicators/{slug}/aggregate/.",
    )
    indicator = graphene.Field(IndicatorType, slug=graphene.String(required=True))
    indicators = graphene.List(
        graphene.NonNull(IndicatorType), required=True, q=graphene.String(), topic=graphene.String(),
        capital=graphene.String(), measure=graphene.String(), polarity=graphene.String(), area_type=graphene.String(),
    )
    observations = ObservationsField(ObservationNode, description="Observations, with the REST filters.")

    def resolve_indicator(self, info, slug):
        return selectors.indicator_list().filter(slug=slug).first()

    def resolve_custom_area(self, info, id):
        import uuid

        from geographies.models import CustomArea

        try:
            key = uuid.UUID(str(id))
        except ValueError:
            raise GraphQLError(f"not a custom area id: {id!r}", extensions={"parameter": "id"}) from None
        return CustomArea.objects.select_related("vintage__area_type").filter(id=key).first()

    def resolve_aggregate(self, info, indicator, **params):
        found = aggregate_indicator(slug=indicator)
        if found is None:
            raise GraphQLError(f"unknown indicator {indicator!r}", extensions={"parameter": "indicator"})
        fs = _valid(AggregateFilterSet(data=params, queryset=Observation.objects.none()))
        try:
            result = fs.aggregate(found)
        except selectors.ObservationQueryError as exc:
            raise GraphQLError(exc.message, extensions={"parameter": exc.parameter}) from None
        meta = result.meta()
        return Aggregate(
            indicator=meta["indicator"], method=meta["method"], from_vintage=meta["from_vintage"],
            to_vintage=meta["to_vintage"], min_coverage=meta["min_coverage"],
            weight=AggregateWeight(**meta["weight"]) if meta["weight"] else None,
            rows=_aggregate_rows(result.rows))

    def resolve_indicators(self, info, **filters):
        return _valid(IndicatorFilterSet(data=filters, queryset=selectors.indicator_list())).qs
