"""The Levelling Up White Paper's four objectives and twelve missions, the indicators that measure
them, and their typed targets. Written by us in fixtures/missions/missions.toml; curators edit
them in the admin (with history)."""

from django.contrib.postgres.fields import ArrayField
from django.db import models
from simple_history.models import HistoricalRecords

from indicators.models import Indicator


class DataStatus(models.TextChoices):
    AVAILABLE = "available", "data loaded"
    PARTIAL = "partial", "some metrics have data"
    NONE = "none", "no data here"


class Objective(models.Model):
    number = models.PositiveSmallIntegerField(unique=True)
    name = models.CharField(max_length=200)
    history = HistoricalRecords()

    class Meta:
        ordering = ["number"]

    def __str__(self) -> str:
        return f"{self.number}. {self.name}"


class Mission(models.Model):
    number = models.PositiveSmallIntegerField(unique=True)
    objective = models.ForeignKey(Objective, on_delete=models.PROTECT, related_name="missions")
    short_name = models.CharField(max_length=80)
    statement = models.TextField(help_text="The mission in our own words.")
    source_url = models.URLField(default="https://www.gov.uk/government/publications/levelling-up-the-united-kingdom")
    capitals = ArrayField(models.CharField(max_length=20), default=list, blank=True,
                          help_text="Of the six capitals: physical, intangible, human, financial, social, institutional.")
    target_year = models.PositiveSmallIntegerField(default=2030)
    data_note = models.TextField(blank=True, help_text="What data there is, and what is missing.")
    history = HistoricalRecords()

    class Meta:
        ordering = ["number"]

    def __str__(self) -> str:
        return f"Mission {self.number}: {self.short_name}"


class Metric(models.Model):
    """An indicator that measures a mission."""

    class Link(models.TextChoices):
        ONS_TAG = "ons_tag", "ONS tagged it with this mission"
        SUGGESTED = "suggested", "our reading of the White Paper"

    mission = models.ForeignKey(Mission, on_delete=models.CASCADE, related_name="metrics")
    indicator = models.ForeignKey(Indicator, on_delete=models.CASCADE, related_name="mission_metrics")
    headline = models.BooleanField(default=False, help_text="The metric the mission's target is stated in.")
    link = models.CharField(max_length=12, choices=Link.choices)
    history = HistoricalRecords()

    class Meta:
        ordering = ["mission__number", "-headline", "indicator__slug"]
        constraints = [models.UniqueConstraint(fields=["mission", "indicator"], name="metric_unique")]

    def __str__(self) -> str:
        return f"M{self.mission.number}: {self.indicator.slug}"


class Target(models.Model):
    """What a mission asks for, typed: the missions ask different things."""

    class Kind(models.TextChoices):
        EVERY_AREA_IMPROVES = "every_area_improves"
        GAP_NARROWS = "gap_narrows"
        NATIONAL_THRESHOLD = "national_threshold"
        GROUP_RELATIVE_CHANGE = "group_relative_change"
        NATIONAL_CHANGE = "national_change"
        COVERAGE_SHARE = "coverage_share"

    class Gap(models.TextChoices):
        MAX_MINUS_MIN = "max_minus_min", "highest area minus lowest"
        DECILE_MEANS = "decile_means", "mean of the top tenth of areas minus mean of the bottom tenth"

    mission = models.ForeignKey(Mission, on_delete=models.CASCADE, related_name="targets")
    metric = models.ForeignKey(Metric, on_delete=models.SET_NULL, null=True, blank=True, related_name="targets")
    kind = models.CharField(max_length=24, choices=Kind.choices)
    description = models.TextField()
    value = models.FloatField(null=True, blank=True, help_text="Threshold, change or share asked for.")
    unit = models.CharField(max_length=40, blank=True)
    gap = models.CharField(max_length=16, choices=Gap.choices, blank=True)
    target_year = models.PositiveSmallIntegerField(default=2030)
    data_status = models.CharField(max_length=10, choices=DataStatus.choices, default=DataStatus.NONE)
    data_note = models.TextField(blank=True)
    history = HistoricalRecords()

    class Meta:
        ordering = ["mission__number", "id"]

    def __str__(self) -> str:
        return f"M{self.mission.number} {self.kind}"


class ProfileFact(models.Model):
    """One row of an area's profile, precomputed: an area × indicator at its latest period, with
    its region's and nation's value (published or computed), the comparisons at 95% and 99.8%
    and the trend. Written only by missions.services.profile_facts_rebuild, set-based in SQL, in
    the transaction of the load or edit that changed its inputs; read by missions.selectors.profiles.
    Codes, names and titles are joined when read, so a rename never makes a fact stale."""

    area = models.ForeignKey("geographies.Area", on_delete=models.DO_NOTHING, db_constraint=False, db_index=False,
                             related_name="+")
    indicator = models.ForeignKey(Indicator, on_delete=models.DO_NOTHING, db_constraint=False, db_index=False,
                                  related_name="+")
    period = models.ForeignKey("indicators.Period", on_delete=models.DO_NOTHING, db_constraint=False,
                               db_index=False, related_name="+")
    value = models.FloatField(null=True)
    lci = models.FloatField(null=True)
    uci = models.FloatField(null=True)
    status = models.CharField(max_length=1, blank=True)
    rank = models.IntegerField(null=True)
    rank_of = models.IntegerField(null=True)
    decile = models.IntegerField(null=True)
    comparison_method = models.CharField(max_length=32, null=True)  # noqa: DJ001 (null: none)
    region = models.ForeignKey("geographies.Area", on_delete=models.DO_NOTHING, db_constraint=False, db_index=False,
                               null=True, related_name="+")
    region_value = models.FloatField(null=True)
    region_comparator_source = models.CharField(max_length=16, null=True)  # noqa: DJ001 (null: none)
    region_coverage = models.FloatField(null=True)
    region_difference = models.FloatField(null=True)
    region_comparison = models.TextField(null=True, help_text="At 95%.")  # noqa: DJ001 (null: none)
    region_comparison_998 = models.TextField(null=True, help_text="At 99.8%.")  # noqa: DJ001 (null: none)
    national = models.ForeignKey("geographies.Area", on_delete=models.DO_NOTHING, db_constraint=False,
                                 db_index=False, null=True, related_name="+")
    national_value = models.FloatField(null=True)
    national_comparator_source = models.CharField(max_length=16, null=True)  # noqa: DJ001 (null: none)
    national_coverage = models.FloatField(null=True)
    national_difference = models.FloatField(null=True)
    national_comparison = models.TextField(null=True, help_text="At 95%.")  # noqa: DJ001 (null: none)
    national_comparison_998 = models.TextField(null=True, help_text="At 99.8%.")  # noqa: DJ001 (null: none)
    trend = models.TextField(null=True, help_text="At 95%.")  # noqa: DJ001 (null: none)
    trend_998 = models.TextField(null=True, help_text="At 99.8%.")  # noqa: DJ001 (null: none)
    trend_method = models.CharField(max_length=32, null=True)  # noqa: DJ001 (null: none)
    trend_points = models.IntegerField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["area", "indicator"], name="profilefact_area_indicator")]
        indexes = [models.Index(fields=["indicator"], name="profilefact_indicator")]

    def __str__(self) -> str:
        return f"{self.area_id} × {self.indicator_id} at {self.period_id}"


class ProfileSpread(models.Model):
    """The spread of an indicator's current values at one period across the areas of one type in
    one country (the code's first letter; "" for all areas of the type, what an area without a
    country letter is set against): a spine chart's England range. Written beside the profile
    facts, for each (indicator, period, type) a fact holds, by missions.profile_facts; read by the
    explorer's area page, so that a page of an LSOA does not sort 33,755 values per indicator."""

    indicator = models.ForeignKey(Indicator, on_delete=models.DO_NOTHING, db_constraint=False, db_index=False,
                                  related_name="+")
    period = models.ForeignKey("indicators.Period", on_delete=models.DO_NOTHING, db_constraint=False,
                               db_index=False, related_name="+")
    area_type = models.ForeignKey("geographies.AreaType", on_delete=models.DO_NOTHING, db_constraint=False,
                                  db_index=False, related_name="+")
    country = models.CharField(max_length=1, blank=True)
    areas = models.IntegerField(help_text="Areas with a value.")
    low = models.FloatField()
    q1 = models.FloatField(help_text="25th percentile, interpolated, rounded to the indicator's derived places.")
    q3 = models.FloatField(help_text="75th percentile, interpolated, rounded to the indicator's derived places.")
    high = models.FloatField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["indicator", "period", "area_type", "country"],
                                               name="profilespread_key")]

    def __str__(self) -> str:
        return f"{self.indicator_id} at {self.period_id} over type {self.area_type_id} {self.country or '(all)'}"
