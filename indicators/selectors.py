"""Reads for indicators and observations, shared by REST and GraphQL."""

from __future__ import annotations

import datetime as dt
import functools
import re
from collections.abc import Iterator

from django.conf import settings
from django.contrib.postgres.expressions import ArraySubquery
from django.core.exceptions import EmptyResultSet
from django.db import connection
from django.db.models import Exists, OuterRef, Prefetch, Q, QuerySet, Value
from django.db.models.functions import NullIf

from geographies.models import Area, AreaAncestor, AreaMembership, AreaType, Vintage
from levelup_api.core.caching import data_version
from levelup_api.core.params import ParameterError

from .current import current_release_ids, releases_as_of
from .models import Coverage, Dataset, Indicator, Observation, Period, Release

LATEST = re.compile(r"^latest(?:-(\d+))?$")
YEAR = re.compile(r"^\d{4}$")
OBSERVATION_COLUMNS = ["area_code", "area_name", "indicator", "period", "period_iso", "value", "lci", "uci", "status"]


# The one parameter error (levelup_api.core.params); this name is kept for the callers that catch it.
ObservationQueryError = ParameterError


def indicator_list() -> QuerySet[Indicator]:
    return Indicator.objects.select_related("dataset").prefetch_related("dataset__publishers").order_by("slug")


INDICATOR_ROW_COLUMNS = ["slug", "title", "subtitle", "measure", "unit", "unit_symbol", "decimal_places", "polarity",
                         "aggregation", "topics", "capitals", "experimental", "dataset", "source", "licence",
                         "source_url"]


def indicator_base() -> QuerySet[Indicator]:
    return Indicator.objects.order_by("slug")


def indicator_list_rows(qs: QuerySet[Indicator]) -> QuerySet:
    """Tuples of INDICATOR_ROW_COLUMNS for the indicators of `qs`, in its order: one statement (the
    dataset joined, its publishers' names as an array in the order they were linked)."""
    publishers = Dataset.publishers.through.objects.filter(dataset_id=OuterRef("dataset_id")).order_by("id")
    return qs.annotate(publisher_names=ArraySubquery(publishers.values("publisher__name"))).values_list(
        "slug", "title", "subtitle", "measure", "unit", "unit_symbol", "decimal_places", "polarity", "aggregation",
        "topics", "capitals", "experimental", "dataset__slug", "publisher_names", "dataset__licence",
        "dataset__source_url")


def indicator_get(*, slug: str) -> Indicator | None:
    return (
        indicator_list()
        .prefetch_related(
            Prefetch("dataset__releases", queryset=Release.objects.filter(state=Release.State.PUBLISHED)
                     .order_by("-release_date", "-id")),
            Prefetch("coverage", queryset=Coverage.objects.select_related("period", "area_type")
                     .order_by("area_type__level", "period__start")),
        )
        .filter(slug=slug)
        .first()
    )


def availability(indicator: Indicator) -> list[dict]:
    """Area types and the periods they have values for (from the prefetched coverage)."""
    by_type: dict[str, dict] = {}
    for c in indicator.coverage.all():
        entry = by_type.setdefault(c.area_type.code, {"area_type": c.area_type.code, "periods": []})
        entry["periods"].append({"period": c.period.label, "iso": c.period.iso, "areas": c.areas})
    return list(by_type.values())


PERIOD_ROW_COLUMNS = ["iso", "label", "type", "start", "end", "duration"]


def period_rows(qs: QuerySet[Period]) -> QuerySet:
    """Tuples of PERIOD_ROW_COLUMNS for the periods of `qs` (period_list), in its order."""
    return qs.values_list(*PERIOD_ROW_COLUMNS)


def period_list(*, indicator: Indicator | None = None) -> QuerySet[Period]:
    qs = Period.objects.all()
    if indicator is not None:
        qs = qs.filter(id__in=Coverage.objects.filter(indicator=indicator).values("period"))
    return qs.order_by("start", "end")


def observation_base() -> QuerySet[Observation]:
    return Observation.objects.all()


MAX_LATEST_BACK = 50


def _latest_candidates(indicator_ids: list[int], *, area_ids: list[int] = (), area_type: AreaType | None = None,
                       vintage: Vintage | None = None) -> tuple[tuple[int, tuple[int, ...]], ...]:
    """Per indicator, its periods newest first, keeping only periods with a value for one of the
    areas asked: the `area` codes, the areas in `vintage`, or the areas held in a vintage of `type`.
    They change only with the data: remembered per data version (_latest_periods) where the
    process keeps derived documents (LEVELUP["PROFILE_CACHE"]; tests write without a new version)."""
    key = (tuple(indicator_ids), tuple(area_ids), area_type.id if area_type is not None else None,
           vintage.id if vintage is not None else None)
    if settings.LEVELUP["PROFILE_CACHE"]:
        return _latest_periods(data_version(), *key)
    return _latest_periods.__wrapped__(None, *key)


@functools.lru_cache(maxsize=1024)
def _latest_periods(version: float | None, indicator_ids: tuple[int, ...], area_ids: tuple[int, ...],
                    area_type_id: int | None, vintage_id: int | None) -> tuple[tuple[int, tuple[int, ...]], ...]:
    """_latest_candidates in one statement: an EXISTS probe of the observation key per candidate
    period (`version` only keys the memo)."""
    rows = Coverage.objects.filter(indicator_id__in=indicator_ids)
    probe = Observation.objects.filter(indicator_id=OuterRef("indicator_id"), period_id=OuterRef("period_id"),
                                       release_id__in=current_release_ids(indicator_ids))
    if area_ids:
        probe = probe.filter(area_id__in=list(area_ids))
    if vintage_id is not None:
        probe = probe.filter(Exists(AreaMembership.objects.filter(area_id=OuterRef("area_id"), vintage_id=vintage_id)))
    elif area_type_id is not None:
        probe = probe.filter(Exists(AreaMembership.objects.filter(area_id=OuterRef("area_id"),
                                                                  vintage__area_type_id=area_type_id)))
    if area_ids or vintage_id is not None or area_type_id is not None:
        rows = rows.filter(Exists(probe))
    # Ties (two periods with one start and end) by id, newest first: GraphQL's compiled SQL says the same.
    periods: dict[int, list[int]] = {}
    for ind, per in rows.order_by("indicator_id", "-period__end", "-period__start", "-period_id").values_list(
            "indicator_id", "period_id"):
        if per not in periods.setdefault(ind, []):
            periods[ind].append(per)
    return tuple((ind, tuple(pers)) for ind, pers in periods.items())


def _resolve_periods(tokens: list[str], indicator_ids: list[int], *, area_ids: list[int] = (),
                     area_type: AreaType | None = None, vintage: Vintage | None = None) -> Q:
    """A Q over (indicator, period) for period tokens: ISO, label, year, latest, latest-N. `latest`
    is per indicator and for the areas asked (see _latest_candidates)."""
    q = Q(pk__in=[])
    fixed: list[str] = []
    for token in tokens:
        m = LATEST.match(token.lower())
        if not m:
            fixed.append(token)
            continue
        if not indicator_ids:
            raise ObservationQueryError("period", f"{token!r} needs `indicator`: latest is per indicator")
        back = int(m.group(1) or 0)
        if back > MAX_LATEST_BACK:
            raise ObservationQueryError("period", f"latest-N goes back at most {MAX_LATEST_BACK} periods, got {token!r}")
        for ind, pers in _latest_candidates(indicator_ids, area_ids=area_ids, area_type=area_type, vintage=vintage):
            if back < len(pers):
                q |= Q(indicator_id=ind, period_id=pers[back])
    if fixed:
        match = Q(pk__in=[])
        for token in fixed:
            match |= Q(iso=token) | Q(label=token)
            if YEAR.match(token):
                match |= Q(start__year=int(token))
        ids = list(Period.objects.filter(match).values_list("id", flat=True))
        if not ids:
            raise ObservationQueryError("period", f"no period matches {', '.join(fixed)}; see /api/v1/periods/")
        q |= Q(period_id__in=ids)
    return q


def observation_filter(
    qs: QuerySet[Observation], *, indicators: list[str] = (), areas: list[str] = (),
    area_type: AreaType | None = None, vintage: Vintage | None = None, parent: Area | None = None,
    periods: list[str] = (), period_from: dt.date | None = None, period_to: dt.date | None = None,
    status: str | None = None, as_of: dt.date | None = None, release: int | None = None,
) -> QuerySet[Observation]:
    indicator_ids: list[int] = []
    if indicators:
        found = dict(Indicator.objects.filter(slug__in=indicators).values_list("slug", "id"))
        missing = [s for s in indicators if s not in found]
        if missing:
            raise ObservationQueryError("indicator", f"unknown indicator(s) {', '.join(missing)}; see /api/v1/indicators/")
        indicator_ids = list(found.values())
        qs = qs.filter(indicator_id__in=indicator_ids)
    area_ids: list[int] = []
    if areas:
        found = dict(Area.objects.filter(code__in=areas).values_list("code", "id"))
        missing = [c for c in areas if c not in found]
        if missing:
            raise ObservationQueryError("area", f"unknown area code(s) {', '.join(missing)}")
        area_ids = list(found.values())
        qs = qs.filter(area_id__in=area_ids)
    if vintage is not None:
        if area_type is not None and vintage.area_type_id != area_type.id:
            raise ObservationQueryError("vintage", f"{vintage.code} is a {vintage.area_type.code} vintage, not {area_type.code}")
        qs = qs.filter(Exists(AreaMembership.objects.filter(area_id=OuterRef("area_id"), vintage=vintage)))
    elif area_type is not None:
        qs = qs.filter(Exists(AreaMembership.objects.filter(area_id=OuterRef("area_id"), vintage__area_type=area_type)))
    if parent is not None:
        rows = AreaAncestor.objects.filter(ancestor=parent, descendant_id=OuterRef("area_id"))
        if vintage is not None:
            rows = rows.filter(descendant_vintage=vintage)
        qs = qs.filter(Exists(rows))
    if periods:
        qs = qs.filter(_resolve_periods(periods, indicator_ids, area_ids=area_ids, area_type=area_type, vintage=vintage))
    if period_from:
        qs = qs.filter(period__end__gte=period_from)
    if period_to:
        qs = qs.filter(period__start__lte=period_to)
    if status:
        qs = qs.filter(status=status)
    # Which releases' partitions to read, named as constants so that the planner reads only those.
    if release:
        if not Release.objects.filter(id=release, state=Release.State.PUBLISHED).exists():
            raise ObservationQueryError("release", f"no published release {release}; see /api/v1/datasets/")
        qs = qs.filter(release_id=release)
    elif as_of:
        qs = qs.filter(release_id__in=releases_as_of(as_of))
    else:  # the releases holding the indicators' current values (all current ones if none is named)
        qs = qs.filter(release_id__in=current_release_ids(indicator_ids or None))
    return qs


def observation_rows(qs: QuerySet[Observation]) -> QuerySet:
    """Long-format rows as tuples, in OBSERVATION_COLUMNS order, in key order (for cursors)."""
    return qs.order_by("indicator_id", "period_id", "area_id").values_list(
        "area__code", "area__name", "indicator__slug", "period__label", "period__iso", "value", "lci", "uci", "status",
        "indicator_id", "period_id", "area_id",
    )


def observation_page(qs: QuerySet[Observation], *, after: tuple[int, int, int] | None, size: int) -> list[tuple]:
    rows = observation_rows(qs)
    if after is not None:
        # Keyset pagination on the unique key: constant time per page however deep.
        rows = rows.extra(where=["(indicators_observation.indicator_id, indicators_observation.period_id, "
                                 "indicators_observation.area_id) > (%s, %s, %s)"], params=list(after))
    return list(rows[: size + 1])


CSV_BLOCK_BYTES = 64 * 1024


def observation_csv_copy(qs: QuerySet[Observation]) -> Iterator[bytes]:
    """The whole result as CSV straight from PostgreSQL's COPY: nothing is built in Python. The
    query is compiled here, before a response streams: a failure then is still an error response,
    not a body cut short."""
    header = ",".join(OBSERVATION_COLUMNS)
    # NULLIF: COPY writes an empty string as "" in CSV; a blank status should be an empty field.
    try:
        sql, params = observation_rows(qs).annotate(status_csv=NullIf("status", Value(""))).values_list(
            "area__code", "area__name", "indicator__slug", "period__label", "period__iso", "value", "lci", "uci",
            "status_csv").query.sql_with_params()
    except EmptyResultSet:  # a filter that matches nothing by construction (period=latest with no values)
        return iter([(header + "\n").encode()])
    return _csv_copy_blocks(sql, params, header)


def _csv_copy_blocks(sql: str, params, header: str) -> Iterator[bytes]:
    with connection.cursor() as cursor:
        raw = cursor.cursor
        inner = raw.mogrify(sql, params) if params else sql
        with raw.copy(f"COPY ({inner}) TO STDOUT WITH (FORMAT csv)") as copy:
            # COPY hands over one row per chunk: sending each as its own write costs more than the
            # query, so rows are gathered into blocks of about 64 KiB.
            block = bytearray((header + "\n").encode())
            for chunk in copy:
                block += chunk
                if len(block) >= CSV_BLOCK_BYTES:
                    yield bytes(block)
                    block.clear()
            yield bytes(block)


def observations_by_area(*, area_ids: list[int], indicators: list[str], periods: list[str] = ()) -> dict[int, list]:
    """Current observations for many areas in one query, grouped by area (for GraphQL batching)."""
    qs = observation_filter(Observation.objects.filter(area_id__in=area_ids), indicators=indicators, periods=periods)
    # The query select_related("indicator", "area", "period") would run, read as tuples, so that each
    # indicator, area and period is built once and shared by its observations rather than once per
    # row: a quarter of the model instances (300 areas x 3 indicators: about a third faster).
    own = [f.attname for f in Observation._meta.concrete_fields]
    columns, related, start = list(own), [], len(own)
    for name, model in (("indicator", Indicator), ("area", Area), ("period", Period)):
        fields = model._meta.concrete_fields
        columns += [f"{name}__{f.attname}" for f in fields]
        related.append((Observation._meta.get_field(name), model, start, start + len(fields),
                        start + fields.index(model._meta.pk), {}))
        start += len(fields)
    # Periods with one start by end, then id, so that the order never depends on the plan (and is
    # the order indicators/graphql_sql.py writes).
    rows = qs.order_by("area_id", "indicator__slug", "period__start", "period__end", "period_id").values_list(*columns)
    db = rows.db
    out: dict[int, list] = {}
    for row in rows:
        o = Observation.from_db(db, own, row[: len(own)])
        for fk, model, first, end, pk, shared in related:
            obj = shared.get(row[pk])
            if obj is None:
                obj = shared[row[pk]] = model.from_db(db, None, row[first:end])
            fk.set_cached_value(o, obj)
        out.setdefault(o.area_id, []).append(o)
    return out
