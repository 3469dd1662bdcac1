"""Declarations of the missions and profile endpoints' parameters (the parameter layer's concepts
from geographies.filters and indicators.filters, under the same names)."""

from __future__ import annotations

from django import forms

from geographies.filters import parent_param, same_type, type_param, vintage_param
from indicators.filters import indicator_param
from levelup_api.core.params import IntegerParam, Params


class SameTypeForm(forms.Form):
    def clean(self):
        data = super().clean()
        same_type(data, self.add_error)
        return data


class ProgressParams(Params):
    """`/missions/{n}/progress/`: the areas to measure progress over."""

    type = type_param("Area type of the areas (e.g. LAD): its newest vintage unless `vintage` is given.", paired=True)
    vintage = vintage_param("Vintage of the areas (e.g. LAD23).")
    deprecated_aliases = {"area_type": "type"}

    class Meta:
        form = SameTypeForm


class ProfileListParams(Params):
    parent = parent_param("GSS code of the parent: the profile of every area below it.", required=True)
    type = type_param("Area type of the areas (e.g. LAD): its newest vintage unless `vintage` is given.", paired=True)
    vintage = vintage_param("Vintage of the areas (e.g. LAD23).")

    class Meta:
        form = SameTypeForm


class SimilarParams(Params):
    indicator = indicator_param("Indicator slugs, comma-separated (default: the missions' headline metrics the area "
                                "has values for).")
    n = IntegerParam(min_value=1, max_value=100, help_text="How many neighbours, 1 to 100 (default 10).")
    deprecated_aliases = {"indicators": "indicator"}
