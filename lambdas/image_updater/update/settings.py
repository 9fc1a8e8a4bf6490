"""The update's functions' settings (see `image_updater.settings`)."""

from __future__ import annotations

from collections.abc import Mapping

from image_updater.settings import FromEnvironment, names, tags, variable


class PlanSettings(FromEnvironment):
    """plan: the lineages a run may update."""

    configured_images: tuple[str, ...] = variable("CONFIGURED_IMAGES", names)


class CreateSettings(FromEnvironment):
    """create: the new image's tags, and the limits a start is held to."""

    extra_tags: Mapping[str, str] = variable("NEW_IMAGE_TAGS", tags)
    configured_images: tuple[str, ...] = variable("CONFIGURED_IMAGES", names)
    max_concurrent_updates: int = variable("MAX_CONCURRENT_UPDATES", int)
    keep_images: int = variable("KEEP_IMAGES", int)  # a quota refusal explains retention


class PollSettings(FromEnvironment):
    """poll: status checks of one update before the run stops waiting for it."""

    max_polls: int = variable("MAX_POLLS", int)


class ReportSettings(FromEnvironment):
    """report and rollout_report: how long an update may take, as the e-mails say; and where
    a ready image goes next (given to report only when copyToRegions or shareWithAccounts is
    set: infra/constructs/functions.py)."""

    max_update_hours: int = variable("MAX_UPDATE_HOURS", int)
    distribution: str = variable("DISTRIBUTION", when_unset="")
