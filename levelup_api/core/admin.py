"""Curator admin for shared models: the read-only ingest run log, and the read-only mixin other apps use."""

from django.contrib import admin

from .models import IngestRun


class ReadOnlyAdminMixin:
    """View-only admin (or inline) for records that only loaders and derived rebuilds write."""

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(IngestRun)
class IngestRunAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ("dataset", "source", "state", "dry_run", "started_at", "seconds", "rows_read")
    list_filter = ("dataset", "state")
    search_fields = ("source", "path", "checksum")
    date_hierarchy = "started_at"
