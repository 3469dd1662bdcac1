"""Statistics: publishers, datasets and their releases, indicators with their metadata, typed
ISO 8601 periods, and observations (value, 95% CI, status) for an area, period and release.

Observations are designed for 10^8 rows: integer keys for indicator/period/release, double for
the value, real for the confidence limits, a one-letter status, and a partial unique index that is
also the fast path to current values.
"""

from django.contrib.postgres.fields import ArrayField
from django.db import models
from django.db.models import F, Q
from simple_history.models import HistoricalRecords

from geographies.models import Area


class Publisher(models.Model):
    name = models.CharField(max_length=200, unique=True)
    url = models.URLField(blank=True)

    def __str__(self) -> str:
        return self.name


class Dataset(models.Model):
    slug = models.SlugField(max_length=120, unique=True)
    title = models.CharField(max_length=300)
    description = models.TextField(blank=True)
    publishers = models.ManyToManyField(Publisher, blank=True, related_name="datasets")
    source_url = models.URLField(max_length=500, blank=True)
    licence = models.CharField(max_length=200, default="Open Government Licence v3.0")
    history = HistoricalRecords()

    def __str__(self) -> str:
        return self.slug


class Release(models.Model):
    """A dated publication of a dataset. A newer published release supersedes older values, which
    stay queryable with `as_of`. A draft release is invisible to the public API."""

    class State(models.TextChoices):
        DRAFT = "draft"
        PUBLISHED = "published"

    id = models.AutoField(primary_key=True)
    dataset = models.ForeignKey(Dataset, on_delete=models.CASCADE, related_name="releases")
    label = models.CharField(max_length=120, help_text="e.g. 'ELS 2026-04-29' or the file checksum prefix.")
    release_date = models.DateField()
    source_url = models.URLField(max_length=500, blank=True)
    licence = models.CharField(max_length=200, blank=True)
    notes = models.TextField(blank=True)
    state = models.CharField(max_length=10, choices=State.choices, default=State.PUBLISHED)
    checksum = models.CharField(max_length=64, blank=True)
    is_current = models.BooleanField(default=False, help_text=(
        "Its values are the dataset's current ones: the newest published release (at most one "
        "per dataset). Set by indicators.services.release_currency_set, never by hand."))
    created_at = models.DateTimeField(auto_now_add=True)
    history = HistoricalRecords()

    class Meta:
        ordering = ["dataset", "-release_date", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["dataset", "label"], name="release_label_unique"),
            # Publishing is an update of this flag; a release holds one row per indicator, period and
            # area, so one current value per key holds by construction.
            models.UniqueConstraint(fields=["dataset"], condition=Q(is_current=True),
                                    name="release_one_current_per_dataset"),
        ]

    def __str__(self) -> str:
        return f"{self.dataset_id}: {self.label}"


class Indicator(models.Model):
    class Measure(models.TextChoices):
        COUNT = "count"
        PERCENTAGE = "percentage"
        RATE = "rate"
        MEAN = "mean"
        MEDIAN = "median"
        SCORE = "score"
        RANK = "rank"
        DECILE = "decile"
        RATIO = "ratio"
        CURRENCY = "currency"

    class Polarity(models.TextChoices):
        HIGHER_IS_BETTER = "higher_is_better"
        LOWER_IS_BETTER = "lower_is_better"
        NEUTRAL = "neutral"

    class Aggregation(models.TextChoices):
        SUM = "sum"
        WEIGHTED_MEAN = "weighted_mean"
        RATIO_OF_SUMS = "ratio_of_sums"
        SHARE_IN_CATEGORY = "share_in_category"
        NOT_AGGREGATABLE = "not_aggregatable"

    id = models.AutoField(primary_key=True)
    slug = models.SlugField(max_length=120, unique=True)
    title = models.CharField(max_length=300)
    subtitle = models.CharField(max_length=500, blank=True)
    description = models.TextField(blank=True)
    caveats = models.TextField(blank=True)
    dataset = models.ForeignKey(Dataset, on_delete=models.PROTECT, related_name="indicators")
    unit = models.CharField(max_length=120, blank=True, help_text="e.g. Pounds, Years, Percentage")
    unit_symbol = models.CharField(max_length=40, blank=True, help_text="e.g. £, yrs, %")
    decimal_places = models.PositiveSmallIntegerField(default=1)
    measure = models.CharField(max_length=12, choices=Measure.choices)
    polarity = models.CharField(max_length=20, choices=Polarity.choices, default=Polarity.NEUTRAL)
    aggregation = models.CharField(max_length=20, choices=Aggregation.choices, default=Aggregation.NOT_AGGREGATABLE)
    weight_indicator = models.ForeignKey("self", on_delete=models.SET_NULL, null=True, blank=True, related_name="+",
                                         help_text="For weighted means: the indicator that supplies the weights.")
    category_values = ArrayField(models.FloatField(), default=list, blank=True,
                                 help_text="For shares in a category: the values that count (e.g. [1] for decile 1).")
    topics = ArrayField(models.CharField(max_length=60), default=list, blank=True)
    capitals = ArrayField(models.CharField(max_length=20), default=list, blank=True,
                          help_text="Six capitals: physical, intangible, human, financial, social, institutional.")
    experimental = models.BooleanField(default=False)
    history = HistoricalRecords()

    class Meta:
        ordering = ["slug"]

    def __str__(self) -> str:
        return self.slug


class Period(models.Model):
    class Type(models.TextChoices):
        CALENDAR_YEAR = "calendar_year"
        FINANCIAL_YEAR = "financial_year"
        ACADEMIC_YEAR = "academic_year"
        ROLLING = "rolling"
        POINT = "point_in_time"
        QUARTER = "quarter"
        MONTH = "month"
        OTHER = "other"

    id = models.AutoField(primary_key=True)
    iso = models.CharField(max_length=40, unique=True, help_text="ISO 8601: 2011-01-01/P3Y, 2023-04-19, 2021-04-01/P1Y")
    start = models.DateField()
    end = models.DateField(help_text="Last day covered (the start itself for a point in time).")
    duration = models.CharField(max_length=10, blank=True, help_text="ISO 8601 duration; empty for a point in time.")
    type = models.CharField(max_length=16, choices=Type.choices)
    label = models.CharField(max_length=40, help_text="Human label: 2011-2013, 2021/22, 2023-04-19.")

    class Meta:
        ordering = ["start", "end"]
        constraints = [models.CheckConstraint(condition=Q(end__gte=F("start")), name="period_valid_range")]

    def __str__(self) -> str:
        return self.label


class Status(models.TextChoices):
    NONE = "", "none"
    PROVISIONAL = "p", "provisional"
    ESTIMATED = "e", "estimated"
    SUPPRESSED = "x", "suppressed"
    REVISED = "r", "revised"
    BREAK = "b", "break in series"
    UNRELIABLE = "u", "low reliability"
    CONFIDENTIAL = "c", "confidential"
    FORECAST = "f", "forecast"


class Observation(models.Model):
    # Built for bulk loads of 10^8 rows. The loader only inserts rows that joined to an existing
    # area, indicator, period and release (set-based, in staging), so the FK triggers, which cost
    # 11 s per 800k rows here, are left out (db_constraint=False), as are single-column FK indexes:
    # the composite indexes below serve every read.
    indicator = models.ForeignKey(Indicator, on_delete=models.CASCADE, related_name="observations", db_index=False, db_constraint=False)
    area = models.ForeignKey(Area, on_delete=models.CASCADE, related_name="observations", db_index=False, db_constraint=False)
    period = models.ForeignKey(Period, on_delete=models.PROTECT, related_name="observations", db_index=False, db_constraint=False)
    release = models.ForeignKey(Release, on_delete=models.CASCADE, related_name="observations", db_index=False, db_constraint=False)
    value = models.FloatField(null=True, help_text="Null when suppressed or not available (see status).")
    lci = models.FloatField(null=True, blank=True, help_text="Lower 95% confidence limit.")
    uci = models.FloatField(null=True, blank=True, help_text="Upper 95% confidence limit.")
    numerator = models.FloatField(null=True, blank=True)
    denominator = models.FloatField(null=True, blank=True)
    status = models.CharField(max_length=1, choices=Status.choices, blank=True, default="")
    note = models.TextField(blank=True)
    # Precomputed at ingest (a window rank over 10^7 rows takes seconds): position among areas of
    # the same type for this indicator and period, 1 = best by polarity (highest when neutral); for
    # a rank indicator its published rank (rank_of: the number ranked), for a decile none
    # (indicators/ingest/loader.py RANK_SQL).
    rank = models.PositiveIntegerField(null=True, blank=True)
    rank_of = models.PositiveIntegerField(null=True, blank=True, help_text="Areas ranked alongside.")

    class Meta:
        # The table is partitioned by LIST (release_id), one partition per release (migration 0006,
        # indicators.partitions, which creates these indexes on each partition): current reads name
        # the current releases (indicators.current), so the planner reads their partitions only.
        constraints = [
            # One row per indicator, period and area in a release; also the index most reads use.
            models.UniqueConstraint(fields=["indicator", "period", "area", "release"],
                                    name="observation_one_per_release"),
            models.CheckConstraint(
                condition=Q(lci__isnull=True) | Q(value__isnull=True) | Q(lci__lte=F("value")), name="observation_lci_le_value"),
            models.CheckConstraint(
                condition=Q(uci__isnull=True) | Q(value__isnull=True) | Q(uci__gte=F("value")), name="observation_uci_ge_value"),
        ]
        indexes = [
            models.Index(fields=["area", "indicator", "period"], name="observation_area"),
        ]

    def __str__(self) -> str:
        return f"{self.indicator_id}/{self.area_id}/{self.period_id} = {self.value}"


class Coverage(models.Model):
    """Which area types have current values for which periods of an indicator, and how many
    (derived after each load). Serves the availability matrix, the periods list and `latest`."""

    indicator = models.ForeignKey(Indicator, on_delete=models.CASCADE, related_name="coverage")
    period = models.ForeignKey(Period, on_delete=models.CASCADE, related_name="+")
    area_type = models.ForeignKey("geographies.AreaType", on_delete=models.CASCADE, related_name="+")
    areas = models.PositiveIntegerField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["indicator", "period", "area_type"], name="coverage_unique")]

    def __str__(self) -> str:
        return f"{self.indicator_id}/{self.period_id}/{self.area_type_id}: {self.areas}"


class BulkFile(models.Model):
    """A bulk file written for download (indicators.bulk): a dataset's current observations, under
    the newest release they come from, or the national snapshot of every current observation
    (no dataset, no release). Recorded only once the file is complete and in place."""

    class Format(models.TextChoices):
        PARQUET = "parquet"
        CSV_GZ = "csv.gz"

    dataset = models.ForeignKey(Dataset, on_delete=models.CASCADE, null=True, blank=True, related_name="bulk_files")
    release = models.ForeignKey(Release, on_delete=models.CASCADE, null=True, blank=True, related_name="bulk_files",
                                help_text="The newest release whose rows the file holds; null for the snapshot.")
    release_ids = ArrayField(models.IntegerField(), default=list, blank=True,
                             help_text="Every release with rows in the file (more than one where a dataset's "
                                       "indicators are current from different releases).")
    format = models.CharField(max_length=10, choices=Format.choices)
    path = models.CharField(max_length=300, help_text="Relative to the database's folder in LEVELUP['BULK_DIR'].")
    size = models.BigIntegerField()
    sha256 = models.CharField(max_length=64)
    rows = models.BigIntegerField()
    fingerprint = models.CharField(max_length=64, help_text="What the file was written from (indicators.bulk): "
                                                            "an unchanged fingerprint is not written again.")
    summary = models.JSONField(default=dict, blank=True,
                               help_text="Periods, area types and nations the rows cover (for the catalogue).")
    written_at = models.DateTimeField()

    class Meta:
        ordering = ["dataset", "release", "format"]
        constraints = [
            models.UniqueConstraint(fields=["release", "format"], condition=Q(release__isnull=False),
                                    name="bulkfile_one_per_release_format"),
            models.UniqueConstraint(fields=["format"], condition=Q(release__isnull=True),
                                    name="bulkfile_one_snapshot_per_format"),
        ]

    def __str__(self) -> str:
        return self.path
