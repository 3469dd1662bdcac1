"""Template filters of the explorer's pages."""

from django import template

from ..formatting import served as served_text
from ..formatting import served_raw

register = template.Library()


@register.filter
def served(value) -> str:
    """A served number with its digits kept (explorer.formatting.served)."""
    return served_text(value)


@register.filter
def raw(value) -> str:
    """A served number for a data- attribute."""
    return served_raw(value)
