"""One FilterSet per resource, shared by REST (django-filter backend) and GraphQL
(DjangoFilterConnectionField), so both surfaces accept the same filters with the same errors."""

import django_filters as filters
from django import forms
from django.db.models import Q
from drf_spectacular.drainage import set_override

from . import selectors
from .models import Area, AreaType, Vintage


class UpperModelChoiceField(forms.ModelChoiceField):
    def to_python(self, value):
        return super().to_python(value.strip().upper() if isinstance(value, str) else value)


class CodeChoiceFilter(filters.ModelChoiceFilter):
    """Choose a row by its code, case-insensitively; an unknown code is a 400 naming the parameter."""

    field_class = UpperModelChoiceField

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("to_field_name", "code")
        kwargs.setdefault("error_messages", {"invalid_choice": "unknown code %(value)s"})
        super().__init__(*args, **kwargs)
        # OpenAPI: a code string (not the model's integer key), with the filter's own description.
        set_override(self, "field", {"type": "string", "description": kwargs.get("help_text", "")})

    def filter(self, qs, value):
        return qs  # applied together in AreaFilterSet.filter_queryset


class AreaFilterForm(forms.Form):
    def clean(self):
        data = super().clean()
        area_type, vintage = data.get("type"), data.get("vintage")
        if area_type is not None and vintage is not None and vintage.area_type_id != area_type.id:
            self.add_error("vintage", f"{vintage.code} is a {vintage.area_type.code} vintage, not {area_type.code}")
        return data


class AreaFilterSet(filters.FilterSet):
    type = CodeChoiceFilter(
        queryset=AreaType.objects.all(), field_name="type",
        help_text="Area type code (LSOA, MSOA, WD, LAD, UTLA, CTY, CAUTH, RGN, CTRY, UK ...): areas held in any vintage of that type.",
    )
    vintage = CodeChoiceFilter(
        queryset=Vintage.objects.select_related("area_type"), field_name="vintage",
        help_text="Boundary version code (LAD23, LSOA21 ...): only areas in that vintage.",
    )
    parent = CodeChoiceFilter(
        queryset=Area.objects.all(), field_name="parent",
        help_text="GSS code of an area: all its descendants (within `vintage` when given), at any depth.",
    )
    active_on = filters.DateFilter(
        method="filter_active_on",
        help_text="YYYY-MM-DD: only codes in force on that date.",
    )
    q = filters.CharFilter(
        method="filter_q",
        help_text="Search: code prefix (E0800) or part of the name (case-insensitive).",
    )

    class Meta:
        model = Area
        fields = ["type", "vintage", "parent", "active_on", "q"]
        form = AreaFilterForm

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
        value = value.strip()
        if not value:
            return qs
        return qs.filter(Q(code__istartswith=value) | Q(name__icontains=value))

    @property
    def errors(self):
        return self.form.errors


class VintageFilterSet(filters.FilterSet):
    type = CodeChoiceFilter(queryset=AreaType.objects.all(), field_name="type",
                            help_text="Area type code, e.g. LAD: only that type's vintages.")

    class Meta:
        model = Vintage
        fields = ["type"]

    def filter_queryset(self, queryset):
        area_type = self.form.cleaned_data.get("type")
        if area_type is not None:
            queryset = queryset.filter(area_type=area_type)
        return super().filter_queryset(queryset)
