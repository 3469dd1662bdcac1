"""GraphQL for indicators: their types, the query mixin for the root schema, and the fields this
app contributes to `Area` (`IndicatorAreaFields`, composed in levelup_api/schema.py). The same
selectors and FilterSets as REST."""

from __future__ import annotations

import uuid

import graphene
from graphene import relay
from graphene_django import DjangoObjectType
from graphene_django.filter import GlobalIDFilter

from geographies.models import CustomArea
from levelup_api.core.graphql import (
    CountedConnection,
    ParamsConnectionField,
    batch_ids,
    graphql_params,
    parameter_errors,
    request_batches,
)
from levelup_api.core.params import ParameterError, params_parse

from . import selectors
from .aggregation import (
    aggregate_indicator,
    area_summaries,
    custom_area_aggregate,
    custom_area_summaries,
)
from .filters import (
    AggregateFilterSet,
    AreaObservationsParams,
    CustomAreaObservationsParams,
    IndicatorFilterSet,
    ObservationFilterSet,
    SeriesParams,
)
from .harmonise import area_series
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




class SeriesInput(graphene.ObjectType):
    area_code = graphene.String(required=True)
    area_name = graphene.String(required=True)
    value = graphene.Float()
    weight = graphene.Float()


class SeriesPoint(graphene.ObjectType):
    period = graphene.String(required=True)
    period_iso = graphene.String(required=True)
    value = graphene.Float()
    lci = graphene.Float()
    uci = graphene.Float()
    status = graphene.String(required=True)
    flag = graphene.String(required=True, description="published, converted or apportioned")
    method = graphene.String()
    weight_indicator = graphene.String()
    weight_period = graphene.String()
    reason = graphene.String()
    inputs = graphene.List(graphene.NonNull(SeriesInput), description="Inputs of a converted value.")


class IndicatorAreaFields:
    """The fields indicators adds to `Area`: a mixin of the DjangoObjectType composed in
    levelup_api/schema.py, so geographies never needs to know indicators exist. `self` in a
    resolver is the Area instance."""

    observations = graphene.List(
        graphene.NonNull(ObservationNode), required=True,
        indicator=graphene.String(required=True, description="Indicator slugs, comma-separated."),
        period=graphene.String(description="ISO period, label, year, latest or latest-N (default: every period)."),
        description="Current values for this area. Fetched for all sibling areas in one query.",
    )
    series = graphene.List(
        graphene.NonNull(SeriesPoint), required=True, indicator=graphene.String(required=True),
        vintage=graphene.String(description="Vintage code (default: the newest of the area's own type holding it)."),
        description="Every period of an indicator on one vintage: published, or converted from predecessors "
                    "(as GET /api/v1/areas/{code}/series/).",
    )

    deprivation_summaries = graphene.List(
        graphene.NonNull(lambda: DeprivationSummary), required=True,
        description="MHCLG's summaries of the Index of Multiple Deprivation for this area, from its small areas, "
                    "each with its rank among the areas of its vintage (as GET /api/v1/areas/{code}/profile/"
                    "?summaries=true).")

    def resolve_deprivation_summaries(self, info):
        return _aggregate_rows(area_summaries(area=self), DeprivationSummary)

    def resolve_observations(self, info, indicator, period=None):
        # The first area of a batched list (Area.children) fetches for the whole list at once.
        ids = batch_ids(self)
        cache = request_batches(info, "observation")
        key = (ids, indicator, period)
        if key not in cache:
            args = graphql_params(AreaObservationsParams, info, indicator=indicator, period=period)
            with parameter_errors(info):
                cache[key] = selectors.observations_by_area(area_ids=list(ids), indicators=args["indicator"],
                                                            periods=args["period"])
        return cache[key].get(self.id, [])

    def resolve_series(self, info, indicator, vintage=None):
        args = graphql_params(SeriesParams, info, indicator=indicator, vintage=vintage)
        with parameter_errors(info):
            found = aggregate_indicator(slug=args["indicator"].strip())
            if found is None:
                raise ParameterError("indicator", f"unknown indicator {indicator!r}")
            _, points = area_series(area=self, indicator=found, vintage=args["vintage"], explain=True)
        return [SeriesPoint(**{**p, "inputs": [SeriesInput(**i) for i in p.get("inputs") or []]}) for p in points]


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
    rank = graphene.Int(description="Summary methods: the rank among the result areas, 1 = the most deprived "
                                    "(highest value), as MHCLG ranks its district summaries.")
    rank_of = graphene.Int(description="How many result areas were ranked.")
    published_value = graphene.Float(description="The publisher's own figure for this area and period, where "
                                                 "one is loaded, beside the computed value.")
    published_indicator = graphene.String(description="The indicator holding `publishedValue`.")


class DeprivationSummary(AggregateRow):
    indicator = graphene.String(required=True)
    method = graphene.String(required=True)
    weight_indicator = graphene.String()
    to_vintage = graphene.String(description="The vintage of the area it is computed for, whose areas it is ranked "
                                             "among (null for a custom area).")
    api = graphene.String(description="The REST aggregate call giving this figure and its peers'.")


def _aggregate_rows(rows: list[dict], kind: type[AggregateRow] = AggregateRow) -> list[AggregateRow]:
    fields = kind._meta.fields
    return [kind(**{k: v for k, v in r.items() if k in fields}) for r in rows]


class Aggregate(graphene.ObjectType):
    indicator = graphene.String(required=True)
    method = graphene.String(required=True)
    from_vintage = graphene.String(required=True)
    to_vintage = graphene.String(required=True)
    via = graphene.String(description="The vintage whose boundaries fit children to results where the hierarchy "
                                      "has no link (LSOA21 -> LAD24 -> CAUTH24); null along the hierarchy.")
    weight = graphene.Field(AggregateWeight)
    min_coverage = graphene.Float(required=True)
    rank_order = graphene.String(description="Summary methods: '1 = highest value' (the most deprived).")
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
        period=graphene.String(), method=graphene.String(description="As for `aggregate`: a rule or a summary "
                                                                     "(average_rank, extent ...)."),
        weight=graphene.String(), description="Aggregatable indicators for the custom area (comma-separated slugs).")
    deprivation_summaries = graphene.List(
        graphene.NonNull(lambda: DeprivationSummary), required=True,
        description="MHCLG's summaries of the IMD for the custom area, from its small areas (no rank).")

    def resolve_deprivation_summaries(self, info):
        return _aggregate_rows(custom_area_summaries(custom_area=self), DeprivationSummary)

    def resolve_members(self, info):
        return [CustomAreaMemberType(code=c, name=n, weight=w) for c, n, w in
                self.members.order_by("area__code").values_list("area__code", "area__name", "weight")]

    def resolve_vintage(self, info):
        return self.vintage.code

    def resolve_observations(self, info, indicator, period=None, method=None, weight=None):
        args = graphql_params(CustomAreaObservationsParams, info, indicator=indicator, period=period, method=method,
                              weight=weight)
        slugs = args["indicator"]
        found = {i.slug: i for i in Indicator.objects.select_related("weight_indicator").filter(slug__in=slugs)}
        rows = []
        with parameter_errors(info):
            missing = [s for s in slugs if s not in found]
            if missing:
                raise ParameterError("indicator", f"unknown indicator(s) {', '.join(missing)}")
            # The custom area's values are computed here, in indicators, from its members and weights.
            for slug in slugs:
                rows += custom_area_aggregate(custom_area=self, indicator=found[slug], periods=args["period"],
                                              method=args["method"] or None, weight=args["weight"]).rows
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
        capital=graphene.String(), measure=graphene.String(), polarity=graphene.String(), type=graphene.String(),
        area_type=graphene.String(deprecation_reason="Use `type`."),
    )
    observations = ParamsConnectionField(
        ObservationNode, description="Observations, with the REST filters.",
        deprecated_arguments={"area_type": graphene.Argument(graphene.ID, deprecation_reason="Use `type`.")})

    def resolve_indicator(self, info, slug):
        return selectors.indicator_list().filter(slug=slug).first()

    def resolve_custom_area(self, info, id):
        with parameter_errors(info):
            try:
                key = uuid.UUID(str(id))
            except ValueError:
                raise ParameterError("id", f"not a custom area id: {id!r}") from None
        return CustomArea.objects.select_related("vintage__area_type").filter(id=key).first()

    def resolve_aggregate(self, info, indicator, **params):
        with parameter_errors(info):
            found = aggregate_indicator(slug=indicator)
            if found is None:
                raise ParameterError("indicator", f"unknown indicator {indicator!r}")
            fs = params_parse(AggregateFilterSet, {k: v for k, v in params.items() if v is not None})
            result = fs.aggregate(found)
        meta = result.meta()
        return Aggregate(
            indicator=meta["indicator"], method=meta["method"], from_vintage=meta["from_vintage"],
            to_vintage=meta["to_vintage"], min_coverage=meta["min_coverage"], via=meta["via"],
            rank_order=meta["rank_order"], weight=AggregateWeight(**meta["weight"]) if meta["weight"] else None,
            rows=_aggregate_rows(result.rows))

    def resolve_indicators(self, info, **filters):
        with parameter_errors(info):
            return params_parse(IndicatorFilterSet, {k: v for k, v in filters.items() if v is not None}).filter_queryset(
                selectors.indicator_list())
