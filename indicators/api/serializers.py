"""Representations of indicators, releases and periods (observations are streamed as tuples)."""

from django.urls import reverse
from rest_framework import serializers

from ..aggregation import METHOD_CHOICES
from ..models import Indicator, Period, Release


class PeriodSerializer(serializers.ModelSerializer):
    class Meta:
        model = Period
        fields = ["iso", "label", "type", "start", "end", "duration"]


class ReleaseSerializer(serializers.ModelSerializer):
    class Meta:
        model = Release
        fields = ["label", "release_date", "state", "source_url", "licence", "notes"]


class IndicatorSerializer(serializers.ModelSerializer):
    dataset = serializers.CharField(source="dataset.slug")
    source = serializers.SerializerMethodField(help_text="Publishing organisations.")
    licence = serializers.CharField(source="dataset.licence")
    source_url = serializers.CharField(source="dataset.source_url")

    class Meta:
        model = Indicator
        fields = ["slug", "title", "subtitle", "measure", "unit", "unit_symbol", "decimal_places", "polarity",
                  "aggregation", "topics", "capitals", "experimental", "dataset", "source", "licence", "source_url"]

    def get_source(self, obj) -> list[str]:
        return [p.name for p in obj.dataset.publishers.all()]


class AvailabilityPeriodSerializer(serializers.Serializer):
    period = serializers.CharField()
    iso = serializers.CharField()
    areas = serializers.IntegerField()


class AvailabilitySerializer(serializers.Serializer):
    area_type = serializers.CharField()
    periods = AvailabilityPeriodSerializer(many=True)


class IndicatorDetailSerializer(IndicatorSerializer):
    weight_indicator = serializers.SlugRelatedField(slug_field="slug", read_only=True, allow_null=True,
                                                    help_text="The weight for weighted means; null when none.")
    releases = ReleaseSerializer(source="dataset.releases", many=True, read_only=True)
    availability = AvailabilitySerializer(many=True, read_only=True)
    dataset_url = serializers.SerializerMethodField(help_text="The dataset: its releases and bulk files.")

    class Meta(IndicatorSerializer.Meta):
        fields = [*IndicatorSerializer.Meta.fields, "dataset_url", "description", "caveats", "weight_indicator",
                  "category_values", "releases", "availability"]

    def get_dataset_url(self, obj) -> str:
        path = reverse("dataset-detail", kwargs={"slug": obj.dataset.slug})
        request = self.context.get("request")
        return request.build_absolute_uri(path) if request else path


class ObservationSerializer(serializers.Serializer):
    """Documents the row shape; rows are built as dicts from tuples for speed."""

    area_code = serializers.CharField()
    area_name = serializers.CharField()
    indicator = serializers.CharField()
    period = serializers.CharField(help_text="Human label, e.g. 2011-2013 or 2021/22.")
    period_iso = serializers.CharField(help_text="ISO 8601 period, e.g. 2011-01-01/P3Y.")
    value = serializers.FloatField(allow_null=True)
    lci = serializers.FloatField(allow_null=True, help_text="Lower 95% confidence limit.")
    uci = serializers.FloatField(allow_null=True, help_text="Upper 95% confidence limit.")
    status = serializers.CharField(help_text="'' or x suppressed, u low reliability, c confidential, p provisional ...")
    # harmonise=true adds these (indicators.harmonise).
    flag = serializers.ChoiceField(choices=["published", "converted", "apportioned"], required=False,
                                   help_text="harmonise=true: published on the vintage, or converted from predecessors.")
    method = serializers.CharField(allow_null=True, required=False, help_text="harmonise=true: how it was converted.")
    weight_indicator = serializers.CharField(allow_null=True, required=False)
    weight_period = serializers.CharField(allow_null=True, required=False)
    reason = serializers.CharField(allow_null=True, required=False, help_text="Why a converted value is null.")
    inputs = serializers.ListField(child=serializers.DictField(), required=False,
                                   help_text="explain=true: the predecessors' values and weights.")


class ObservationPageSerializer(serializers.Serializer):
    next = serializers.URLField(allow_null=True, help_text="Next page (keyset cursor), null on the last page.")
    results = ObservationSerializer(many=True)


# -- aggregation ---------------------------------------------------------------------------------
# Every method /aggregate/ can apply: the indicators' own rules and the deprivation summaries.
AGGREGATION_METHODS = [c for c, _ in METHOD_CHOICES]


class AggregateRowSerializer(serializers.Serializer):
    """One derived value (indicators.aggregation.COLUMNS; the CSV has the same columns)."""

    area_code = serializers.CharField(help_text="The result area (a custom area's id for /custom-areas/).")
    area_name = serializers.CharField()
    indicator = serializers.CharField()
    period = serializers.CharField()
    period_iso = serializers.CharField()
    value = serializers.FloatField(allow_null=True, help_text="Null below min_coverage; `reason` says why.")
    method = serializers.ChoiceField(choices=AGGREGATION_METHODS)
    weight_indicator = serializers.CharField(allow_null=True, help_text="weighted_mean only.")
    weight_period = serializers.CharField(allow_null=True)
    children_used = serializers.IntegerField()
    children_expected = serializers.IntegerField()
    coverage = serializers.FloatField(allow_null=True)
    flag = serializers.CharField()
    reason = serializers.CharField(allow_null=True)
    rank = serializers.IntegerField(allow_null=True, help_text="Among the result areas (see `rank_order`); null "
                                                               "for a custom area or a withheld value.")
    rank_of = serializers.IntegerField(allow_null=True)
    published_value = serializers.FloatField(allow_null=True, help_text="The publisher's own figure for this area "
                                                                        "and period, where one is loaded.")
    published_indicator = serializers.CharField(allow_null=True, help_text="Where `published_value` comes from.")


class DeprivationSummarySerializer(AggregateRowSerializer):
    """One of an area's deprivation summaries (indicators.aggregation.AREA_SUMMARIES)."""

    to_vintage = serializers.CharField(help_text="The vintage of the area the summary is computed for, whose areas "
                                                 "it is ranked among.")
    api = serializers.CharField(help_text="The aggregate call giving this figure and its peers' "
                                          "(add format=csv for a file).")


class AggregateWeightSerializer(serializers.Serializer):
    indicator = serializers.CharField()
    period = serializers.CharField()


class AggregateSerializer(serializers.Serializer):
    indicator = serializers.CharField()
    method = serializers.ChoiceField(choices=AGGREGATION_METHODS)
    from_vintage = serializers.CharField()
    to_vintage = serializers.CharField()
    via = serializers.CharField(allow_null=True, help_text="The vintage the children were routed through, when the "
                                                           "hierarchy does not link them to the result areas.")
    periods = serializers.ListField(child=serializers.CharField())
    weight = AggregateWeightSerializer(allow_null=True)
    category_values = serializers.ListField(child=serializers.FloatField(), allow_null=True,
                                            help_text="share_in_category: the categories counted.")
    min_coverage = serializers.FloatField()
    rank_order = serializers.CharField(allow_null=True, help_text="How `rank` counts: 1 = highest or lowest value.")
    results = AggregateRowSerializer(many=True)


class CustomAreaRefSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    name = serializers.CharField()
    vintage = serializers.CharField()


class CustomAreaObservationsSerializer(serializers.Serializer):
    custom_area = CustomAreaRefSerializer()
    results = AggregateRowSerializer(many=True)
    deprivation_summaries = AggregateRowSerializer(many=True, required=False,
                                                   help_text="With summaries=true: the IMD summaries (no rank).")


# -- an area's series ----------------------------------------------------------------------------
class SeriesPointSerializer(serializers.Serializer):
    period = serializers.CharField()
    period_iso = serializers.CharField()
    value = serializers.FloatField(allow_null=True)
    lci = serializers.FloatField(allow_null=True)
    uci = serializers.FloatField(allow_null=True)
    status = serializers.CharField(allow_blank=True)
    flag = serializers.ChoiceField(choices=["published", "converted", "apportioned"])
    method = serializers.CharField(allow_null=True, help_text="How a converted value was made.")
    weight_indicator = serializers.CharField(allow_null=True)
    weight_period = serializers.CharField(allow_null=True)
    reason = serializers.CharField(allow_null=True, help_text="Why a converted value is null.")
    inputs = serializers.ListField(child=serializers.DictField(), required=False,
                                   help_text="explain=true: the predecessors' values and weights.")


class SeriesAreaSerializer(serializers.Serializer):
    code = serializers.CharField()
    name = serializers.CharField()


class AreaSeriesSerializer(serializers.Serializer):
    area = SeriesAreaSerializer()
    indicator = serializers.CharField()
    vintage = serializers.CharField()
    series = SeriesPointSerializer(many=True)
