"""What the areas list's CSV columns mean, for its CSVW metadata, and the areas list as the table
every other CSV's `area_code` references (levelup_api.core.csvw builds the documents)."""

from __future__ import annotations

from django.urls import reverse

from levelup_api.core import csvw
from levelup_api.core.csvw import Column
from levelup_api.core.models import IngestRun
from levelup_api.core.views import LICENCE

from .selectors import AREA_CSV_COLUMNS
from .services import DATASET

AREA_COLUMNS = [
    Column(
        "code",
        "string",
        "GSS code (nine characters, e.g. E06000009); one row per code across all vintages.",
        required=True,
    ),
    Column("name", "string", "Name in the latest vintage that holds the code."),
    Column("name_cy", "string", "Welsh name, where there is one."),
    Column("type", "string", "Primary area type (LSOA, MSOA, LAD, RGN ...; /api/v1/area-types/)."),
    Column("entity", "string", "GSS entity code: the code's first three characters (E06 unitary authority ...)."),
    Column("active_from", "date", "First day the code was in force (YYYY-MM-DD), where known."),
    Column("active_to", "date", "Last day the code was in force (YYYY-MM-DD); empty while it is live."),
]
assert [c.name for c in AREA_COLUMNS] == AREA_CSV_COLUMNS
SOURCE = (
    "ONS Open Geography Portal code lists, lookups and boundaries and the ONS boundary-change records, as "
    "loaded from the files named in fixtures/geographies/sources/"
)


def areas_list_url(request) -> str:
    """The whole areas list as CSV: the table that `area_code` columns reference."""
    return request.build_absolute_uri(reverse("area-list") + "?format=csv")


def area_code_key(request, column: str = "area_code") -> dict:
    return csvw.foreign_key(column, resource=areas_list_url(request), reference="code")


def areas_table(request) -> dict:
    """The areas list as the referenced table of a group (not repeated in a csv2json output)."""
    return csvw.table(
        areas_list_url(request),
        AREA_COLUMNS,
        title="Areas: every GSS code held, live and ended",
        primary_key="code",
        suppress_output=True,
    )


def geographies_modified() -> str | None:
    """The day geography data was last loaded (one statement)."""
    finished = (
        IngestRun.objects.filter(dataset=DATASET, state=IngestRun.State.SUCCEEDED, dry_run=False)
        .order_by("-finished_at")
        .values_list("finished_at", flat=True)
        .first()
    )
    return finished.date().isoformat() if finished else None


def areas_metadata(request) -> dict:
    """The areas list CSV's metadata (the list it describes is the one its query asks for)."""
    table = csvw.table(
        csvw.csv_url(request),
        AREA_COLUMNS,
        title="Areas",
        primary_key="code",
        description="Areas by GSS code, filtered as the query says.",
    )
    return csvw.table_group(
        [table], title="Areas (GSS codes)", licence=LICENCE, source=SOURCE, modified=geographies_modified()
    )
