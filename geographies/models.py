"""UK statistical geography: area types, boundary versions (vintages), areas keyed by GSS code,
hierarchies per vintage, code history and boundaries.

Derived tables (AreaAncestor, BoundaryPiece, Area.active_from/active_to/area_type) are rebuilt
by an explicit service step after each load (geographies.services.derived_rebuild), never in save().
"""

import uuid

from django.contrib.gis.db import models as gis
from django.contrib.postgres.fields import ArrayField
from django.contrib.postgres.indexes import GinIndex, GistIndex
from django.db import models
from django.db.models import F, Q
from simple_history.models import HistoricalRecords


class AreaType(models.Model):
    """A kind of area (LSOA, LAD, region...), with the GSS entity codes that belong to it."""

    code = models.CharField(max_length=16, unique=True, help_text="Short code, e.g. LSOA, LAD, RGN.")
    name = models.CharField(max_length=120)
    description = models.TextField(blank=True)
    entity_codes = ArrayField(
        models.CharField(max_length=3), default=list, blank=True,
        help_text="GSS entity codes (first three characters) of areas of this type, e.g. E06, E07.",
    )
    code_pattern = models.CharField(
        max_length=80, blank=True,
        help_text="Regular expression for codes that are not GSS codes (ITL: ^TL[C-N]$).",
    )
    level = models.PositiveSmallIntegerField(
        help_text="Position in the size order: smaller numbers are smaller areas (LSOA 10, UK 100)."
    )
    history = HistoricalRecords()

    class Meta:
        ordering = ["level", "code"]

    def __str__(self) -> str:
        return f"{self.code} ({self.name})"


class Vintage(models.Model):
    """One boundary version of an area type, e.g. LAD23 = Local Authority Districts (May 2023)."""

    code = models.CharField(max_length=16, unique=True)
    area_type = models.ForeignKey(AreaType, on_delete=models.PROTECT, related_name="vintages")
    name = models.CharField(max_length=160)
    effective_from = models.DateField(help_text="Date from which this set of codes and boundaries applies.")
    effective_to = models.DateField(
        null=True, blank=True, help_text="Day before the next vintage of the same type took effect (derived)."
    )
    notes = models.TextField(blank=True)
    area_count = models.PositiveIntegerField(default=0, help_text="Areas in this vintage (derived).")
    boundary_count = models.PositiveIntegerField(default=0, help_text="Boundaries held for it (derived).")
    history = HistoricalRecords(excluded_fields=["area_count", "boundary_count", "effective_to"])

    class Meta:
        ordering = ["area_type__level", "effective_from", "code"]
        constraints = [
            models.CheckConstraint(
                condition=Q(effective_to__isnull=True) | Q(effective_to__gte=F("effective_from")),
                name="vintage_valid_date_range",
            )
        ]

    def __str__(self) -> str:
        return self.code


class Area(models.Model):
    """A GSS-coded area. Codes are never reused, so one row per code across all vintages."""

    code = models.CharField(max_length=12, unique=True)
    name = models.CharField(max_length=200, help_text="Name in the latest vintage that holds the code.")
    name_cy = models.CharField(max_length=200, blank=True, help_text="Welsh name, where ONS publishes one.")
    entity = models.CharField(max_length=3, db_index=True, help_text="GSS entity code, e.g. E06.")
    area_type = models.ForeignKey(
        AreaType, on_delete=models.PROTECT, related_name="areas",
        help_text="Primary type, from the entity code (an E06 unitary is a LAD first, and also a UTLA).",
    )
    active_from = models.DateField(null=True, blank=True)
    active_to = models.DateField(null=True, blank=True, help_text="Last day the code was in force; null if live.")
    vintages = models.ManyToManyField(Vintage, through="AreaMembership", related_name="areas")
    history = HistoricalRecords()

    class Meta:
        ordering = ["code"]
        indexes = [
            GinIndex(name="area_name_trgm", fields=["name"], opclasses=["gin_trgm_ops"]),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(active_to__isnull=True) | Q(active_from__isnull=True) | Q(active_to__gte=F("active_from")),
                name="area_valid_active_range",
            )
        ]

    def __str__(self) -> str:
        return f"{self.code} {self.name}"


class AreaMembership(models.Model):
    """An area's presence in a vintage, with the name it had there."""

    area = models.ForeignKey(Area, on_delete=models.CASCADE, related_name="memberships")
    vintage = models.ForeignKey(Vintage, on_delete=models.CASCADE, related_name="memberships")
    name = models.CharField(max_length=200)
    name_cy = models.CharField(max_length=200, blank=True)
    source = models.CharField(max_length=120, help_text="Source mapping that first recorded it.")

    class Meta:
        constraints = [models.UniqueConstraint(fields=["area", "vintage"], name="membership_unique")]
        indexes = [models.Index(fields=["vintage", "area"])]

    def __str__(self) -> str:
        return f"{self.area_id} in {self.vintage_id}"


class Fit(models.TextChoices):
    EXACT = "exact", "Exact"
    BEST_FIT = "best_fit", "Best fit"


class AreaLink(models.Model):
    """A direct parent link within a hierarchy: child (in child_vintage) lies in parent (in parent_vintage)."""

    child = models.ForeignKey(Area, on_delete=models.CASCADE, related_name="parent_links")
    child_vintage = models.ForeignKey(Vintage, on_delete=models.CASCADE, related_name="+")
    parent = models.ForeignKey(Area, on_delete=models.CASCADE, related_name="child_links")
    parent_vintage = models.ForeignKey(Vintage, on_delete=models.CASCADE, related_name="+")
    fit = models.CharField(max_length=8, choices=Fit.choices, default=Fit.EXACT)
    source = models.CharField(max_length=120)
    history = HistoricalRecords()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["child", "child_vintage", "parent_vintage"], name="link_one_parent_per_vintage"),
            # A unitary authority is its own upper tier: same area, different vintages is fine.
            models.CheckConstraint(
                condition=~Q(child=F("parent"), child_vintage=F("parent_vintage")), name="link_not_self"
            ),
        ]
        indexes = [models.Index(fields=["parent", "parent_vintage"])]

    def __str__(self) -> str:
        return f"{self.child_id}@{self.child_vintage_id} -> {self.parent_id}@{self.parent_vintage_id}"


class AreaAncestor(models.Model):
    """Transitive closure of AreaLink along vintage-consistent paths (derived; rebuilt after loads)."""

    # Derived from AreaLink (which has the constraints) and rebuilt whole: no FK triggers or
    # single-column indexes to maintain for 700k rows; the composite indexes below cover lookups.
    descendant = models.ForeignKey(Area, on_delete=models.DO_NOTHING, related_name="+", db_constraint=False,
                                   db_index=False)
    descendant_vintage = models.ForeignKey(Vintage, on_delete=models.DO_NOTHING, related_name="+",
                                           db_constraint=False, db_index=False)
    ancestor = models.ForeignKey(Area, on_delete=models.DO_NOTHING, related_name="+", db_constraint=False,
                                 db_index=False)
    ancestor_vintage = models.ForeignKey(Vintage, on_delete=models.DO_NOTHING, related_name="+",
                                         db_constraint=False, db_index=False)
    depth = models.PositiveSmallIntegerField()
    fit = models.CharField(max_length=8, choices=Fit.choices)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["descendant", "descendant_vintage", "ancestor", "ancestor_vintage"], name="ancestor_unique"
            )
        ]
        indexes = [
            models.Index(fields=["ancestor", "descendant_vintage", "descendant"]),
            # Which vintages a vintage's areas are linked into (indicators.aggregation's routes between
            # vintages): a probe per pair, where the table's 730k rows were scanned (200 ms a question).
            models.Index(fields=["descendant_vintage", "ancestor_vintage"], name="ancestor_vintage_pairs"),
        ]

    def __str__(self) -> str:
        return f"{self.descendant_id}@{self.descendant_vintage_id} in {self.ancestor_id}@{self.ancestor_vintage_id}"


class ChangeType(models.TextChoices):
    UNCHANGED = "U", "unchanged"
    SPLIT = "S", "split"
    MERGED = "M", "merged"
    IRREGULAR = "X", "irregular"


class AreaChange(models.Model):
    """Code history: predecessor -> successor, ONS change type, date, and weight where the source has one."""

    predecessor = models.ForeignKey(Area, on_delete=models.CASCADE, related_name="successor_changes")
    successor = models.ForeignKey(Area, on_delete=models.CASCADE, related_name="predecessor_changes")
    change_type = models.CharField(max_length=1, choices=ChangeType.choices)
    effective_date = models.DateField()
    from_vintage = models.ForeignKey(Vintage, on_delete=models.CASCADE, null=True, blank=True, related_name="+")
    to_vintage = models.ForeignKey(Vintage, on_delete=models.CASCADE, null=True, blank=True, related_name="+")
    weight = models.DecimalField(max_digits=9, decimal_places=8, null=True, blank=True,
                                 help_text="Share of the predecessor going to the successor, if published.")
    source = models.CharField(max_length=120)
    history = HistoricalRecords()

    class Meta:
        ordering = ["effective_date", "predecessor__code"]
        constraints = [
            models.UniqueConstraint(fields=["predecessor", "successor"], name="change_unique_pair"),
            models.CheckConstraint(condition=Q(weight__isnull=True) | Q(weight__gte=0, weight__lte=1),
                                   name="change_weight_share"),
        ]
        indexes = [models.Index(fields=["successor"])]

    def __str__(self) -> str:
        return f"{self.predecessor_id} -> {self.successor_id} ({self.change_type})"


class AreaLifespan(models.Model):
    """Start and end dates of a code as a source states them (a register, or a termination event)."""

    area = models.ForeignKey(Area, on_delete=models.CASCADE, related_name="lifespans")
    start = models.DateField(null=True, blank=True)
    end = models.DateField(null=True, blank=True, help_text="Last day in force.")
    source = models.CharField(max_length=120)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["area", "source"], name="lifespan_one_per_source")]

    def __str__(self) -> str:
        return f"{self.area_id}: {self.start or '?'} to {self.end or '?'} ({self.source})"


class Boundary(models.Model):
    """The boundary of an area in one vintage (EPSG:4326)."""

    area = models.ForeignKey(Area, on_delete=models.CASCADE, related_name="boundaries")
    vintage = models.ForeignKey(Vintage, on_delete=models.CASCADE, related_name="boundaries")
    geom = gis.MultiPolygonField(srid=4326, spatial_index=True)
    resolution = models.CharField(max_length=16, help_text="BFC, BGC, BSC, BUC or 'simplified'.")
    source = models.CharField(max_length=120)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["area", "vintage"], name="boundary_unique")]
        indexes = [models.Index(fields=["vintage", "area"])]
        verbose_name_plural = "boundaries"

    def __str__(self) -> str:
        return f"{self.area_id} @ {self.vintage_id}"


class BoundaryPiece(models.Model):
    """ST_Subdivide pieces of each boundary (derived): small polygons keep point-in-polygon fast
    on full-detail boundaries, since the GiST index then prunes to a few tiny candidates."""

    boundary = models.ForeignKey(Boundary, on_delete=models.CASCADE, related_name="+")
    area = models.ForeignKey(Area, on_delete=models.CASCADE, related_name="+")
    vintage = models.ForeignKey(Vintage, on_delete=models.CASCADE, related_name="+")
    area_type = models.ForeignKey(AreaType, on_delete=models.CASCADE, related_name="+")
    geom = gis.PolygonField(srid=4326, spatial_index=True)
    is_default = models.BooleanField(
        default=False, help_text="In the newest vintage with boundaries of its type (derived): what a point "
        "lookup without a vintage searches, through its own smaller index.",
    )
    # Copies of what a point lookup returns (derived), so the hot path reads one table.
    code = models.CharField(max_length=12, blank=True)
    name = models.CharField(max_length=200, blank=True)
    type_code = models.CharField(max_length=16, blank=True)
    type_name = models.CharField(max_length=120, blank=True)
    vintage_code = models.CharField(max_length=16, blank=True)
    level = models.PositiveSmallIntegerField(default=0)

    class Meta:
        indexes = [
            GistIndex(fields=["geom"], condition=Q(is_default=True), name="piece_default_geom"),
        ]

    def __str__(self) -> str:
        return f"piece of {self.boundary_id}"


class CustomArea(models.Model):
    """A user's own area, made of small areas (LSOAs or MSOAs) with a weight each: 1 for a listed
    code or a small area whose representative point lies in a drawn polygon, the share of its area
    inside the polygon for `overlap`. Public to read by id; created by authenticated users."""

    class Method(models.TextChoices):
        CODES = "codes"
        CENTROID = "centroid"
        OVERLAP = "overlap"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    name = models.CharField(max_length=200)
    method = models.CharField(max_length=10, choices=Method.choices)
    vintage = models.ForeignKey(Vintage, on_delete=models.PROTECT, related_name="+")
    geometry = gis.MultiPolygonField(srid=4326, null=True, blank=True)
    created_by = models.ForeignKey("auth.User", on_delete=models.SET_NULL, null=True, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"{self.name} ({self.id})"


class CustomAreaMember(models.Model):
    custom_area = models.ForeignKey(CustomArea, on_delete=models.CASCADE, related_name="members")
    area = models.ForeignKey(Area, on_delete=models.CASCADE, related_name="+")
    weight = models.FloatField(help_text="1, or the share of the small area inside the polygon (overlap).")

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["custom_area", "area"], name="custom_member_unique"),
            models.CheckConstraint(condition=Q(weight__gt=0, weight__lte=1), name="custom_member_weight"),
        ]

    def __str__(self) -> str:
        return f"{self.custom_area_id}: {self.area_id} x {self.weight:g}"
