"""Page-number pagination with a count and a caller-chosen page size (bounded, validated)."""

from django.conf import settings
from rest_framework import pagination

from .errors import BadParameter


class PageNumberPagination(pagination.PageNumberPagination):
    page_size = settings.LEVELUP["DEFAULT_PAGE_SIZE"]
    page_size_query_param = "page_size"
    max_page_size = settings.LEVELUP["MAX_PAGE_SIZE"]
    page_size_query_description = (
        f"Rows per page (default {settings.LEVELUP['DEFAULT_PAGE_SIZE']}, "
        f"at most {settings.LEVELUP['MAX_PAGE_SIZE']})."
    )

    def get_page_size(self, request):
        raw = request.query_params.get(self.page_size_query_param)
        if not raw:  # empty is left out, as the parameter layer (levelup_api.core.params) takes it
            return self.page_size
        try:
            size = int(raw)
        except ValueError:
            raise BadParameter("page_size", f"must be a whole number, got {raw!r}") from None
        if not 1 <= size <= self.max_page_size:
            raise BadParameter("page_size", f"must be between 1 and {self.max_page_size}, got {size}")
        return size

    def paginate_queryset(self, queryset, request, view=None):
        raw = request.query_params.get(self.page_query_param) or None
        if raw is not None and (not raw.isdigit() or int(raw) < 1):
            raise BadParameter("page", f"must be a positive whole number, got {raw!r}")
        try:
            return super().paginate_queryset(queryset, request, view)
        except pagination.NotFound:
            raise BadParameter("page", f"page {raw} is past the last page") from None
