"""GraphQL for missions and profiles: their types, the query mixin for the root schema, and the
fields this app contributes to `Area` (`MissionAreaFields`: profile, missions, similar; composed in
levelup_api/schema.py). The same selectors as REST."""

from __future__ import annotations

import graphene
from graphene.types.generic import GenericScalar

from indicators.models import Indicator
from levelup_api.core.graphql import graphql_params, parameter_errors
from levelup_api.core.params import ParameterError

from . import selectors
from .api.views import mission_body, mission_queryset
from .filters import ProfileParams, ProgressParams, SimilarParams, level_value


class ObjectiveType(graphene.ObjectType):
    number = graphene.Int(required=True)
    name = graphene.String(required=True)


class MetricType(graphene.ObjectType):
    indicator = graphene.String(required=True)
    title = graphene.String(required=True)
    headline = graphene.Boolean(required=True)
    link = graphene.String(required=True, description="ons_tag or suggested")
    unit = graphene.String()
    national_latest = GenericScalar(description="England's latest value (the UK's where England has none).")


class TargetType(graphene.ObjectType):
    kind = graphene.String(required=True)
    description = graphene.String(required=True)
    value = graphene.Float()
    unit = graphene.String()
    gap = graphene.String()
    target_year = graphene.Int(required=True)
    indicator = graphene.String()
    data_status = graphene.String(required=True)
    data_note = graphene.String()


class MissionType(graphene.ObjectType):
    number = graphene.Int(required=True)
    short_name = graphene.String(required=True)
    statement = graphene.String(required=True)
    source_url = graphene.String(required=True)
    objective = graphene.Field(ObjectiveType, required=True)
    capitals = graphene.List(graphene.NonNull(graphene.String), required=True)
    target_year = graphene.Int(required=True)
    data_status = graphene.String(required=True)
    metrics = graphene.List(graphene.NonNull(MetricType), required=True)
    targets = graphene.List(graphene.NonNull(TargetType), required=True)
    progress = GenericScalar(
        type=graphene.String(description="Area type of the areas (e.g. LAD): its newest vintage unless `vintage`."),
        vintage=graphene.String(description="Vintage of the areas (e.g. LAD23)."),
        area_type=graphene.String(deprecation_reason="Use `type`."),
        description="The same document as GET /api/v1/missions/{number}/progress/.")

    @classmethod
    def from_mission(cls, mission, national: dict | None = None) -> MissionType:
        body = mission_body(mission, national)
        return cls(**{**body, "objective": ObjectiveType(**body["objective"]),
                      "metrics": [MetricType(**m) for m in body["metrics"]],
                      "targets": [TargetType(**t) for t in body["targets"]]}, _mission=mission)

    def __init__(self, _mission=None, **kwargs):
        super().__init__(**kwargs)
        self._mission = _mission

    def resolve_progress(self, info, **arguments):
        args = graphql_params(ProgressParams, info, **arguments)
        with parameter_errors(info):
            return selectors.mission_progress(mission=self._mission, vintage=selectors.areas_vintage(**args))


def _profile_row_type() -> type[graphene.ObjectType]:
    """A flat GraphQL type with the profile's columns, read from the selector's own list so the
    two cannot drift apart."""
    numbers = {"value", "lci", "uci", "comparison_level", "region_value", "region_coverage", "region_difference",
               "national_value", "national_coverage", "national_difference"}
    ints = {"rank", "rank_of", "decile", "trend_points"}
    fields = {c: graphene.Float() if c in numbers else graphene.Int() if c in ints else graphene.String()
              for c in selectors.PROFILE_COLUMNS if c != "missions"}
    fields["missions"] = graphene.List(graphene.NonNull(graphene.Int))
    return type("ProfileRow", (graphene.ObjectType,), fields)


ProfileRow = _profile_row_type()


class MissionAreaFields:
    """The fields missions adds to `Area`: a mixin of the DjangoObjectType composed in
    levelup_api/schema.py, so neither geographies nor indicators needs to know missions exist.
    `self` in a resolver is the Area instance."""

    profile = graphene.List(
        graphene.NonNull(ProfileRow), required=True,
        level=graphene.String(description="Confidence level of the comparisons and trends: 95 (default) or 99.8."),
        description="Every indicator for the area at its latest period, ranked and compared with region and nation "
                    "(as GET /api/v1/areas/{code}/profile/).")
    missions = GenericScalar(description="The area's scorecard across the 12 missions (as /areas/{code}/missions/).")
    similar = GenericScalar(
        indicator=graphene.String(description="Indicator slugs, comma-separated (default: mission headlines)."),
        indicators=graphene.String(deprecation_reason="Use `indicator`."),
        n=graphene.Int(description="How many, 1 to 100 (default 10)."),
        description="Statistically similar areas of the same type (as /areas/{code}/similar/).")

    def resolve_profile(self, info, **arguments):
        level = level_value(graphql_params(ProfileParams, info, **arguments))
        return [ProfileRow(**r) for r in selectors.area_profile(area=self, level=level)]

    def resolve_missions(self, info):
        return selectors.area_scorecard(area=self)

    def resolve_similar(self, info, **arguments):
        args = graphql_params(SimilarParams, info, **arguments)
        n = args["n"] or 10
        with parameter_errors(info):
            slugs = args["indicator"]
            chosen = (list(Indicator.objects.filter(slug__in=slugs)) if slugs else
                      list(Indicator.objects.filter(mission_metrics__headline=True).distinct().order_by("slug")))
            if slugs and len(chosen) != len(set(slugs)):
                raise ParameterError("indicator", "unknown indicator among: " + ", ".join(slugs))
            used, rows = selectors.area_similar(area=self, indicators=chosen, n=n)
        return {"indicators": [i.slug for i in used], "similar": rows}


class MissionQueries(graphene.ObjectType):
    missions = graphene.List(graphene.NonNull(MissionType), required=True, description="The 12 missions.")
    mission = graphene.Field(MissionType, number=graphene.Int(required=True))

    def resolve_missions(self, info):
        missions = list(mission_queryset().order_by("number"))
        national = selectors.national_latest({x.indicator_id for m in missions for x in m.metrics.all()})
        return [MissionType.from_mission(m, national) for m in missions]

    def resolve_mission(self, info, number):
        found = mission_queryset().filter(number=number).first()
        if found is None:
            return None
        return MissionType.from_mission(found, selectors.national_latest([x.indicator_id for x in found.metrics.all()]))
