"""The retain function's settings (see `image_updater.settings`)."""

from __future__ import annotations

from image_updater.settings import FromEnvironment, csv, variable


class RetainSettings(FromEnvironment):
    """retain: images kept per lineage; with distribution, the copy Regions it keeps too and
    the accounts it may read before it removes a share (infra/constructs/retention_grants.py)."""

    keep_images: int = variable("KEEP_IMAGES", int)
    copy_regions: tuple[str, ...] = variable("RETAIN_REGIONS", csv, when_unset="")
    share_accounts: tuple[str, ...] = variable("SHARE_ACCOUNTS", csv, when_unset="")
