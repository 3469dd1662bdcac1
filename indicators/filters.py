"""The indicator concepts of the parameter layer (`indicator`, `period`, `as_of`, `method`,
`weight`, `harmonise`, `explain`) and one declaration per endpoint, shared by REST and GraphQL."""

from __future__ import annotations

from django import forms
from django.db.models import Exists, OuterRef, Q

from geographies.filters import CodeChoiceFilter, area_param, parent_param, same_type, type_param, vintage_param
from levelup_api.core.params import (
    BooleanParam,
    ChoiceParam,
    DateParam,
    IntegerParam,
    ListParam,
    NumberParam,
    Params,
    StringParam,
    cursor_param,
    page_size_param,
)

from .current import current_release_ids
from .models import Indicator, Observation, Status

# JSON pages of observations (the CSV is never paged).
OBSERVATION_PAGE_DEFAULT = 10_000
OBSERVATION_PAGE_MAX = 100_000


class StrippedModelChoiceField(forms.ModelChoiceField):
    def to_python(self, value):
        return super().to_python(value.strip() if isinstance(value, str) else value)


class SlugChoiceFilter(CodeChoiceFilter):
    """An indicator by its slug (case as published); an unknown slug is a 400 naming the parameter."""

    field_class = StrippedModelChoiceField

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("queryset", Indicator.objects.all())
        kwargs["to_field_name"] = "slug"
        kwargs.setdefault("error_messages", {"invalid_choice": "unknown indicator %(value)s; see /api/v1/indicators/"})
        super().__init__(*args, **kwargs)


# -- the concepts -------------------------------------------------------------------------------------
def indicator_param(help_text: str = "Indicator slugs, comma-separated; see /api/v1/indicators/.",
                    **kwargs) -> ListParam:
    return ListParam(help_text=help_text, max_items=200, **kwargs)


def period_param(help_text: str = "Periods, comma-separated: ISO 8601 (2021-04-01/P1Y), a label (2021/22), a year "
                                  "(every period starting in it), `latest` or `latest-N` (N up to 50): per "
                                  "indicator, the newest period with a value for the areas asked (their type and "
                                  "vintage), or N before it.") -> ListParam:
    return ListParam(help_text=help_text, max_items=100)


def as_of_param() -> DateParam:
    return DateParam(help_text="YYYY-MM-DD: values as published on that date (the release then current).")


def release_param() -> IntegerParam:
    return IntegerParam(min_value=1, max_value=2**31 - 1, help_text=(
        "A release id (from /api/v1/datasets/{slug}/releases/): that release's values only, current or "
        "not; a draft is never served. Does not combine with `as_of`."))


def harmonise_param() -> BooleanParam:
    return BooleanParam(help_text="With `vintage`: every value on that vintage, published where it exists and "
                                  "converted from predecessor areas otherwise (`flag` says which); unpaginated.")


def explain_param() -> BooleanParam:
    return BooleanParam(help_text="List the inputs of each converted value.")


def summaries_param() -> BooleanParam:
    from .aggregation import AREA_SUMMARIES_HELP

    return BooleanParam(help_text=AREA_SUMMARIES_HELP)


def method_param() -> ChoiceParam:
    from .aggregation import METHOD_CHOICES  # the rules and MHCLG's summary measures, declared with their SQL

    return ChoiceParam(
        choices=METHOD_CHOICES,
        help_text="Aggregation rule (default: the indicator's own), or one of MHCLG's deprivation summaries: "
                  "average_rank (ranks), average_score (scores), share_in_category (deciles), extent and "
                  "local_concentration (ranks), scale (numerators); the summaries come with each area's rank "
                  "among the result areas (1 = most deprived). Refused where it does not apply.")


def weight_param() -> SlugChoiceFilter:
    return SlugChoiceFilter(help_text="Weight indicator slug for weighted means, e.g. population-census-2021 "
                                      "(default: the indicator's own).")


def weight_period_param() -> StringParam:
    return StringParam(help_text="Period of the weights (default: their latest).")


def min_coverage_param() -> NumberParam:
    return NumberParam(min_value=0, max_value=1,
                       help_text="Share of inputs (by weight for weighted means, by count otherwise) below which a "
                                 "value is withheld; default 1 for sums, 0.9 otherwise.")


class IndicatorFilterSet(Params):
    q = StringParam(method="filter_q", help_text="Words in the slug, title or description.")
    topic = StringParam(method="filter_topic", help_text="Topic tag, e.g. deprivation, earnings.")
    capital = StringParam(method="filter_capital",
                          help_text="One of the six capitals: physical, intangible, human, financial, social, institutional.")
    measure = ChoiceParam(choices=Indicator.Measure.choices, method="filter_measure", help_text="Measure type.")
    polarity = ChoiceParam(choices=Indicator.Polarity.choices, method="filter_polarity",
                           help_text="Which direction is better.")
    type = type_param("Only indicators with current values for areas of this type (LSOA, LAD ...).")
    deprecated_aliases = {"area_type": "type"}

    class Meta:
        model = Indicator
        fields = ["q", "topic", "capital", "measure", "polarity", "type"]

    def filter_measure(self, qs, name, value):
        return qs.filter(measure=value)

    def filter_polarity(self, qs, name, value):
        return qs.filter(polarity=value)

    def filter_q(self, qs, name, value):
        value = value.strip()
        return qs.filter(Q(slug__icontains=value) | Q(title__icontains=value) | Q(description__icontains=value))

    def filter_topic(self, qs, name, value):
        return qs.filter(topics__contains=[value.strip().lower()])

    def filter_capital(self, qs, name, value):
        return qs.filter(capitals__contains=[value.strip().lower()])

    def filter_queryset(self, queryset):
        area_type = self.form.cleaned_data.get("type")
        if area_type is not None:
            queryset = queryset.filter(Exists(Observation.objects.filter(
                indicator=OuterRef("pk"), release_id__in=current_release_ids(), area__area_type=area_type)))
        return super().filter_queryset(queryset)


class ObservationForm(forms.Form):
    def clean(self):
        data = super().clean()
        if not data.get("indicator") and not data.get("area"):
            self.add_error("indicator", "give at least one indicator (or an area)")
        pf, pt = data.get("period_from"), data.get("period_to")
        if pf and pt and pf > pt:
            self.add_error("period_from", "period_from is after period_to")
        same_type(data, self.add_error)
        if data.get("harmonise"):
            if data.get("vintage") is None:
                self.add_error("harmonise", "harmonise needs `vintage`: the boundaries to express values on")
            for name in ("as_of", "status", "release"):
                if data.get(name):
                    self.add_error(name, f"{name} does not combine with harmonise")
        elif data.get("explain"):
            self.add_error("explain", "explain goes with harmonise=true")
        if data.get("release") and data.get("as_of"):
            self.add_error("release", "release names one release; as_of picks one per dataset: give one of them")
        return data


class ObservationFilterSet(Params):
    """Filters for the long-format observation slices, shared by REST and GraphQL."""

    indicator = indicator_param()
    area = area_param()
    type = type_param("Only areas of this type (LSOA, LAD, RGN ...).", paired=True)
    vintage = vintage_param("Only areas held in this vintage (LAD23, LSOA21 ...).")
    parent = parent_param("Only areas below this GSS code (within `vintage` when given).")
    period = period_param()
    period_from = DateParam(help_text="YYYY-MM-DD: periods ending on or after this date.")
    period_to = DateParam(help_text="YYYY-MM-DD: periods starting on or before this date.")
    status = ChoiceParam(choices=[(c, label) for c, label in Status.choices if c],
                         help_text="Only rows with this status letter (x suppressed, u low reliability ...).")
    as_of = as_of_param()
    release = release_param()
    harmonise = harmonise_param()
    explain = explain_param()
    deprecated_aliases = {"area_type": "type"}

    class Meta:
        model = Observation
        fields = ["indicator", "area", "type", "vintage", "parent", "period", "period_from", "period_to",
                  "status", "as_of", "release", "harmonise", "explain"]
        form = ObservationForm

    def harmonised(self) -> list[dict]:
        from .harmonise import observation_harmonised

        data = self.form.cleaned_data
        return observation_harmonised(
            indicators=data["indicator"], areas=data["area"], vintage=data["vintage"], parent=data.get("parent"),
            periods=data["period"], period_from=data.get("period_from"), period_to=data.get("period_to"),
            explain=bool(data.get("explain")))

    def filter_queryset(self, queryset):
        from . import selectors

        data = self.form.cleaned_data
        # A ParameterError (unknown slug, code or period) propagates: REST and GraphQL report it.
        return selectors.observation_filter(
            queryset,
            indicators=data.get("indicator") or [], areas=data.get("area") or [],
            area_type=data.get("type"), vintage=data.get("vintage"), parent=data.get("parent"),
            periods=data.get("period") or [], period_from=data.get("period_from"),
            period_to=data.get("period_to"), status=data.get("status") or None, as_of=data.get("as_of"),
            release=data.get("release"),
        )


class ObservationListParams(ObservationFilterSet):
    """`/observations/`: the filters, and keyset pages for JSON."""

    page_size = page_size_param(default=OBSERVATION_PAGE_DEFAULT, maximum=OBSERVATION_PAGE_MAX)
    cursor = cursor_param()

    class Meta(ObservationFilterSet.Meta):
        fields = [*ObservationFilterSet.Meta.fields, "page_size", "cursor"]


class AggregateFilterSet(Params):
    """Parameters of an aggregation up the hierarchy (`/indicators/{slug}/aggregate/` and GraphQL
    `aggregate`). Children are the `from` areas, results the `to` areas they lie in; a type alone
    means its newest vintage."""

    from_type = type_param("Type of the child areas (e.g. LSOA).")
    from_vintage = vintage_param("Vintage of the child areas (e.g. LSOA21).")
    to_type = type_param("Type of the result areas (e.g. LAD).")
    to_vintage = vintage_param("Vintage of the result areas (e.g. LAD24).")
    period = period_param("Periods, comma-separated: ISO, label, year, `latest` (default) or `latest-N`, among "
                          "periods with values for the child areas.")
    method = method_param()
    weight = weight_param()
    weight_period = weight_period_param()
    parent = parent_param("Only result areas within this GSS code.")
    min_coverage = min_coverage_param()

    class Meta:
        model = Observation
        fields = ["from_type", "from_vintage", "to_type", "to_vintage", "period", "method", "weight", "weight_period",
                  "parent", "min_coverage"]

    def aggregate(self, indicator: Indicator):
        from .aggregation import aggregate_get

        data = self.form.cleaned_data
        # A ParameterError propagates: REST and GraphQL turn it into an error naming the parameter.
        return aggregate_get(
            indicator=indicator, from_type=data.get("from_type"), from_vintage=data.get("from_vintage"),
            to_type=data.get("to_type"), to_vintage=data.get("to_vintage"), periods=data.get("period") or [],
            method=data.get("method") or None, weight=data.get("weight"),
            weight_period=(data.get("weight_period") or "").strip() or None, parent=data.get("parent"),
            min_coverage=float(data["min_coverage"]) if data.get("min_coverage") is not None else None,
        )


class CustomAreaObservationsParams(Params):
    """`/custom-areas/{id}/observations/`: what `/aggregate/` takes, for the custom area's members."""

    indicator = indicator_param("Indicator slugs, comma-separated (aggregatable ones).", required=True)
    period = period_param("Periods, comma-separated: ISO, label, year, `latest` (default) or `latest-N`.")
    method = method_param()
    weight = weight_param()
    weight_period = weight_period_param()
    min_coverage = min_coverage_param()
    summaries = summaries_param()


class SeriesParams(Params):
    indicator = StringParam(required=True, help_text="Indicator slug (an aggregatable indicator's, for converted "
                                                     "values).")
    vintage = vintage_param("Vintage to express the series on (default: the newest of the area's own type that "
                            "holds it).")
    explain = explain_param()


class PeriodListParams(Params):
    indicator = SlugChoiceFilter(help_text="Indicator slug: only periods with values for it.")



class TileForm(forms.Form):
    def clean(self):
        data = super().clean()
        for name in ("indicator", "period"):
            data[name] = (data.get(name) or "").strip() or None
        if data["period"] and not data["indicator"]:
            self.add_error("period", "a period goes with `indicator`: the period of its values")
        return data


class TileParams(Params):
    """`/tiles/{vintage}/{z}/{x}/{y}.mvt` and its `legend.json`: an optional indicator to colour the
    areas by. One indicator and one period: a tile is one map layer. Both are resolved (and cached
    for the data version) by indicators.tiles, so that a tile costs no statement for them."""

    indicator = StringParam(help_text="Indicator slug (see /api/v1/indicators/): each area's current value for it, "
                                      "its confidence limits, rank and class (decile or quintile) join the "
                                      "feature's properties. Without it the tile carries only codes and names.")
    period = StringParam(help_text="With `indicator`: one period, as ISO 8601 (2021-04-01/P1Y), a label (2021/22), a "
                                   "year that starts one period only, `latest` (the default: the newest period "
                                   "with a value for an area of the vintage) or `latest-N`.")

    class Meta:
        form = TileForm


class AreaObservationsParams(Params):
    """GraphQL `Area.observations`: an area's current values (its siblings' fetched with them)."""

    indicator = indicator_param(required=True)
    period = period_param()
