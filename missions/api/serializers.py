"""The shapes of the missions, progress, scorecard, profile and similar-areas responses, for the
OpenAPI document (the views build them as dicts: missions.api.views, missions.selectors)."""

from rest_framework import serializers

from indicators.api.serializers import DeprivationSummarySerializer
from indicators.models import Indicator

from ..models import DataStatus, Metric, Target


class AreaRefSerializer(serializers.Serializer):
    code = serializers.CharField()
    name = serializers.CharField()


class ObjectiveSerializer(serializers.Serializer):
    number = serializers.IntegerField()
    name = serializers.CharField()


class NationalValueSerializer(serializers.Serializer):
    code = serializers.CharField(help_text="E92000001 (England), or K02000001 (the UK) where England has no value.")
    period = serializers.CharField()
    value = serializers.FloatField()


class MissionMetricSerializer(serializers.Serializer):
    indicator = serializers.CharField()
    title = serializers.CharField()
    headline = serializers.BooleanField()
    link = serializers.ChoiceField(choices=Metric.Link.choices)
    unit = serializers.CharField()
    national_latest = NationalValueSerializer(allow_null=True, help_text="Null when there is no national value.")


class MissionTargetSerializer(serializers.Serializer):
    kind = serializers.ChoiceField(choices=Target.Kind.choices)
    description = serializers.CharField()
    value = serializers.FloatField(allow_null=True)
    unit = serializers.CharField(allow_blank=True)
    gap = serializers.ChoiceField(choices=Target.Gap.choices, allow_null=True)
    target_year = serializers.IntegerField()
    indicator = serializers.CharField(allow_null=True, help_text="Null for a target no metric measures.")
    data_status = serializers.ChoiceField(choices=DataStatus.choices)
    data_note = serializers.CharField(allow_blank=True)


class MissionSerializer(serializers.Serializer):
    number = serializers.IntegerField()
    short_name = serializers.CharField()
    statement = serializers.CharField()
    source_url = serializers.URLField()
    objective = ObjectiveSerializer()
    capitals = serializers.ListField(child=serializers.CharField())
    target_year = serializers.IntegerField()
    data_status = serializers.ChoiceField(choices=DataStatus.choices)
    metrics = MissionMetricSerializer(many=True)
    targets = MissionTargetSerializer(many=True)


# -- progress ------------------------------------------------------------------------------------
class ProgressAreasSerializer(serializers.Serializer):
    with_values_latest = serializers.IntegerField()
    compared = serializers.IntegerField(help_text="Areas with a value at both the baseline and the latest period.")
    improving = serializers.IntegerField(allow_null=True, help_text="Null without a polarity.")
    share_improving = serializers.FloatField(allow_null=True)


class ProgressPointSerializer(serializers.Serializer):
    period = serializers.CharField()
    period_iso = serializers.CharField()
    national_code = serializers.CharField(allow_null=True)
    national_value = serializers.FloatField(allow_null=True)


class GapPointSerializer(serializers.Serializer):
    period = serializers.CharField()
    period_iso = serializers.CharField()
    gap = serializers.FloatField(allow_null=True)


class TargetProgressSerializer(serializers.Serializer):
    kind = serializers.ChoiceField(choices=Target.Kind.choices)
    description = serializers.CharField()
    value = serializers.FloatField(allow_null=True)
    unit = serializers.CharField(allow_blank=True)
    target_year = serializers.IntegerField()
    data_status = serializers.ChoiceField(choices=DataStatus.choices)
    data_note = serializers.CharField(allow_blank=True)
    status = serializers.CharField(allow_null=True, help_text=(
        "gap_narrows: narrowing, widening, unchanged or not assessable; national targets: Open SDG's on track, "
        "needs acceleration, limited progress, deteriorating (improving or no change without a target value) or not "
        "assessable; null for targets not assessed here."))
    gap_definition = serializers.CharField(required=False, help_text="gap_narrows only.")
    gap_areas = serializers.IntegerField(required=False, help_text="gap_narrows only: the areas with every period.")
    gap_series = GapPointSerializer(many=True, required=False, help_text="gap_narrows only.")
    status_method = serializers.CharField(required=False, help_text="National targets only.")


class MetricProgressSerializer(serializers.Serializer):
    indicator = serializers.CharField()
    title = serializers.CharField()
    headline = serializers.BooleanField()
    link = serializers.ChoiceField(choices=Metric.Link.choices)
    polarity = serializers.ChoiceField(choices=Indicator.Polarity.choices)
    areas = ProgressAreasSerializer(allow_null=True, help_text="Null when the metric has no values on these areas.")
    baseline = ProgressPointSerializer(allow_null=True)
    latest = ProgressPointSerializer(allow_null=True)
    national_change = serializers.FloatField(allow_null=True)
    national_direction = serializers.ChoiceField(choices=["better", "worse", "no change"], allow_null=True)
    targets = TargetProgressSerializer(many=True)


class UnmeasuredTargetSerializer(serializers.Serializer):
    kind = serializers.ChoiceField(choices=Target.Kind.choices)
    description = serializers.CharField()
    data_status = serializers.ChoiceField(choices=DataStatus.choices)
    data_note = serializers.CharField(allow_blank=True)


class MissionProgressSerializer(serializers.Serializer):
    mission = serializers.IntegerField()
    vintage = serializers.CharField()
    area_type = serializers.CharField()
    baseline_from = serializers.DateField()
    metrics = MetricProgressSerializer(many=True)
    targets_without_metric = UnmeasuredTargetSerializer(many=True)


# -- profiles and scorecards ---------------------------------------------------------------------
class ProfileRowSerializer(serializers.Serializer):
    """One indicator for one area (missions.selectors.profiles); the CSV has the same columns."""

    area_code = serializers.CharField()
    area_name = serializers.CharField()
    indicator = serializers.CharField()
    title = serializers.CharField()
    unit = serializers.CharField(allow_blank=True)
    measure = serializers.ChoiceField(choices=Indicator.Measure.choices)
    polarity = serializers.ChoiceField(choices=Indicator.Polarity.choices)
    period = serializers.CharField()
    period_iso = serializers.CharField()
    value = serializers.FloatField(allow_null=True)
    lci = serializers.FloatField(allow_null=True)
    uci = serializers.FloatField(allow_null=True)
    status = serializers.CharField(allow_blank=True)
    rank = serializers.IntegerField(allow_null=True, help_text="1 = best by polarity, among areas of the same type; "
                                                               "a rank indicator's own published rank.")
    rank_of = serializers.IntegerField(allow_null=True)
    decile = serializers.IntegerField(allow_null=True)
    comparison_method = serializers.CharField(allow_null=True, help_text="How the comparisons were made: confidence "
                                                                         "intervals (published or computed) or quintile.")
    comparison_level = serializers.FloatField(allow_null=True, help_text="95 or 99.8 (`level`).")
    region_code = serializers.CharField(allow_null=True)
    region_value = serializers.FloatField(allow_null=True)
    region_comparator_source = serializers.CharField(allow_null=True, help_text="published or computed.")
    region_coverage = serializers.FloatField(allow_null=True, help_text="A computed comparator's coverage.")
    region_difference = serializers.FloatField(allow_null=True)
    region_comparison = serializers.CharField(help_text="better, similar, worse, or why not compared.")
    national_code = serializers.CharField(allow_null=True)
    national_value = serializers.FloatField(allow_null=True)
    national_comparator_source = serializers.CharField(allow_null=True, help_text="published or computed.")
    national_coverage = serializers.FloatField(allow_null=True)
    national_difference = serializers.FloatField(allow_null=True)
    national_comparison = serializers.CharField()
    trend = serializers.CharField(help_text="Over the last five points, e.g. 'increasing, getting better'.")
    trend_method = serializers.CharField(allow_null=True)
    trend_points = serializers.IntegerField()
    missions = serializers.ListField(child=serializers.IntegerField())


class AreaProfileSerializer(serializers.Serializer):
    area = AreaRefSerializer()
    indicators = ProfileRowSerializer(many=True)
    deprivation_summaries = DeprivationSummarySerializer(many=True, required=False,
                                                         help_text="With summaries=true: the IMD summaries.")


class ProfileListSerializer(serializers.Serializer):
    parent = serializers.CharField()
    vintage = serializers.CharField()
    areas = serializers.IntegerField(help_text="How many areas the rows cover.")
    rows = ProfileRowSerializer(many=True)


class ScorecardMetricSerializer(serializers.Serializer):
    indicator = serializers.CharField()
    headline = serializers.BooleanField()
    polarity = serializers.ChoiceField(choices=Indicator.Polarity.choices)
    baseline_period = serializers.CharField()
    baseline_value = serializers.FloatField()
    latest_period = serializers.CharField()
    latest_value = serializers.FloatField()
    change = serializers.FloatField(allow_null=True, help_text="Null with a single point.")
    national = NationalValueSerializer(allow_null=True)
    direction = serializers.ChoiceField(choices=["better", "worse", "no change"], allow_null=True)


class ScorecardMissionSerializer(serializers.Serializer):
    mission = serializers.IntegerField()
    short_name = serializers.CharField()
    metrics = ScorecardMetricSerializer(many=True)
    data = serializers.ChoiceField(choices=["available", "none for this area"])


class AreaScorecardSerializer(serializers.Serializer):
    area = AreaRefSerializer()
    missions = ScorecardMissionSerializer(many=True)


class SimilarAreaSerializer(serializers.Serializer):
    area_code = serializers.CharField()
    area_name = serializers.CharField()
    distance = serializers.FloatField()
    values = serializers.DictField(child=serializers.FloatField(), help_text="Latest value per indicator slug.")


class AreaSimilarSerializer(serializers.Serializer):
    area = AreaRefSerializer()
    indicators = serializers.ListField(child=serializers.CharField(), help_text="The indicators compared on.")
    method = serializers.CharField()
    similar = SimilarAreaSerializer(many=True)
