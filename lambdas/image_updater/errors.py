"""Named failures. Lambda reports an exception's class name as the error type, and the state
machine's Retry and Catch rules match these names, so renaming one is a change of contract."""


class ImageUpdaterError(Exception):
    """Base class: a failure the updater understands and can explain in its e-mail."""


class InvalidExecutionInput(ImageUpdaterError):
    """The execution input is not what the workflow accepts (e.g. a hand-started run)."""


class SourceImageNotFound(ImageUpdaterError):
    """The configured image (the root of a lineage) does not exist in this account and Region."""


class NoAvailableImage(ImageUpdaterError):
    """No image of the lineage is AVAILABLE, so there is nothing to update from."""


class UpdateNotPermitted(ImageUpdaterError):
    """AppStream refuses to update this image (incompatible, not owned, account state)."""


class ImageNameTaken(ImageUpdaterError):
    """The derived name belongs to an image the updater did not create."""


class ImageDisappeared(ImageUpdaterError):
    """The image being built was deleted before it finished."""


class UpdateQuotaExceeded(ImageUpdaterError):
    """An AppStream quota (concurrent updates, images) is reached; retried after a long wait."""


class UpdateSlotsBusy(ImageUpdaterError):
    """maxConcurrentUpdates updates of the configured lineages are still building (some
    perhaps from runs that stopped waiting); retried after a long wait."""


class AppStreamBusy(ImageUpdaterError):
    """ConcurrentModificationException: AppStream asks to try again in a few minutes."""


class AppStreamThrottled(ImageUpdaterError):
    """The request rate is too high even after the SDK's own retries."""


# Grouped by how the state machine treats them.
TRANSIENT_ERRORS = (AppStreamBusy.__name__, AppStreamThrottled.__name__)
QUOTA_ERRORS = (UpdateQuotaExceeded.__name__, UpdateSlotsBusy.__name__)
