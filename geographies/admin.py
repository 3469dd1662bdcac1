"""Curator admin for the geography tables: search, filters, code history and read-only derived data."""

from urllib.parse import urlencode

from django.contrib import admin
from django.urls import reverse
from django.utils.html import format_html
from simple_history.admin import SimpleHistoryAdmin

from levelup_api.core.admin import ReadOnlyAdminMixin

from .models import (
    Area,
    AreaAncestor,
    AreaChange,
    AreaLifespan,
    AreaLink,
    AreaMembership,
    AreaType,
    Boundary,
    CustomArea,
    CustomAreaMember,
    Vintage,
)


class ReadOnlyInline(ReadOnlyAdminMixin, admin.TabularInline):
    extra = 0
    can_delete = False
    show_change_link = True
    related = ()

    def get_queryset(self, request):
        # Read-only foreign keys render as links labelled with str(), one query per row without this.
        return super().get_queryset(request).select_related(*self.related)


class MembershipInline(ReadOnlyInline):
    model = AreaMembership
    fields = ("vintage", "name", "name_cy", "source")
    related = ("vintage",)


class ParentLinkInline(ReadOnlyInline):
    model = AreaLink
    fk_name = "child"
    verbose_name, verbose_name_plural = "parent link", "parent links"
    fields = ("child_vintage", "parent", "parent_vintage", "fit", "source")
    related = ("child_vintage", "parent", "parent_vintage")


class PredecessorInline(ReadOnlyInline):
    model = AreaChange
    fk_name = "successor"
    verbose_name, verbose_name_plural = "predecessor", "predecessors (changes into this code)"
    fields = ("predecessor", "change_type", "effective_date", "from_vintage", "to_vintage", "weight", "source")
    related = ("predecessor", "from_vintage", "to_vintage")


class SuccessorInline(PredecessorInline):
    fk_name = "predecessor"
    verbose_name, verbose_name_plural = "successor", "successors (changes out of this code)"
    fields = ("successor", "change_type", "effective_date", "from_vintage", "to_vintage", "weight", "source")
    related = ("successor", "from_vintage", "to_vintage")


@admin.register(AreaType)
class AreaTypeAdmin(SimpleHistoryAdmin):
    list_display = ("code", "name", "level", "entity_codes")
    search_fields = ("code", "name")


@admin.register(Vintage)
class VintageAdmin(SimpleHistoryAdmin):
    list_display = ("code", "name", "area_type", "effective_from", "effective_to", "area_count", "boundary_count")
    list_filter = ("area_type",)
    list_select_related = ("area_type",)
    search_fields = ("code", "name")
    readonly_fields = ("effective_to", "area_count", "boundary_count")  # rebuilt by derived_rebuild


@admin.register(Area)
class AreaAdmin(SimpleHistoryAdmin):
    list_display = ("code", "name", "entity", "area_type", "active_from", "active_to")
    list_filter = ("area_type",)
    list_select_related = ("area_type",)
    search_fields = ("^code", "name")  # GSS codes are searched by prefix (E08...); names by trigram index
    # Rebuilt by derived_rebuild: names come from the newest membership (edit them there), types from
    # the entity code, dates from code history.
    readonly_fields = ("name", "name_cy", "entity", "area_type", "active_from", "active_to")
    inlines = (MembershipInline, ParentLinkInline, PredecessorInline, SuccessorInline)
    show_full_result_count = False


@admin.register(AreaMembership)
class AreaMembershipAdmin(admin.ModelAdmin):
    list_display = ("area", "vintage", "name", "source")
    list_filter = ("vintage",)
    list_select_related = ("area", "vintage")
    search_fields = ("^area__code", "name")
    autocomplete_fields = ("area",)
    show_full_result_count = False


@admin.register(AreaLink)
class AreaLinkAdmin(SimpleHistoryAdmin):
    list_display = ("child", "child_vintage", "parent", "parent_vintage", "fit", "source")
    list_filter = ("child_vintage", "parent_vintage", "fit")
    list_select_related = ("child", "child_vintage", "parent", "parent_vintage")
    search_fields = ("^child__code", "child__name", "^parent__code")
    autocomplete_fields = ("child", "parent")
    show_full_result_count = False


@admin.register(AreaAncestor)
class AreaAncestorAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ("descendant", "descendant_vintage", "ancestor", "ancestor_vintage", "depth", "fit")
    list_filter = ("descendant_vintage", "ancestor_vintage", "fit")
    list_select_related = ("descendant", "descendant_vintage", "ancestor", "ancestor_vintage")
    search_fields = ("^descendant__code", "^ancestor__code")
    show_full_result_count = False


@admin.register(AreaChange)
class AreaChangeAdmin(SimpleHistoryAdmin):
    list_display = ("predecessor", "successor", "change_type", "effective_date", "from_vintage", "to_vintage", "weight")
    list_filter = ("change_type", "from_vintage", "to_vintage")
    list_select_related = ("predecessor", "successor", "from_vintage", "to_vintage")
    search_fields = ("^predecessor__code", "predecessor__name", "^successor__code", "successor__name")
    autocomplete_fields = ("predecessor", "successor")
    show_full_result_count = False


@admin.register(AreaLifespan)
class AreaLifespanAdmin(admin.ModelAdmin):
    list_display = ("area", "start", "end", "source")
    list_filter = ("source",)
    list_select_related = ("area",)
    search_fields = ("^area__code", "area__name")
    autocomplete_fields = ("area",)


@admin.register(Boundary)
class BoundaryAdmin(admin.ModelAdmin):
    list_display = ("area", "vintage", "resolution", "source")
    list_filter = ("vintage", "resolution")
    list_select_related = ("area", "vintage")
    search_fields = ("^area__code", "area__name")
    # Boundaries come from ingest; BoundaryPiece copies area and vintage, so those stay fixed here.
    fields = ("area", "vintage", "geometry", "geojson", "resolution", "source")
    readonly_fields = ("area", "vintage", "geometry", "geojson")
    show_full_result_count = False

    def get_queryset(self, request):
        # Geometries run to megabytes: the changelist never needs them, the change page loads one
        # on demand for the summary, and saving a deferred instance does not rewrite it.
        return super().get_queryset(request).select_related("area", "vintage").defer("geom")

    def has_add_permission(self, request):
        return False

    @admin.display(description="geometry")
    def geometry(self, obj):
        g = obj.geom
        bbox = ", ".join(f"{c:.4f}" for c in g.extent)
        return f"{g.geom_type}, {g.num_geom} polygon(s), {g.num_points:,} points; bbox ({bbox})"

    @admin.display(description="GeoJSON")
    def geojson(self, obj):
        url = reverse("area-boundary", args=[obj.area.code]) + "?" + urlencode({"vintage": obj.vintage.code})
        return format_html('<a href="{}">{}</a>', url, url)


class CustomAreaMemberInline(ReadOnlyInline):
    model = CustomAreaMember
    fields = ("area", "weight")
    related = ("area",)


@admin.register(CustomArea)
class CustomAreaAdmin(admin.ModelAdmin):
    """Users' custom areas: staff can rename or delete one; members are fixed at creation."""

    list_display = ("name", "method", "vintage", "created_by", "created_at")
    list_filter = ("method", "vintage")
    search_fields = ("name", "id")
    readonly_fields = ("id", "method", "vintage", "created_by", "created_at")
    fields = ("id", "name", "method", "vintage", "created_by", "created_at")
    inlines = [CustomAreaMemberInline]
