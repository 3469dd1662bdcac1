"""`Client` and `AsyncClient`: every operation of the API as a method returning typed rows, over one
session each (a connection pool, the ETag cache, retries). `client.pinned(as_of=...)` gives a view
of the same session whose data calls all carry the pin, for pulls that can be repeated exactly."""

from __future__ import annotations

import copy
import datetime as dt
import os
from collections.abc import Iterable
from typing import Any

import httpx

from . import models as m
from ._endpoints import Codes, Day, Endpoints, code_of
from ._session import DEFAULT_BASE_URL, AsyncSession, SyncSession
from .downloads import Expected, afetch, choose_release, fetch, read_table, suffix_of
from .errors import LevelUpError, NotFound
from .results import AsyncResults, Results
from .retry import Retry

SUCCESSOR_DEPTH = 10  # boundary changes chain a few times at most; this only stops a loop in bad data


def _choose(client: Client | AsyncClient, dataset: m.Dataset, release: int | None, as_of: Day | None) -> m.Release:
    """The release asked for, else the client's pin, else the current one."""
    pins = client._calls.pins
    return choose_release(
        dataset,
        release=release if release is not None else pins.get("release"),
        as_of=as_of if as_of is not None else pins.get("as_of"),
    )


def _pins(current: dict[str, Any], **given: Any) -> dict[str, Any]:
    """The pins of a view: the ones given, over those of the client it comes from."""
    return {**current, **{k: v for k, v in given.items() if v is not None}}


def _file(release: m.Release, fmt: str) -> m.Download | None:
    return release.downloads.get(fmt)


def _target(
    endpoints: Endpoints, slug: str, release: m.Release, download: m.Download | None, fmt: str
) -> tuple[str, Expected]:
    """Where the file is and what it should be. Without a listed file, the release's download route
    is asked all the same: the server's 404 then says why there is none (and where its values are)."""
    if download is not None:
        return download.url, Expected.of(download)
    return endpoints.release_file(slug, release.id, fmt), Expected()


def _snapshot_file(listing: Any, fmt: str) -> tuple[str, Expected]:
    snapshot = listing.get("snapshot") if isinstance(listing, dict) else None
    download = m.Snapshot.from_api(snapshot).downloads.get(fmt) if snapshot else None
    if download is None:
        raise NotFound(404, f"no {fmt} snapshot is listed at /api/v1/datasets/ (it is written after a load)")
    return download.url, Expected.of(download)


class Client:
    """A synchronous client.

    >>> with Client("http://127.0.0.1:8000") as api:
    ...     rows = api.observations(indicator="iod2025-imd-score", type="LSOA", parent="E08000003")
    ...     frame = rows.to_pandas()

    - `base_url`: the API's address (default http://127.0.0.1:8000);
    - `api_key`: sent as X-API-Key (default: the LEVELUP_API_KEY environment variable; none: anonymous);
    - `timeout`: seconds (or an httpx.Timeout) per request;
    - `cache`: keep responses and revalidate them with their ETags (a 304 costs no quota); False
      turns it off. `cache_dir`: where (default LEVELUP_CACHE_DIR, else the user cache directory).
      `revalidate=False` lets a stored response be used unasked for the server's max-age (5 min);
    - `retry`: a `Retry` policy (429 and 503 always, connection errors, 502 and 504 for GETs);
    - `verify`: a CA bundle or SSLContext for TLS; it cannot be turned off;
    - `transport`: an httpx transport to send through (tests, proxies)."""

    def __init__(
        self,
        base_url: str = DEFAULT_BASE_URL,
        *,
        api_key: str | None = None,
        timeout: float | httpx.Timeout = 60.0,
        cache: bool = True,
        cache_dir: str | os.PathLike | None = None,
        revalidate: bool = True,
        retry: Retry | None = None,
        verify: Any = None,
        user_agent: str | None = None,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.session = SyncSession(
            base_url,
            api_key=api_key,
            timeout=timeout,
            cache=cache,
            cache_dir=cache_dir,
            revalidate=revalidate,
            retry=retry,
            verify=verify,
            user_agent=user_agent,
            transport=transport,
        )
        self._calls = Endpoints()
        self._owner = True

    # -- the session ---------------------------------------------------------------------------------------------
    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Close the session (not from a pinned view: the client it came from owns it)."""
        if self._owner:
            self.session.close()

    @property
    def stats(self):
        """What crossed the network, by status ("200", "304" ...), and the retries made."""
        return self.session.stats

    @property
    def pins(self) -> dict[str, Any]:
        return dict(self._calls.pins)

    def pinned(self, *, as_of: Day | None = None, release: int | None = None) -> Client:
        """A view of this client (same session) whose data calls carry `as_of` (values as published
        on that date) or `release`, and whose downloads pick that release. Geography and catalogue
        calls are not pinned: they do not depend on a release. An operation the API cannot pin
        refuses the pin with a 400 naming it (BadRequest), rather than answer unpinned."""
        if as_of is None and release is None:
            raise ValueError("give as_of or release")
        if isinstance(as_of, str):
            as_of = dt.date.fromisoformat(as_of)
        view = copy.copy(self)
        view._calls = Endpoints(_pins(self._calls.pins, as_of=as_of, release=release))
        view._owner = False
        return view

    def get(self, path: str, **params: Any) -> Any:
        """Any GET of the API as decoded JSON (a path such as /api/v1/missions/), with the session's
        cache and retries."""
        return self.session.get_json(path, params)

    def _one(self, call: tuple[str, dict, type[m.Record] | None]) -> Any:
        path, params, model = call
        body = self.session.get_json(path, params)
        return model.from_api(body) if model is not None else body

    # -- geography -------------------------------------------------------------------------------------------------
    def area(self, code: str | m.Record) -> m.Area:
        """One area by GSS code, including a code that has ended (its `successors` say what replaced it)."""
        return self._one(self._calls.area(code))

    def areas(
        self,
        *,
        type: str | None = None,
        vintage: str | None = None,
        parent: str | m.Record | None = None,
        active_on: Day | None = None,
        q: str | None = None,
        page_size: int | None = None,
    ) -> Results[m.AreaSummary]:
        return Results(
            self.session,
            self._calls.areas(type=type, vintage=vintage, parent=parent, active_on=active_on, q=q, page_size=page_size),
        )

    def children(
        self, area: str | m.Record, *, type: str | None = None, vintage: str | None = None, page_size: int | None = None
    ) -> Results[m.AreaSummary]:
        """The areas below `area`: of `type` (its newest vintage that has descendants) or in `vintage`."""
        return Results(self.session, self._calls.children(area, type=type, vintage=vintage, page_size=page_size))

    def ancestors(self, area: str | m.Record, *, vintage: str | None = None) -> Results[m.Ancestor]:
        return Results(self.session, self._calls.ancestors(area, vintage=vintage))

    def point(self, lat: float, lon: float, *, vintage: str | Iterable[str] | None = None) -> Results[m.PointArea]:
        """The areas containing a point (WGS84), one per type."""
        return Results(self.session, self._calls.point(lat, lon, vintage=vintage))

    def successors(self, code: str | m.Record, *, current: bool = False) -> list[m.AreaChange]:
        """What replaced an ended code. With `current`, follows the chain to codes still in force."""
        found = self.area(code).successors
        if not current:
            return found
        out: dict[str, m.AreaChange] = {}
        for _ in range(SUCCESSOR_DEPTH):
            pending = []
            for change in found:
                area = self.area(change.code)
                if area.successors and area.status != "live":
                    pending.extend(area.successors)
                else:
                    out.setdefault(change.code, change)
            if not pending:
                return list(out.values())
            found = pending
        raise LevelUpError(f"the successors of {code_of(code)} go on for more than {SUCCESSOR_DEPTH} changes")

    def area_types(self) -> Results[m.AreaType]:
        return Results(self.session, self._calls.area_types())

    def vintages(self, *, type: str | None = None) -> Results[m.Vintage]:
        return Results(self.session, self._calls.vintages(type=type))

    # -- indicators and observations -----------------------------------------------------------------------------------
    def indicators(
        self,
        *,
        q: str | None = None,
        topic: str | None = None,
        capital: str | None = None,
        measure: str | None = None,
        polarity: str | None = None,
        type: str | None = None,
    ) -> Results[m.Indicator]:
        return Results(
            self.session,
            self._calls.indicators(q=q, topic=topic, capital=capital, measure=measure, polarity=polarity, type=type),
        )

    def indicator(self, slug: str) -> m.Indicator:
        """One indicator with its releases and availability."""
        return self._one(self._calls.indicator(slug))

    def periods(self, *, indicator: str | None = None) -> Results[m.Period]:
        return Results(self.session, self._calls.periods(indicator=indicator))

    def observations(
        self,
        indicator: Codes | None = None,
        *,
        area: Codes | None = None,
        type: str | None = None,
        vintage: str | None = None,
        parent: str | m.Record | None = None,
        period: Codes | None = None,
        period_from: Day | None = None,
        period_to: Day | None = None,
        status: str | None = None,
        as_of: Day | None = None,
        harmonise: bool = False,
        explain: bool = False,
        page_size: int | None = None,
    ) -> Results[m.Observation]:
        """Values in long format, followed page by page through the API's cursors. `period` takes
        ISO periods, labels, years, "latest" or "latest-N". `write_csv(file)` streams the same
        selection as one CSV file instead."""
        return Results(
            self.session,
            self._calls.observations(
                indicator=indicator,
                area=area,
                type=type,
                vintage=vintage,
                parent=parent,
                period=period,
                period_from=period_from,
                period_to=period_to,
                status=status,
                as_of=as_of,
                harmonise=harmonise,
                explain=explain,
                page_size=page_size,
            ),
        )

    def aggregate(
        self,
        indicator: str,
        *,
        from_type: str | None = None,
        from_vintage: str | None = None,
        to_type: str | None = None,
        to_vintage: str | None = None,
        period: Codes | None = None,
        method: str | None = None,
        weight: str | None = None,
        weight_period: str | None = None,
        parent: str | m.Record | None = None,
        min_coverage: float | None = None,
    ) -> Results[m.AggregateValue]:
        """The indicator rebuilt for larger areas from small ones; `meta` has the method and weight."""
        return Results(
            self.session,
            self._calls.aggregate(
                indicator,
                from_type=from_type,
                from_vintage=from_vintage,
                to_type=to_type,
                to_vintage=to_vintage,
                period=period,
                method=method,
                weight=weight,
                weight_period=weight_period,
                parent=parent,
                min_coverage=min_coverage,
            ),
        )

    def series(
        self, area: str | m.Record, indicator: str, *, vintage: str | None = None, explain: bool = False
    ) -> Results[m.SeriesPoint]:
        """An area's whole series on one boundary vintage: published values, and values converted
        from its predecessors before it existed (each point's `flag` says which)."""
        return Results(self.session, self._calls.series(area, indicator, vintage=vintage, explain=explain))

    # -- profiles ----------------------------------------------------------------------------------------------------
    def profile(
        self, area: str | m.Record, *, level: float | None = None, summaries: bool = False
    ) -> Results[m.ProfileRow]:
        """Every indicator for an area, ranked and compared with its region and nation."""
        return Results(self.session, self._calls.profile(area, level=level, summaries=summaries))

    def profiles(
        self, parent: str | m.Record, *, type: str | None = None, vintage: str | None = None, level: float | None = None
    ) -> Results[m.ProfileRow]:
        return Results(self.session, self._calls.profiles(parent, type=type, vintage=vintage, level=level))

    # -- custom areas --------------------------------------------------------------------------------------------------
    def custom_area(self, id: str) -> dict[str, Any]:
        return self._one(self._calls.custom_area(id))

    def custom_area_observations(
        self,
        id: str,
        indicator: Codes,
        *,
        period: Codes | None = None,
        method: str | None = None,
        weight: str | None = None,
        weight_period: str | None = None,
        min_coverage: float | None = None,
    ) -> Results[m.AggregateValue]:
        return Results(
            self.session,
            self._calls.custom_area_observations(
                id,
                indicator,
                period=period,
                method=method,
                weight=weight,
                weight_period=weight_period,
                min_coverage=min_coverage,
            ),
        )

    def create_custom_area(
        self,
        name: str,
        *,
        token: str,
        codes: Iterable[str] | None = None,
        geometry: dict | None = None,
        method: str | None = None,
        vintage: str | None = None,
    ) -> dict[str, Any]:
        """Make a custom area from small-area codes or a GeoJSON polygon (needs a user's token)."""
        body = {
            "name": name,
            "codes": list(codes) if codes is not None else None,
            "geometry": geometry,
            "method": method,
            "vintage": vintage,
        }
        response = self.session.send(
            "POST",
            "/api/v1/custom-areas/",
            json={k: v for k, v in body.items() if v is not None},
            headers={"Authorization": f"Token {token}"},
            cache=False,
        )
        return response.json()

    # -- bulk files ------------------------------------------------------------------------------------------------------
    def datasets(self) -> Results[m.Dataset]:
        """Every dataset with its current release and that release's files."""
        return Results(self.session, self._calls.datasets())

    def dataset(self, slug: str) -> DatasetRef:
        """A dataset's releases and bulk files: `client.dataset("iod2025").download()`."""
        return DatasetRef(self, slug)

    def snapshot(self, *, format: str = "parquet", columns: list[str] | None = None):
        """The national snapshot (every current observation) as a pyarrow Table."""
        suffix = suffix_of(format)
        path, expected = _snapshot_file(self.session.get_json(self._calls.datasets().path), format)
        file, kept = fetch(self.session, path, expected, suffix)
        return read_table(file, kept, format, expected, columns=columns)


class DatasetRef:
    """One dataset of a Client: `info()`, `releases()`, `download()`."""

    def __init__(self, client: Client, slug: str) -> None:
        self.client, self.slug = client, slug

    def info(self) -> m.Dataset:
        return self.client._one(self.client._calls.dataset(self.slug))

    def releases(self) -> list[m.Release]:
        return list(self.info().releases or [])

    def release(self, *, release: int | None = None, as_of: Day | None = None) -> m.Release:
        """The release a download gets: `release` by id, else the one current on `as_of`, else the
        client's pin, else the current one."""
        return _choose(self.client, self.info(), release, as_of)

    def download(
        self,
        format: str = "parquet",
        *,
        release: int | None = None,
        as_of: Day | None = None,
        columns: list[str] | None = None,
    ):
        """The release's bulk file as a pyarrow Table, streamed to disk and checked against the size,
        SHA-256 and row count the API publishes for it."""
        suffix = suffix_of(format)
        chosen = _choose(self.client, self.info(), release, as_of)
        download = _file(chosen, format)
        if download is None:  # a release row of the list: its own document lists its files
            download = _file(self.client._one(self.client._calls.release(self.slug, chosen.id)), format)
        path, expected = _target(self.client._calls, self.slug, chosen, download, format)
        file, kept = fetch(self.client.session, path, expected, suffix)
        return read_table(file, kept, format, expected, columns=columns)

    def __repr__(self) -> str:
        return f"<DatasetRef {self.slug}>"


class AsyncClient:
    """The asynchronous client: the same methods as Client; those returning one document are
    coroutines, lists are AsyncResults (`async for`, `await results.to_list()`).

    >>> async with AsyncClient() as api:
    ...     rows = await api.observations(indicator="iod2025-imd-score", area="E01005061").to_list()"""

    def __init__(
        self,
        base_url: str = DEFAULT_BASE_URL,
        *,
        api_key: str | None = None,
        timeout: float | httpx.Timeout = 60.0,
        cache: bool = True,
        cache_dir: str | os.PathLike | None = None,
        revalidate: bool = True,
        retry: Retry | None = None,
        verify: Any = None,
        user_agent: str | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.session = AsyncSession(
            base_url,
            api_key=api_key,
            timeout=timeout,
            cache=cache,
            cache_dir=cache_dir,
            revalidate=revalidate,
            retry=retry,
            verify=verify,
            user_agent=user_agent,
            transport=transport,
        )
        self._calls = Endpoints()
        self._owner = True

    async def __aenter__(self) -> AsyncClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        if self._owner:
            await self.session.aclose()

    @property
    def stats(self):
        return self.session.stats

    @property
    def pins(self) -> dict[str, Any]:
        return dict(self._calls.pins)

    def pinned(self, *, as_of: Day | None = None, release: int | None = None) -> AsyncClient:
        if as_of is None and release is None:
            raise ValueError("give as_of or release")
        if isinstance(as_of, str):
            as_of = dt.date.fromisoformat(as_of)
        view = copy.copy(self)
        view._calls = Endpoints(_pins(self._calls.pins, as_of=as_of, release=release))
        view._owner = False
        return view

    async def get(self, path: str, **params: Any) -> Any:
        return await self.session.get_json(path, params)

    async def _one(self, call: tuple[str, dict, type[m.Record] | None]) -> Any:
        path, params, model = call
        body = await self.session.get_json(path, params)
        return model.from_api(body) if model is not None else body

    async def area(self, code: str | m.Record) -> m.Area:
        return await self._one(self._calls.area(code))

    def areas(
        self,
        *,
        type: str | None = None,
        vintage: str | None = None,
        parent: str | m.Record | None = None,
        active_on: Day | None = None,
        q: str | None = None,
        page_size: int | None = None,
    ) -> AsyncResults[m.AreaSummary]:
        return AsyncResults(
            self.session,
            self._calls.areas(type=type, vintage=vintage, parent=parent, active_on=active_on, q=q, page_size=page_size),
        )

    def children(
        self, area: str | m.Record, *, type: str | None = None, vintage: str | None = None, page_size: int | None = None
    ) -> AsyncResults[m.AreaSummary]:
        return AsyncResults(self.session, self._calls.children(area, type=type, vintage=vintage, page_size=page_size))

    def ancestors(self, area: str | m.Record, *, vintage: str | None = None) -> AsyncResults[m.Ancestor]:
        return AsyncResults(self.session, self._calls.ancestors(area, vintage=vintage))

    def point(self, lat: float, lon: float, *, vintage: str | Iterable[str] | None = None) -> AsyncResults[m.PointArea]:
        return AsyncResults(self.session, self._calls.point(lat, lon, vintage=vintage))

    async def successors(self, code: str | m.Record, *, current: bool = False) -> list[m.AreaChange]:
        found = (await self.area(code)).successors
        if not current:
            return found
        out: dict[str, m.AreaChange] = {}
        for _ in range(SUCCESSOR_DEPTH):
            pending = []
            for change in found:
                area = await self.area(change.code)
                if area.successors and area.status != "live":
                    pending.extend(area.successors)
                else:
                    out.setdefault(change.code, change)
            if not pending:
                return list(out.values())
            found = pending
        raise LevelUpError(f"the successors of {code_of(code)} go on for more than {SUCCESSOR_DEPTH} changes")

    def area_types(self) -> AsyncResults[m.AreaType]:
        return AsyncResults(self.session, self._calls.area_types())

    def vintages(self, *, type: str | None = None) -> AsyncResults[m.Vintage]:
        return AsyncResults(self.session, self._calls.vintages(type=type))

    def indicators(
        self,
        *,
        q: str | None = None,
        topic: str | None = None,
        capital: str | None = None,
        measure: str | None = None,
        polarity: str | None = None,
        type: str | None = None,
    ) -> AsyncResults[m.Indicator]:
        return AsyncResults(
            self.session,
            self._calls.indicators(q=q, topic=topic, capital=capital, measure=measure, polarity=polarity, type=type),
        )

    async def indicator(self, slug: str) -> m.Indicator:
        return await self._one(self._calls.indicator(slug))

    def periods(self, *, indicator: str | None = None) -> AsyncResults[m.Period]:
        return AsyncResults(self.session, self._calls.periods(indicator=indicator))

    def observations(
        self,
        indicator: Codes | None = None,
        *,
        area: Codes | None = None,
        type: str | None = None,
        vintage: str | None = None,
        parent: str | m.Record | None = None,
        period: Codes | None = None,
        period_from: Day | None = None,
        period_to: Day | None = None,
        status: str | None = None,
        as_of: Day | None = None,
        harmonise: bool = False,
        explain: bool = False,
        page_size: int | None = None,
    ) -> AsyncResults[m.Observation]:
        return AsyncResults(
            self.session,
            self._calls.observations(
                indicator=indicator,
                area=area,
                type=type,
                vintage=vintage,
                parent=parent,
                period=period,
                period_from=period_from,
                period_to=period_to,
                status=status,
                as_of=as_of,
                harmonise=harmonise,
                explain=explain,
                page_size=page_size,
            ),
        )

    def aggregate(
        self,
        indicator: str,
        *,
        from_type: str | None = None,
        from_vintage: str | None = None,
        to_type: str | None = None,
        to_vintage: str | None = None,
        period: Codes | None = None,
        method: str | None = None,
        weight: str | None = None,
        weight_period: str | None = None,
        parent: str | m.Record | None = None,
        min_coverage: float | None = None,
    ) -> AsyncResults[m.AggregateValue]:
        return AsyncResults(
            self.session,
            self._calls.aggregate(
                indicator,
                from_type=from_type,
                from_vintage=from_vintage,
                to_type=to_type,
                to_vintage=to_vintage,
                period=period,
                method=method,
                weight=weight,
                weight_period=weight_period,
                parent=parent,
                min_coverage=min_coverage,
            ),
        )

    def series(
        self, area: str | m.Record, indicator: str, *, vintage: str | None = None, explain: bool = False
    ) -> AsyncResults[m.SeriesPoint]:
        return AsyncResults(self.session, self._calls.series(area, indicator, vintage=vintage, explain=explain))

    def profile(
        self, area: str | m.Record, *, level: float | None = None, summaries: bool = False
    ) -> AsyncResults[m.ProfileRow]:
        return AsyncResults(self.session, self._calls.profile(area, level=level, summaries=summaries))

    def profiles(
        self, parent: str | m.Record, *, type: str | None = None, vintage: str | None = None, level: float | None = None
    ) -> AsyncResults[m.ProfileRow]:
        return AsyncResults(self.session, self._calls.profiles(parent, type=type, vintage=vintage, level=level))

    async def custom_area(self, id: str) -> dict[str, Any]:
        return await self._one(self._calls.custom_area(id))

    def custom_area_observations(
        self,
        id: str,
        indicator: Codes,
        *,
        period: Codes | None = None,
        method: str | None = None,
        weight: str | None = None,
        weight_period: str | None = None,
        min_coverage: float | None = None,
    ) -> AsyncResults[m.AggregateValue]:
        return AsyncResults(
            self.session,
            self._calls.custom_area_observations(
                id,
                indicator,
                period=period,
                method=method,
                weight=weight,
                weight_period=weight_period,
                min_coverage=min_coverage,
            ),
        )

    async def create_custom_area(
        self,
        name: str,
        *,
        token: str,
        codes: Iterable[str] | None = None,
        geometry: dict | None = None,
        method: str | None = None,
        vintage: str | None = None,
    ) -> dict[str, Any]:
        body = {
            "name": name,
            "codes": list(codes) if codes is not None else None,
            "geometry": geometry,
            "method": method,
            "vintage": vintage,
        }
        response = await self.session.send(
            "POST",
            "/api/v1/custom-areas/",
            json={k: v for k, v in body.items() if v is not None},
            headers={"Authorization": f"Token {token}"},
            cache=False,
        )
        return response.json()

    def datasets(self) -> AsyncResults[m.Dataset]:
        return AsyncResults(self.session, self._calls.datasets())

    def dataset(self, slug: str) -> AsyncDatasetRef:
        return AsyncDatasetRef(self, slug)

    async def snapshot(self, *, format: str = "parquet", columns: list[str] | None = None):
        suffix = suffix_of(format)
        path, expected = _snapshot_file(await self.session.get_json(self._calls.datasets().path), format)
        file, kept = await afetch(self.session, path, expected, suffix)
        return read_table(file, kept, format, expected, columns=columns)


class AsyncDatasetRef:
    def __init__(self, client: AsyncClient, slug: str) -> None:
        self.client, self.slug = client, slug

    async def info(self) -> m.Dataset:
        return await self.client._one(self.client._calls.dataset(self.slug))

    async def releases(self) -> list[m.Release]:
        return list((await self.info()).releases or [])

    async def release(self, *, release: int | None = None, as_of: Day | None = None) -> m.Release:
        return _choose(self.client, await self.info(), release, as_of)

    async def download(
        self,
        format: str = "parquet",
        *,
        release: int | None = None,
        as_of: Day | None = None,
        columns: list[str] | None = None,
    ):
        suffix = suffix_of(format)
        chosen = _choose(self.client, await self.info(), release, as_of)
        download = _file(chosen, format)
        if download is None:
            download = _file(await self.client._one(self.client._calls.release(self.slug, chosen.id)), format)
        path, expected = _target(self.client._calls, self.slug, chosen, download, format)
        file, kept = await afetch(self.client.session, path, expected, suffix)
        return read_table(file, kept, format, expected, columns=columns)
