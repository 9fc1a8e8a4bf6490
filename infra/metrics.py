"""The functions' own metrics (Powertools, namespace AppStreamImageUpdater), as the dashboard
and the alarms read them. Every one carries the `service` dimension only, except PatchAgeDays,
which is also kept per lineage (dimension `Lineage`): the only metric whose count grows with
the configured images (one custom metric each)."""

from __future__ import annotations

from aws_cdk import Duration
from aws_cdk import aws_cloudwatch as cloudwatch

from image_updater.observability import LINEAGE_DIMENSION, NAMESPACE, SERVICE

# Names as the handlers emit them (lambdas/image_updater/handlers/).
UPDATES_STARTED = "UpdatesStarted"  # create
NO_UPDATE = "NoUpdate"  # check
LATE_REPORTS = "LateReports"  # check
UPDATES_SUCCEEDED = "UpdatesSucceeded"  # poll
UPDATES_FAILED = "UpdatesFailed"  # poll, report
UPDATES_TIMED_OUT = "UpdatesTimedOut"  # poll
UPDATE_DURATION_MINUTES = "UpdateDurationMinutes"  # poll
IMAGES_DELETED = "ImagesDeleted"  # retain
FLEETS_CHANGED = "FleetsChanged"  # rollout_fleets, spoke_fleets
FLEETS_ROLLED_BACK = "FleetsRolledBack"  # rollout_fleets, spoke_fleets
SCHEDULE_PAUSED = "SchedulePaused"  # breaker
PATCH_AGE_DAYS = "PatchAgeDays"  # check
PRIVATE_IMAGES = "PrivateImages"  # check
EVENTS_NOT_PUBLISHED = "EventsNotPublished"  # events

# Runs are daily or weekly: one point a day reads well over the dashboard's weeks.
DAY = Duration.days(1)


def updater_metric(
    name: str, statistic: str = "Sum", *, label: str | None = None, lineage: str | None = None
) -> cloudwatch.Metric:
    dimensions = {"service": SERVICE}
    if lineage is not None:
        dimensions[LINEAGE_DIMENSION] = lineage
    return cloudwatch.Metric(
        namespace=NAMESPACE,
        metric_name=name,
        dimensions_map=dimensions,
        statistic=statistic,
        period=DAY,
        label=label,
    )


def oldest_patches() -> cloudwatch.Metric:
    """The oldest patch age any lineage reported in the period (the alarm's metric; no label,
    so the alarm names the metric itself rather than a metric math query)."""
    return updater_metric(PATCH_AGE_DAYS, "Maximum")
