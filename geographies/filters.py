"""The geography concepts of the parameter layer (`type`, `vintage`, `parent`, `area`) and one
declaration per endpoint, shared by REST (levelup_api.core.rest.ParamsMixin) and GraphQL
(DjangoFilterConnectionField), so both surfaces accept the same parameters with the same errors."""

import django_filters as filters
from django import forms
from django.conf import settings
from django.db.models import Q

from levelup_api.core.params import (
    DateParam,
    ListParam,
    NumberParam,
    Params,
    StringParam,
    page_param,
    page_size_param,
)

from . import selectors
from .models import Area, AreaType, Vintage


class UpperModelChoiceField(forms.ModelChoiceField):
    def to_python(self, value):
        return super().to_python(value.strip().upper() if isinstance(value, str) else value)


class DeferredCodeField(UpperModelChoiceField):
    """A code checked for shape only; the form's clean() resolves it (see same_type), so that a type
    given with a vintage costs no query of its own."""

    def to_python(self, value):
        if value in self.empty_values:
            return None
        code = str(value).strip().upper()
        if not code.isascii() or not code.isalnum() or len(code) > 20:
            raise forms.ValidationError(f"unknown area type {value}; see /api/v1/area-types/", code="invalid_choice")
        return code

    def validate(self, value):
        pass


class CodeChoiceFilter(filters.ModelChoiceFilter):
    """Choose a row by its code, case-insensitively; an unknown code is a 400 naming the parameter."""

    field_class = UpperModelChoiceField

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("to_field_name", "code")
        kwargs.setdefault("error_messages", {"invalid_choice": "unknown code %(value)s"})
        super().__init__(*args, **kwargs)

    def filter(self, qs, value):
        return qs  # applied together by the selectors that read the cleaned values


# -- the concepts: one name, type, help and error text each, wherever they are accepted ------------
def type_param(help_text: str = "Area type code (LSOA, MSOA, WD, LAD, UTLA, CTY, CAUTH, RGN, CTRY ...).",
               *, paired: bool = False, **kwargs) -> CodeChoiceFilter:
    """`paired`: declared beside `vintage` in a form whose clean() calls same_type()."""
    f = CodeChoiceFilter(queryset=AreaType.objects.all(), field_name="type", help_text=help_text,
                         error_messages={"invalid_choice": "unknown area type %(value)s; see /api/v1/area-types/"},
                         **kwargs)
    if paired:
        f.field_class = DeferredCodeField
    return f


def vintage_param(help_text: str = "Boundary version code (LAD23, LSOA21 ...); see /api/v1/vintages/.",
                  **kwargs) -> CodeChoiceFilter:
    return CodeChoiceFilter(queryset=Vintage.objects.select_related("area_type"), field_name="vintage",
                            help_text=help_text,
                            error_messages={"invalid_choice": "unknown vintage %(value)s; see /api/v1/vintages/"},
                            **kwargs)


def parent_param(help_text: str = "GSS code of an area: only areas below it, at any depth (within `vintage` "
                                  "when given).", **kwargs) -> CodeChoiceFilter:
    return CodeChoiceFilter(queryset=Area.objects.all(), field_name="parent", help_text=help_text,
                            error_messages={"invalid_choice": "unknown area code %(value)s"}, **kwargs)


def area_param(help_text: str = "GSS codes, comma-separated (case-insensitive).", **kwargs) -> ListParam:
    return ListParam(help_text=help_text, upper=True, **kwargs)


def simplify_param() -> NumberParam:
    return NumberParam(min_value=0, max_value=1, help_text="Simplification tolerance in degrees (0 to 1; 0.001 is "
                                                           "about 100 m). Topology is preserved.")


def same_type(data: dict, add_error) -> None:
    """Resolves a paired `type` (taking it from the vintage when they agree, with no query), and
    checks that `vintage` is a vintage of `type` when both are given."""
    area_type, vintage = data.get("type"), data.get("vintage")
    if isinstance(area_type, str):
        if vintage is not None and vintage.area_type.code == area_type:
            data["type"] = vintage.area_type
            return
        found = AreaType.objects.filter(code=area_type).first()
        if found is None:
            add_error("type", f"unknown area type {area_type}; see /api/v1/area-types/")
            return
        data["type"] = area_type = found
    if area_type is not None and vintage is not None and vintage.area_type_id != area_type.id:
        add_error("vintage", f"{vintage.code} is a {vintage.area_type.code} vintage, not {area_type.code}")


class SameTypeForm(forms.Form):
    def clean(self):
        data = super().clean()
        same_type(data, self.add_error)
        return data


class AreaFilterSet(Params):
    type = type_param("Area type code (LSOA, MSOA, WD, LAD, UTLA, CTY, CAUTH, RGN, CTRY, UK ...): areas held in any "
                      "vintage of that type.", paired=True)
    vintage = vintage_param("Boundary version code (LAD23, LSOA21 ...): only areas in that vintage.")
    parent = parent_param("GSS code of an area: all its descendants (within `vintage` when given), at any depth.")
    active_on = DateParam(method="filter_active_on", help_text="YYYY-MM-DD: only codes in force on that date.")
    q = StringParam(method="filter_q", help_text="Search: code prefix (E0800) or part of the name (case-insensitive).")

    class Meta:
        model = Area
        fields = ["type", "vintage", "parent", "active_on", "q"]
        form = SameTypeForm

    def filter_queryset(self, queryset):
        data = self.form.cleaned_data
        area_type, vintage, parent = data.get("type"), data.get("vintage"), data.get("parent")
        if vintage is not None:
            queryset = queryset.filter(selectors.area_has_membership(vintage=vintage))
        elif area_type is not None:
            queryset = queryset.filter(selectors.area_in_type(area_type=area_type))
        if parent is not None:
            queryset = queryset.filter(selectors.area_descends_from(ancestor=parent, vintage=vintage)).exclude(pk=parent.pk)
        return super().filter_queryset(queryset)

    def filter_active_on(self, qs, name, value):
        return qs.filter(Q(active_from__isnull=True) | Q(active_from__lte=value)).filter(
            Q(active_to__isnull=True) | Q(active_to__gte=value)
        )

    def filter_q(self, qs, name, value):
        return selectors.area_search(qs, q=value)

    @property
    def errors(self):
        return self.form.errors


class AreaListParams(AreaFilterSet):
    """`/areas/`: the filters, and pages; with `q`, the best matches first (selectors.area_search_ranked).
    GraphQL's `areas` keeps code order, which its compiled SQL states (geographies/graphql_sql.py)."""

    q = StringParam(method="filter_q", help_text="Search: a code prefix (E0800; ended codes too) or part of the name "
                                                 "(case-insensitive). Best matches first: an exact code or name, then "
                                                 "codes and names that start with it, then the rest; within each, "
                                                 "larger areas first (a district before its LSOAs), then by name.")
    page = page_param()
    page_size = page_size_param(default=settings.LEVELUP["DEFAULT_PAGE_SIZE"], maximum=settings.LEVELUP["MAX_PAGE_SIZE"])

    class Meta(AreaFilterSet.Meta):
        fields = [*AreaFilterSet.Meta.fields, "page", "page_size"]

    def filter_queryset(self, queryset):
        queryset = super().filter_queryset(queryset)
        q = self.form.cleaned_data.get("q")
        return selectors.area_search_ranked(queryset, q=q) if q else queryset


class VintageFilterSet(Params):
    type = type_param("Area type code, e.g. LAD: only that type's vintages.")

    class Meta:
        model = Vintage
        fields = ["type"]

    def filter_queryset(self, queryset):
        area_type = self.form.cleaned_data.get("type")
        if area_type is not None:
            queryset = queryset.filter(area_type=area_type)
        return super().filter_queryset(queryset)


class ChildrenParams(Params):
    type = type_param("Area type of the children: the newest vintage of that type that has descendants.", paired=True)
    vintage = vintage_param("Vintage of the children: every descendant in it (Manchester's LSOAs: LSOA21).")
    page = page_param()
    page_size = page_size_param(default=settings.LEVELUP["DEFAULT_PAGE_SIZE"], maximum=settings.LEVELUP["MAX_PAGE_SIZE"])

    class Meta:
        form = SameTypeForm


class AncestorsParams(Params):
    vintage = vintage_param("Vintage of the area whose hierarchy to follow (default: the newest of its own type).")


class BoundaryParams(Params):
    vintage = vintage_param("Boundary vintage (default: the newest boundary of the area's own type).")
    simplify = simplify_param()


class BoundaryCollectionParams(Params):
    type = type_param("Area type: the newest vintage with boundaries of that type (when `vintage` is not given).", paired=True)
    vintage = vintage_param("Boundary vintage (LAD23, LSOA21 ...).")
    parent = parent_param("GSS code: only boundaries below it.")
    simplify = simplify_param()

    class Meta:
        form = SameTypeForm


class PointLookupParams(Params):
    lon = NumberParam(min_value=-180, max_value=180, required=True, help_text="Longitude (WGS84), -180 to 180.")
    lat = NumberParam(min_value=-90, max_value=90, required=True, help_text="Latitude (WGS84), -90 to 90.")
    vintage = ListParam(upper=True, max_items=50,
                        help_text="Vintage codes, comma-separated, one per type (e.g. LAD22,LSOA21); default: the "
                                  "newest vintage with boundaries of each type.")
