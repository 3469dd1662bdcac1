"""Representations of indicators, releases and periods (observations are streamed as tuples)."""

from rest_framework import serializers

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
    weight_indicator = serializers.SlugRelatedField(slug_field="slug", read_only=True)
    releases = ReleaseSerializer(source="dataset.releases", many=True, read_only=True)
    availability = AvailabilitySerializer(many=True, read_only=True)

    class Meta(IndicatorSerializer.Meta):
        fields = [*IndicatorSerializer.Meta.fields, "description", "caveats", "weight_indicator", "category_values",
                  "releases", "availability"]


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


class ObservationPageSerializer(serializers.Serializer):
    next = serializers.URLField(allow_null=True, help_text="Next page (keyset cursor), null on the last page.")
    results = ObservationSerializer(many=True)
