"""GraphQL for missions and profiles: the same selectors as REST."""

from __future__ import annotations

import graphene
from graphene.types.generic import GenericScalar
from graphql import GraphQLError

from geographies.models import AreaType, Vintage

from . import selectors
from .api.views import mission_body, mission_queryset


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
        area_type=graphene.String(), vintage=graphene.String(),
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

    def resolve_progress(self, info, area_type=None, vintage=None):
        found = None
        if vintage:
            found = Vintage.objects.select_related("area_type").filter(code=vintage.strip().upper()).first()
            if found is None:
                raise GraphQLError(f"unknown vintage {vintage}", extensions={"parameter": "vintage"})
        elif area_type:
            found = (Vintage.objects.select_related("area_type").filter(area_type__code=area_type.strip().upper())
                     .order_by("-effective_from").first())
            if found is None or not AreaType.objects.filter(code=area_type.strip().upper()).exists():
                raise GraphQLError(f"unknown area type {area_type}", extensions={"parameter": "areaType"})
        else:
            raise GraphQLError("give areaType or vintage", extensions={"parameter": "vintage"})
        return selectors.mission_progress(mission=self._mission, vintage=found)


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
