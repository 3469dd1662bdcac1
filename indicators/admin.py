"""Curator admin for indicators: metadata and releases editable with history; observations read-only."""

import os
import tempfile
from pathlib import Path

from django import forms
from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import path
from simple_history.admin import SimpleHistoryAdmin

from levelup_api.core.admin import ReadOnlyAdminMixin

from .models import Coverage, Dataset, Indicator, Observation, Period, Publisher, Release
from .services import indicator_rules_changed, release_currency_set, releases_state_set
from .uploads import UPLOAD_DIR, upload_confirm, upload_preview


class UploadForm(forms.Form):
    dataset = forms.ModelChoiceField(queryset=Dataset.objects.order_by("slug"))
    label = forms.CharField(max_length=120, help_text="Release label, e.g. 'ASHE 2026 provisional'.")
    release_date = forms.DateField(help_text="YYYY-MM-DD")
    state = forms.ChoiceField(choices=Release.State.choices, initial=Release.State.DRAFT,
                              help_text="A draft is invisible to the public API until published.")
    file = forms.FileField(required=False, help_text="CSV with columns area_code, indicator, period_iso, value, "
                                                     "lci, uci, status (the API's own CSV works).")


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
    list_display = ("dataset", "label", "release_date", "state", "is_current", "created_at")
    list_filter = ("state", "is_current", "dataset")
    list_select_related = ("dataset",)
    search_fields = ("label", "dataset__slug")
    readonly_fields = ("checksum", "created_at", "is_current")
    actions = ("publish", "unpublish")
    change_list_template = "admin/indicators/release/change_list.html"

    def get_urls(self):
        return [path("upload/", self.admin_site.admin_view(self.upload_view), name="indicators_release_upload"),
                *super().get_urls()]

    def upload_view(self, request):
        """Upload a CSV in the API's long format, see a validation preview, then confirm."""
        if not self.has_add_permission(request):
            raise PermissionDenied
        form = UploadForm(request.POST or None, request.FILES or None)
        context = {**self.admin_site.each_context(request), "opts": self.model._meta, "form": form,
                   "title": "Upload a release (CSV)"}
        if request.method == "POST" and form.is_valid():
            data = form.cleaned_data
            token = request.POST.get("token")
            if token and "confirm" in request.POST:
                path = UPLOAD_DIR / Path(token).name
                if not path.is_file():
                    form.add_error(None, "The uploaded file has expired; upload it again.")
                else:
                    result = upload_confirm(path=path, dataset=data["dataset"], label=data["label"],
                                            release_date=data["release_date"].isoformat(), state=data["state"])
                    if result.error is None:
                        path.unlink(missing_ok=True)
                        self.message_user(request, f"Loaded release {data['label']}: {result.counts}")
                        return redirect("admin:indicators_release_changelist")
                    context["error"] = result.error
            elif data.get("file"):
                UPLOAD_DIR.mkdir(parents=True, exist_ok=True)
                fd, name = tempfile.mkstemp(suffix=".csv", dir=UPLOAD_DIR)
                with os.fdopen(fd, "wb") as out:
                    for chunk in data["file"].chunks():
                        out.write(chunk)
                path = Path(name)
                result = upload_preview(path=path, dataset=data["dataset"], label=data["label"],
                                        release_date=data["release_date"].isoformat())
                context.update(preview=result, token=path.name, error=result.error)
        return TemplateResponse(request, "admin/indicators/release/upload.html", context)

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        if change and {"state", "release_date"} & set(form.changed_data):
            release_currency_set(dataset_id=obj.dataset_id)

    def _set_state(self, request, queryset, state):
        datasets = set(queryset.values_list("dataset_id", flat=True))
        releases_state_set(releases=queryset, state=state)  # each a one-row update, with its history
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

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        indicator_rules_changed(indicator=obj)  # in the admin's transaction


@admin.register(Period)
class PeriodAdmin(admin.ModelAdmin):
    list_display = ("iso", "label", "type", "start", "end")
    list_filter = ("type",)
    search_fields = ("iso", "label")


@admin.register(Observation)
class ObservationAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ("indicator", "area", "period", "value", "lci", "uci", "status", "release")
    list_filter = ("release__is_current", "status", "indicator")
    list_select_related = ("indicator", "area", "period", "release")
    search_fields = ("^area__code", "indicator__slug")
    show_full_result_count = False


@admin.register(Coverage)
class CoverageAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ("indicator", "area_type", "period", "areas")
    list_filter = ("area_type",)
    list_select_related = ("indicator", "area_type", "period")
