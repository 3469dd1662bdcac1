"""Curator admin for missions: objectives, missions, metrics and targets, with history; a mission's
page lists its metrics and each target's data status."""

from django.contrib import admin
from django.db import models
from simple_history.admin import SimpleHistoryAdmin

from .models import Metric, Mission, Objective, Target


class MetricInline(admin.TabularInline):
    model = Metric
    extra = 0
    fields = ("indicator", "headline", "link")
    autocomplete_fields = ("indicator",)


class TargetInline(admin.StackedInline):
    model = Target
    extra = 0
    fields = ("kind", "metric", "description", ("value", "unit"), ("gap", "target_year"), ("data_status", "data_note"))
    readonly_fields = ("data_status",)


@admin.register(Objective)
class ObjectiveAdmin(SimpleHistoryAdmin):
    list_display = ("number", "name")


@admin.register(Mission)
class MissionAdmin(SimpleHistoryAdmin):
    list_display = ("number", "short_name", "objective", "target_year", "metric_count")
    list_select_related = ("objective",)
    inlines = [MetricInline, TargetInline]
    formfield_overrides = {models.URLField: {"assume_scheme": "https"}}

    @admin.display(description="metrics")
    def metric_count(self, obj):
        return obj.metrics.count()


@admin.register(Metric)
class MetricAdmin(SimpleHistoryAdmin):
    list_display = ("mission", "indicator", "headline", "link")
    list_filter = ("mission", "link", "headline")
    list_select_related = ("mission", "indicator")
    autocomplete_fields = ("indicator",)


@admin.register(Target)
class TargetAdmin(SimpleHistoryAdmin):
    list_display = ("mission", "kind", "value", "unit", "target_year", "data_status")
    list_filter = ("kind", "data_status", "mission")
    list_select_related = ("mission",)
    readonly_fields = ("data_status",)
