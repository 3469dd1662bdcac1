"""How many decimals a number is served with (docs/indicators.md, "Precision"): published numbers
keep the source's digits, binary noise removed at load; derived numbers are rounded where they are
computed, to the places given here."""

from __future__ import annotations

# A CI whose text carries binary noise is rounded to its value's decimals plus these.
CI_EXTRA_PLACES = 2
# Differences, comparators, aggregates and converted values: the indicator's decimal_places plus these.
DERIVED_EXTRA_PLACES = 2
# The publisher's rules (IoD 2025 File 10): proportions to 4 places, means of ranks to 2, and the
# average score at the scores' own places. Keys are indicators.aggregation.Summary and
# Indicator.Aggregation values (as strings: aggregation imports this module).
METHOD_PLACES = {"share_in_category": 4, "extent": 4, "average_rank": 2, "local_concentration": 2}
OWN_PLACES = {"average_score"}


def derived_places(*, decimal_places: int, method: str | None = None) -> int:
    """Decimals of a number derived from an indicator's values by `method` (None: a difference or a
    converted value)."""
    if method in METHOD_PLACES:
        return METHOD_PLACES[method]
    if method in OWN_PLACES:
        return decimal_places
    return decimal_places + DERIVED_EXTRA_PLACES


def derived_round(value: float | None, places: int) -> float | None:
    """round() once, where the number is computed: orjson then prints the shortest text that reads
    back as that float, so `2.8700000000000045` is served as `2.87`."""
    return None if value is None else round(value, places)
