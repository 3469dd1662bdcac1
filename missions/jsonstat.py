"""JSON-stat 2.0 datasets of area profiles (`/areas/{code}/profile/`, `/profiles/`): the area,
indicator and period dimensions, the comparisons, ranks and trends under extension.columns, from
the same rows as the JSON and CSV (indicators.jsonstat lays the cube out)."""

from __future__ import annotations

from indicators.jsonstat import AREA, INDICATOR, PERIOD, dataset, indicators_by_slug

from .selectors import PROFILE_COLUMNS


def profile_dataset(request, rows: list[dict], *, label: str, extension: dict | None = None, csv: bool = True) -> dict:
    """Profile rows (missions.selectors.profiles: by area as asked, then indicator slug, one period
    per area and indicator) as one cube area x indicator x period."""
    found = indicators_by_slug(r["indicator"] for r in rows)
    return dataset(
        request,
        rows,
        [AREA, INDICATOR, PERIOD],
        columns=PROFILE_COLUMNS,
        label=label,
        indicators=found,
        extension=extension,
        csv=csv,
    )
