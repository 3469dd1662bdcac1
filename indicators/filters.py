"""FilterSets for indicators and observations, shared by REST and GraphQL."""

from __future__ import annotations

import django_filters as filters
from django import forms
from django.db.models import Exists, OuterRef, Q
from drf_spectacular.drainage import set_override

from geographies.filters import CodeChoiceFilter
from geographies.models import Area, AreaType, Vintage

from .models import Indicator, Observation, Status


def _describe(f: filters.Filter, schema_type: str = "string") -> filters.Filter:
    set_override(f, "field", {"type": schema_type, "description": f.extra.get("help_text", "")})
    return f


class IndicatorFilterSet(filters.FilterSet):
    q = filters.CharFilter(method="filter_q", help_text="Words in the slug, title or description.")
    topic = filters.CharFilter(method="filter_topic", help_text="Topic tag, e.g. deprivation, earnings.")
    capital = filters.CharFilter(method="filter_capital",
                                 help_text="One of the six capitals: physical, intangible, human, financial, social, institutional.")
    measure = filters.ChoiceFilter(choices=Indicator.Measure.choices, help_text="Measure type.")
    polarity = filters.ChoiceFilter(choices=Indicator.Polarity.choices, help_text="Which direction is better.")
    area_type = CodeChoiceFilter(queryset=AreaType.objects.all(), field_name="area_type",
                                 help_text="Only indicators with current values for areas of this type (LSOA, LAD ...).")

    class Meta:
        model = Indicator
        fields = ["q", "topic", "capital", "measure", "polarity", "area_type"]

    def filter_q(self, qs, name, value):
        value = value.strip()
        return qs.filter(Q(slug__icontains=value) | Q(title__icontains=value) | Q(description__icontains=value))

    def filter_topic(self, qs, name, value):
        return qs.filter(topics__contains=[value.strip().lower()])

    def filter_capital(self, qs, name, value):
        return qs.filter(capitals__contains=[value.strip().lower()])

    def filter_queryset(self, queryset):
        area_type = self.form.cleaned_data.get("area_type")
        if area_type is not None:
            queryset = queryset.filter(Exists(Observation.objects.filter(
                indicator=OuterRef("pk"), is_current=True, area__area_type=area_type)))
        return super().filter_queryset(queryset)


class ObservationForm(forms.Form):
    def clean(self):
        data = super().clean()
        if not data.get("indicator") and not data.get("area"):
            self.add_error("indicator", "give at least one indicator (or an area)")
        pf, pt = data.get("period_from"), data.get("period_to")
        if pf and pt and pf > pt:
            self.add_error("period_from", "period_from is after period_to")
        return data


class CommaListFilter(filters.CharFilter):
    def filter(self, qs, value):
        return qs


class ObservationFilterSet(filters.FilterSet):
    """Filters for the long-format observation slices. `period` accepts an ISO period
    (2021-04-01/P1Y), a label (2021/22), a year (every period starting that year), or
    `latest` / `latest-N` (per indicator: the newest period with a value, or N before it)."""

    indicator = _describe(CommaListFilter(help_text="Indicator slugs, comma-separated."))
    area = _describe(CommaListFilter(help_text="GSS codes, comma-separated."))
    area_type = CodeChoiceFilter(queryset=AreaType.objects.all(), field_name="area_type",
                                 help_text="Only areas of this type (LSOA, LAD, RGN ...).")
    vintage = CodeChoiceFilter(queryset=Vintage.objects.select_related("area_type"), field_name="vintage",
                               help_text="Only areas held in this vintage (LAD23, LSOA21 ...).")
    parent = CodeChoiceFilter(queryset=Area.objects.all(), field_name="parent",
                              help_text="Only areas below this GSS code (within `vintage` when given).")
    period = _describe(CommaListFilter(help_text="ISO period, label, year, `latest` or `latest-N`."))
    period_from = filters.DateFilter(method="noop", help_text="YYYY-MM-DD: periods ending on or after this date.")
    period_to = filters.DateFilter(method="noop", help_text="YYYY-MM-DD: periods starting on or before this date.")
    status = filters.ChoiceFilter(choices=[(c, label) for c, label in Status.choices if c], method="noop",
                                  help_text="Only rows with this status letter (x suppressed, u low reliability ...).")
    as_of = filters.DateFilter(method="noop", help_text="YYYY-MM-DD: values as published on that date (older releases).")
    harmonise = filters.BooleanFilter(
        method="noop", help_text="With `vintage`: every value on that vintage, published where it exists and "
                                 "converted from predecessor areas otherwise (`flag` says which); unpaginated.")
    explain = filters.BooleanFilter(method="noop", help_text="With `harmonise`: list each converted value's inputs.")

    class Meta:
        model = Observation
        fields = ["indicator", "area", "area_type", "vintage", "parent", "period", "period_from", "period_to",
                  "status", "as_of", "harmonise", "explain"]
        form = ObservationForm

    def harmonised(self) -> list[dict]:
        from .harmonise import observation_harmonised
        from .selectors import ObservationQueryError

        data = self.form.cleaned_data
        if data.get("vintage") is None:
            raise ObservationQueryError("harmonise", "harmonise needs `vintage`: the boundaries to express values on")
        for name in ("as_of", "status"):
            if data.get(name):
                raise ObservationQueryError(name, f"{name} does not combine with harmonise")
        return observation_harmonised(
            indicators=_split(data.get("indicator")), areas=_split(data.get("area"), upper=True),
            vintage=data["vintage"], parent=data.get("parent"), periods=_split(data.get("period")),
            period_from=data.get("period_from"), period_to=data.get("period_to"), explain=bool(data.get("explain")))

    def noop(self, qs, name, value):
        return qs

    def filter_queryset(self, queryset):
        from . import selectors

        data = self.form.cleaned_data
        # ObservationQueryError (unknown slug, code or period) propagates: views turn it into a 400.
        return selectors.observation_filter(
            queryset,
            indicators=_split(data.get("indicator")), areas=_split(data.get("area"), upper=True),
            area_type=data.get("area_type"), vintage=data.get("vintage"), parent=data.get("parent"),
            periods=_split(data.get("period")), period_from=data.get("period_from"),
            period_to=data.get("period_to"), status=data.get("status") or None, as_of=data.get("as_of"),
        )


def _split(value: str | None, upper: bool = False) -> list[str]:
    if not value:
        return []
    items = [v.strip() for v in value.split(",") if v.strip()]
    return [v.upper() for v in items] if upper else items



class AggregateFilterSet(filters.FilterSet):
    """Parameters of an aggregation up the hierarchy (`/indicators/{slug}/aggregate/` and GraphQL
    `aggregate`). Children are the `from` areas, results the `to` areas they lie in; a type alone
    means its newest vintage."""

    from_type = CodeChoiceFilter(queryset=AreaType.objects.all(), method="noop",
                                 help_text="Type of the child areas (e.g. LSOA).")
    from_vintage = CodeChoiceFilter(queryset=Vintage.objects.select_related("area_type"), method="noop",
                                    help_text="Vintage of the child areas (e.g. LSOA21).")
    to_type = CodeChoiceFilter(queryset=AreaType.objects.all(), method="noop",
                               help_text="Type of the result areas (e.g. LAD).")
    to_vintage = CodeChoiceFilter(queryset=Vintage.objects.select_related("area_type"), method="noop",
                                  help_text="Vintage of the result areas (e.g. LAD24).")
    period = _describe(CommaListFilter(help_text="ISO period, label, year, `latest` (default) or `latest-N`, "
                                                 "among periods with values for the child areas."))
    method = filters.ChoiceFilter(
        choices=[(c, label) for c, label in Indicator.Aggregation.choices if c != Indicator.Aggregation.NOT_AGGREGATABLE],
        method="noop", help_text="Aggregation rule (default: the indicator's own); refused where it does not apply.")
    weight = _describe(filters.ModelChoiceFilter(
        queryset=Indicator.objects.all(), to_field_name="slug", method="noop",
        error_messages={"invalid_choice": "unknown indicator %(value)s"},
        help_text="Weight indicator slug for weighted means (default: the indicator's own)."))
    weight_period = filters.CharFilter(method="noop", help_text="Period of the weights (default: their latest).")
    parent = CodeChoiceFilter(queryset=Area.objects.all(), method="noop",
                              help_text="Only result areas within this GSS code.")
    min_coverage = filters.NumberFilter(
        method="noop", min_value=0, max_value=1,
        help_text="Share of inputs (by weight for weighted means, by count otherwise) below which a value is "
                  "withheld; default 1 for sums, 0.9 otherwise.")

    class Meta:
        model = Observation
        fields = ["from_type", "from_vintage", "to_type", "to_vintage", "period", "method", "weight", "weight_period",
                  "parent", "min_coverage"]

    def noop(self, qs, name, value):
        return qs

    def aggregate(self, indicator: Indicator):
        from .aggregation import aggregate_get

        data = self.form.cleaned_data
        # ObservationQueryError propagates: REST and GraphQL turn it into a 400 naming the parameter.
        return aggregate_get(
            indicator=indicator, from_type=data.get("from_type"), from_vintage=data.get("from_vintage"),
            to_type=data.get("to_type"), to_vintage=data.get("to_vintage"), periods=_split(data.get("period")),
            method=data.get("method") or None, weight=data.get("weight"),
            weight_period=(data.get("weight_period") or "").strip() or None, parent=data.get("parent"),
            min_coverage=float(data["min_coverage"]) if data.get("min_coverage") is not None else None,
        )
