"""Curator admin for shared models: the read-only ingest run log, and the read-only mixin other apps use."""

from django.contrib import admin

from .models import ApiKey, IngestRun


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


@admin.register(ApiKey)
class ApiKeyAdmin(admin.ModelAdmin):
    """Keys are made here or with `manage.py create_api_key`; the key itself is shown once."""

    list_display = ("name", "prefix", "tier", "active", "created_at")
    list_filter = ("tier", "active")
    readonly_fields = ("prefix", "created_at")
    fields = ("name", "tier", "active", "prefix", "created_at")

    def save_model(self, request, obj, form, change):
        from .quotas import api_key_forget

        if change:
            # Every process forgets it (a trigger notifies them); this one at once.
            super().save_model(request, obj, form, change)
            api_key_forget(obj.prefix)
            return None
        from django.contrib import messages

        from .quotas import api_key_make

        key, secret = api_key_make(name=obj.name, tier=obj.tier)
        obj.pk, obj.prefix, obj.key_hash, obj.created_at = key.pk, key.prefix, key.key_hash, key.created_at
        messages.warning(request, f"The key, shown this once: {secret}")

    def delete_model(self, request, obj):
        from .quotas import api_key_forget

        super().delete_model(request, obj)
        api_key_forget(obj.prefix)

    def delete_queryset(self, request, queryset):
        from .quotas import api_key_forget

        prefixes = list(queryset.values_list("prefix", flat=True))
        super().delete_queryset(request, queryset)
        for prefix in prefixes:
            api_key_forget(prefix)
