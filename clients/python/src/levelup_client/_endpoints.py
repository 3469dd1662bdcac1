"""The API's operations, each declared once (path, parameters, row class, where the rows are) for
both clients; Client and AsyncClient only run them. Parameter names are the API's."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from typing import Any
from urllib.parse import quote

from . import models as m
from .results import _Spec

Codes = str | Iterable[str]
Day = str | dt.date
API = "/api/v1/"
# Pins a pinned client sends (Client.pinned): the API's `as_of` (values as published on that
# date), and `release` for a server that declares it.
PIN_NAMES = ("as_of", "release")


def code_of(area: str | m.Record) -> str:
    """A GSS code from a code or from an area row (Area, AreaSummary, Ancestor ...)."""
    code = getattr(area, "code", area)
    if not isinstance(code, str) or not code.strip():
        raise ValueError(f"expected a GSS code or an area, got {area!r}")
    return code.strip()


def segment(value: str | m.Record) -> str:
    return quote(code_of(value), safe="")


def listed(value: Codes | None) -> list[str] | None:
    if value is None:
        return None
    if isinstance(value, str):
        return [value]
    return [code_of(v) for v in value]


class Endpoints:
    """Builds the call for each operation; `pins` are added to the calls that return data."""

    def __init__(self, pins: Mapping[str, Any] | None = None) -> None:
        self.pins = {k: v for k, v in (pins or {}).items() if v is not None}

    def pinned(self, params: dict[str, Any]) -> dict[str, Any]:
        for name, value in self.pins.items():
            given = params.get(name)
            if given is not None and str(given) != str(value):
                raise ValueError(f"this client is pinned to {name}={value}; it cannot ask for {name}={given}")
            params[name] = value
        return params

    # -- geography -------------------------------------------------------------------------------------------
    def area(self, code: str | m.Record) -> tuple[str, dict, type[m.Area]]:
        return f"{API}areas/{segment(code)}/", {}, m.Area

    def areas(
        self,
        *,
        type: str | None,
        vintage: str | None,
        parent: str | m.Record | None,
        active_on: Day | None,
        q: str | None,
        page_size: int | None,
    ) -> _Spec[m.AreaSummary]:
        params = {
            "type": type,
            "vintage": vintage,
            "parent": code_of(parent) if parent is not None else None,
            "active_on": active_on,
            "q": q,
            "page_size": page_size,
        }
        return _Spec(f"{API}areas/", params, m.AreaSummary, "results")

    def children(
        self, area: str | m.Record, *, type: str | None, vintage: str | None, page_size: int | None
    ) -> _Spec[m.AreaSummary]:
        params = {"type": type, "vintage": vintage, "page_size": page_size}
        return _Spec(f"{API}areas/{segment(area)}/children/", params, m.AreaSummary, "results")

    def ancestors(self, area: str | m.Record, *, vintage: str | None) -> _Spec[m.Ancestor]:
        return _Spec(f"{API}areas/{segment(area)}/ancestors/", {"vintage": vintage}, m.Ancestor, "ancestors")

    def point(self, lat: float, lon: float, *, vintage: str | Iterable[str] | None) -> _Spec[m.PointArea]:
        for name, value, bound in (("lat", lat, 90), ("lon", lon, 180)):
            if not isinstance(value, int | float) or isinstance(value, bool) or not -bound <= value <= bound:
                raise ValueError(f"{name} must be a number between -{bound} and {bound}, got {value!r}")
        vintages = [vintage] if isinstance(vintage, str) else list(vintage) if vintage is not None else None
        return _Spec(f"{API}lookup/point/", {"lat": lat, "lon": lon, "vintage": vintages}, m.PointArea, "areas")

    def area_types(self) -> _Spec[m.AreaType]:
        return _Spec(f"{API}area-types/", {}, m.AreaType, None)

    def vintages(self, *, type: str | None) -> _Spec[m.Vintage]:
        return _Spec(f"{API}vintages/", {"type": type}, m.Vintage, None)

    # -- indicators and observations ---------------------------------------------------------------------------
    def indicators(self, **filters: Any) -> _Spec[m.Indicator]:
        return _Spec(f"{API}indicators/", filters, m.Indicator, None)

    def indicator(self, slug: str) -> tuple[str, dict, type[m.Indicator]]:
        return f"{API}indicators/{quote(slug.strip(), safe='')}/", {}, m.Indicator

    def periods(self, *, indicator: str | None) -> _Spec[m.Period]:
        return _Spec(f"{API}periods/", {"indicator": indicator}, m.Period, None)

    def observations(
        self,
        *,
        indicator: Codes | None,
        area: Codes | None,
        type: str | None,
        vintage: str | None,
        parent: str | m.Record | None,
        period: Codes | None,
        period_from: Day | None,
        period_to: Day | None,
        status: str | None,
        as_of: Day | None,
        harmonise: bool | None,
        explain: bool | None,
        page_size: int | None,
    ) -> _Spec[m.Observation]:
        params = self.pinned(
            {
                "indicator": listed(indicator),
                "area": listed(area),
                "type": type,
                "vintage": vintage,
                "parent": code_of(parent) if parent is not None else None,
                "period": listed(period),
                "period_from": period_from,
                "period_to": period_to,
                "status": status,
                "as_of": as_of,
                "harmonise": harmonise or None,
                "explain": explain or None,
                "page_size": page_size,
            }
        )
        model = m.HarmonisedObservation if harmonise else m.Observation
        return _Spec(f"{API}observations/", params, model, "results")

    def aggregate(self, indicator: str, **params: Any) -> _Spec[m.AggregateValue]:
        if params.get("parent") is not None:
            params["parent"] = code_of(params["parent"])
        params["period"] = listed(params.get("period"))
        path = f"{API}indicators/{quote(indicator.strip(), safe='')}/aggregate/"
        return _Spec(path, self.pinned(params), m.AggregateValue, "results")

    def series(
        self, area: str | m.Record, indicator: str, *, vintage: str | None, explain: bool | None
    ) -> _Spec[m.SeriesPoint]:
        params = self.pinned({"indicator": indicator, "vintage": vintage, "explain": explain or None})
        return _Spec(f"{API}areas/{segment(area)}/series/", params, m.SeriesPoint, "series")

    # -- profiles ------------------------------------------------------------------------------------------------
    def profile(self, area: str | m.Record, *, level: float | None, summaries: bool | None) -> _Spec[m.ProfileRow]:
        params = self.pinned({"level": level, "summaries": summaries or None})
        return _Spec(f"{API}areas/{segment(area)}/profile/", params, m.ProfileRow, "indicators")

    def profiles(
        self, parent: str | m.Record, *, type: str | None, vintage: str | None, level: float | None
    ) -> _Spec[m.ProfileRow]:
        params = self.pinned({"parent": code_of(parent), "type": type, "vintage": vintage, "level": level})
        return _Spec(f"{API}profiles/", params, m.ProfileRow, "rows")

    # -- custom areas ----------------------------------------------------------------------------------------------
    def custom_area(self, id: str) -> tuple[str, dict, None]:
        return f"{API}custom-areas/{quote(str(id), safe='')}/", {}, None

    def custom_area_observations(self, id: str, indicator: Codes, **params: Any) -> _Spec[m.AggregateValue]:
        params = self.pinned({"indicator": listed(indicator), **params, "period": listed(params.get("period"))})
        return _Spec(f"{API}custom-areas/{quote(str(id), safe='')}/observations/", params, m.AggregateValue, "results")

    # -- bulk files -----------------------------------------------------------------------------------------------------
    def datasets(self) -> _Spec[m.Dataset]:
        return _Spec(f"{API}datasets/", {}, m.Dataset, "results")

    def dataset(self, slug: str) -> tuple[str, dict, type[m.Dataset]]:
        return f"{API}datasets/{quote(slug.strip(), safe='')}/", {}, m.Dataset

    def release(self, slug: str, release_id: int) -> tuple[str, dict, type[m.Release]]:
        return f"{API}datasets/{quote(slug.strip(), safe='')}/releases/{int(release_id)}/", {}, m.Release

    @staticmethod
    def release_file(slug: str, release_id: int, fmt: str) -> str:
        return f"{API}datasets/{quote(slug.strip(), safe='')}/releases/{int(release_id)}/download.{fmt}"
