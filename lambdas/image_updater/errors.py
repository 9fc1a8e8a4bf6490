"""Named failures. Lambda reports an exception's class name as the error type, and the state
machine's Retry and Catch rules match these names, so renaming one is a change of contract."""

# A failure's text travels through the workflow's state (256 KiB at most) and into an e-mail:
# whatever AppStream or an input puts into it, it stays this short.
MESSAGE_MAX = 1500


def shortened(text: str, limit: int = MESSAGE_MAX) -> str:
    """`text` cut to `limit` characters, saying how much was left out."""
    if len(text) <= limit:
        return text
    dropped = f" [... {len(text) - limit + 40} more characters]"
    return text[: limit - len(dropped)] + dropped


class ImageUpdaterError(Exception):
    """Base class: a failure the updater understands and can explain in its e-mail."""

    def __init__(self, message: str = "") -> None:
        super().__init__(shortened(message))


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


class LineageBusy(ImageUpdaterError):
    """Another run is starting an update of the same lineage right now; retried shortly, and
    the retry then follows the update that run started."""


class UpdatesLockBusy(ImageUpdaterError):
    """Another create in this account is counting the updates running and starting one right
    now (the account-wide lock behind maxConcurrentUpdates); retried shortly, like LineageBusy."""


class AppStreamBusy(ImageUpdaterError):
    """ConcurrentModificationException: AppStream asks to try again in a few minutes."""


class AppStreamThrottled(ImageUpdaterError):
    """The request rate is too high: for a read, even after the SDK's own retries (a change is
    never re-sent by the SDK: the workflow retries its whole step)."""


class AppStreamUnreachable(ImageUpdaterError):
    """The network failed (connection refused, timed out) or AppStream answered with a 5xx: for
    a read, even after the SDK's own retries (a change is never re-sent by the SDK)."""


class LedgerUnavailable(ImageUpdaterError):
    """The updater's own table (locks and pending reports) throttled or could not be reached."""


class ScheduleUnavailable(ImageUpdaterError):
    """EventBridge Scheduler refused, throttled or could not be reached while the updater read
    or changed its own schedule (the breaker pausing it, or run-now resuming it)."""


class AlarmsUnavailable(ImageUpdaterError):
    """CloudWatch throttled or could not be reached while the canaries' alarms were read."""


# Grouped by how the state machine treats them.
TRANSIENT_ERRORS = (
    AppStreamBusy.__name__,
    AppStreamThrottled.__name__,
    AppStreamUnreachable.__name__,
    LedgerUnavailable.__name__,
    AlarmsUnavailable.__name__,
)
QUOTA_ERRORS = (UpdateQuotaExceeded.__name__, UpdateSlotsBusy.__name__)
# How Step Functions names a Lambda function that ran out of time (the name depends on the
# runtime's generation; both occur).
LAMBDA_TIMEOUT_ERRORS = ("Sandbox.Timedout", "Lambda.Unknown")
