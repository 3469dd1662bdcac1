"""Shared models: the record of every ingest run, for idempotence and audit."""

from django.db import models


class IngestRun(models.Model):
    class State(models.TextChoices):
        RUNNING = "running"
        SUCCEEDED = "succeeded"
        FAILED = "failed"
        SKIPPED = "skipped"

    dataset = models.CharField(max_length=40, help_text="Which loader: geographies, indicators, ...")
    source = models.CharField(max_length=120, help_text="Source mapping name under fixtures/.")
    path = models.CharField(max_length=500, help_text="File path relative to the data directory.")
    checksum = models.CharField(max_length=64, help_text="SHA-256 of the file and its mapping.")
    state = models.CharField(max_length=10, choices=State.choices, default=State.RUNNING)
    dry_run = models.BooleanField(default=False)
    started_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    seconds = models.FloatField(null=True, blank=True)
    rows_read = models.PositiveIntegerField(default=0)
    counts = models.JSONField(default=dict, blank=True, help_text="Rows inserted/updated per table.")
    error = models.TextField(blank=True)

    class Meta:
        ordering = ["-started_at"]
        indexes = [models.Index(fields=["dataset", "source", "state", "-started_at"])]

    def __str__(self) -> str:
        return f"{self.dataset}:{self.source} {self.state} @ {self.started_at:%Y-%m-%d %H:%M}"


class ApiKey(models.Model):
    """A key for higher read quotas. Only a hash is stored: the key is shown once, when made
    (`manage.py create_api_key NAME [--tier partner]` or the admin)."""

    class Tier(models.TextChoices):
        STANDARD = "standard"
        PARTNER = "partner"

    name = models.CharField(max_length=120, help_text="Who holds it.")
    prefix = models.CharField(max_length=12, unique=True, editable=False)
    key_hash = models.CharField(max_length=64, editable=False)
    tier = models.CharField(max_length=10, choices=Tier.choices, default=Tier.STANDARD)
    active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…, {self.tier})"
