"""Curator admin for indicators: metadata and releases editable with history; observations read-only."""

from django.contrib import admin
from simple_history.admin import SimpleHistoryAdmin

from levelup_api.core.admin import ReadOnlyAdminMixin

from .models import Coverage, Dataset, Indicator, Observation, Period, Publisher, Release
from .services import dataset_currency_rebuild


@admin.register(Publisher)
class PublisherAdmin(admin.ModelAdmin):
    search_fields = ("name",)


@admin.register(Dataset)
class DatasetAdmin(SimpleHistoryAdmin):
    list_display = ("slug", "title", "licence")
    search_fields = ("slug", "title")
    filter_horizontal = ("publishers",)


@admin.register(Release)
class ReleaseAdmin(SimpleHistoryAdmin):
    list_display = ("dataset", "label", "release_date", "state", "created_at")
    list_filter = ("state", "dataset")
    list_select_related = ("dataset",)
    search_fields = ("label", "dataset__slug")
    readonly_fields = ("checksum", "created_at")
    actions = ("publish", "unpublish")

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        if change and {"state", "release_date"} & set(form.changed_data):
            dataset_currency_rebuild(dataset_id=obj.dataset_id)

    def _set_state(self, request, queryset, state):
        datasets = set(queryset.values_list("dataset_id", flat=True))
        queryset.update(state=state)
        for dataset_id in datasets:
            dataset_currency_rebuild(dataset_id=dataset_id)
        self.message_user(request, f"{len(datasets)} dataset(s) now serve their newest published release.")

    @admin.action(description="Publish: serve these releases' values")
    def publish(self, request, queryset):
        self._set_state(request, queryset, Release.State.PUBLISHED)

    @admin.action(description="Back to draft: hide these releases' values")
    def unpublish(self, request, queryset):
        self._set_state(request, queryset, Release.State.DRAFT)


@admin.register(Indicator)
class IndicatorAdmin(SimpleHistoryAdmin):
    list_display = ("slug", "title", "measure", "polarity", "aggregation", "unit", "dataset")
    list_filter = ("measure", "polarity", "aggregation", "experimental", "dataset")
    list_select_related = ("dataset",)
    search_fields = ("slug", "title", "description")
    autocomplete_fields = ("weight_indicator",)


@admin.register(Period)
class PeriodAdmin(admin.ModelAdmin):
    list_display = ("iso", "label", "type", "start", "end")
    list_filter = ("type",)
    search_fields = ("iso", "label")


@admin.register(Observation)
class ObservationAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ("indicator", "area", "period", "value", "lci", "uci", "status", "release", "is_current")
    list_filter = ("is_current", "status", "indicator")
    list_select_related = ("indicator", "area", "period", "release")
    search_fields = ("^area__code", "indicator__slug")
    show_full_result_count = False


@admin.register(Coverage)
class CoverageAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ("indicator", "area_type", "period", "areas")
    list_filter = ("area_type",)
    list_select_related = ("indicator", "area_type", "period")
