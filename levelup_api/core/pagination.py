"""Page-number pagination with a count and a caller-chosen page size. `page` and `page_size` are
parsed and bounded once, by the view's parameter declaration (levelup_api.core.params); the
paginator reads those cleaned values rather than the raw query string."""

from django.conf import settings
from rest_framework import pagination

from .errors import BadParameter


class PageNumberPagination(pagination.PageNumberPagination):
    page_size = settings.LEVELUP["DEFAULT_PAGE_SIZE"]
    page_size_query_param = "page_size"
    max_page_size = settings.LEVELUP["MAX_PAGE_SIZE"]

    def paginate_queryset(self, queryset, request, view=None):
        self._declared = getattr(view, "cleaned", {}) if view is not None else {}
        try:
            return super().paginate_queryset(queryset, request, view)
        except pagination.NotFound:
            raise BadParameter("page", f"page {self._declared.get('page')} is past the last page") from None

    def get_page_size(self, request):
        return getattr(self, "_declared", {}).get("page_size") or self.page_size

    def get_page_number(self, request, paginator):
        return getattr(self, "_declared", {}).get("page") or 1


class CountedRows:
    """What Django's Paginator pages when the rows shown are tuples from a query with joins that
    counting does not need: `count()` counts `base` (the filtered queryset: no joins for the shown
    columns), slicing reads `rows` (the same filter, as tuples). Both must hold the same rows."""

    ordered = True

    def __init__(self, base, rows) -> None:
        self.base, self.rows = base, rows

    def count(self) -> int:
        return self.base.count()

    def __len__(self) -> int:
        return self.count()

    def __getitem__(self, item):
        return self.rows[item]
