"""What to do about each failure AppStream and the updater can report, by code or error name:
the "What to do" of the update's e-mails."""

from __future__ import annotations

from image_updater.errors import LAMBDA_TIMEOUT_ERRORS
from image_updater.models import TIMED_OUT

_LAMBDA_TIMEOUT_HINT = (
    "A step of the updater ran out of time (its Lambda function timed out), usually because "
    "AppStream answered very slowly. Nothing to do if it happens once: the next run picks "
    "the image up again, following an update already under way rather than starting a "
    "second one. If it repeats, open the run below and check the step's logs."
)

# What to do about the failures AppStream and the updater can report, by code or error name.
REMEDIATION_HINTS: dict[str, str] = {
    "IMAGE_UPDATE_FAILURE": (
        "AppStream could not apply the updates. Check that the source image still starts "
        "on an image builder, that its SSM agent is recent, and that it has no pending "
        "reboot or disk-space problem; the next scheduled run tries again."
    ),
    "INTERNAL_ERROR": (
        "AppStream reported an internal error. The next scheduled run tries again; if it "
        "keeps failing, open a case with AWS Support quoting the image name."
    ),
    "INTERNAL_SERVICE_ERROR": (
        "AppStream reported an internal error. The next scheduled run tries again; if it "
        "keeps failing, open a case with AWS Support quoting the image name."
    ),
    "IMAGE_BUILDER_NOT_AVAILABLE": (
        "AppStream could not start the temporary image builder for the update. Check the "
        "image builder quota in Service Quotas and that the instance type is offered in "
        "this Region."
    ),
    "NETWORK_INTERFACE_LIMIT_EXCEEDED": (
        "The account ran out of network interfaces. Raise the quota or free unused ENIs."
    ),
    "SUBNET_HAS_INSUFFICIENT_IP_ADDRESSES": "Free IP addresses in the subnet, or use a larger one.",
    "IAM_SERVICE_ROLE_IS_MISSING": (
        "The AppStream service role (AmazonAppStreamServiceAccess) is missing; recreate it "
        "as described in the AppStream administration guide."
    ),
    "SourceImageNotFound": (
        "Check the spelling in `imageNames` and that you deploy to the Region that holds "
        "the image, then run `cdk deploy` again."
    ),
    "NoAvailableImage": (
        "Wait until an image of the lineage is AVAILABLE, or delete FAILED ones and check "
        "the root image in the AppStream console."
    ),
    "UpdateNotPermitted": (
        "AppStream refuses managed updates for this image. Managed updates work on images "
        "you own (not shared with you) of Windows Server, Red Hat Enterprise Linux or Rocky "
        "Linux, built from a base image released on or after 2017-07-24, with English or "
        "Japanese display language and a recent SSM agent. Rebuild the image on a current "
        "base image, or remove it from `imageNames`."
    ),
    "UpdateQuotaExceeded": (
        "An AppStream quota is reached: images (default 10 per Region), image builders "
        "(default 10; every update runs a temporary one), or concurrent image updates "
        "(default 5). Delete images or stop image builders you no longer need (older images "
        "of this lineage are kept), request a higher quota in Service Quotas, or lower "
        "`maxConcurrentUpdates`."
    ),
    "UpdateSlotsBusy": (
        "Earlier updates of your images (possibly from runs that stopped waiting after "
        "maxUpdateHours) are still building, and the updater never runs more than "
        "maxConcurrentUpdates at once. Nothing to do: the next scheduled run tries again."
    ),
    "AppStreamBusy": (
        "AppStream kept answering that the image is being modified. The next scheduled run "
        "tries again; avoid editing the image while the updater runs."
    ),
    "AppStreamThrottled": (
        "AppStream throttled the requests even after retries. The next scheduled run tries "
        "again; if this repeats, lower `maxConcurrentUpdates`."
    ),
    "AppStreamUnreachable": (
        "The updater could not reach AppStream (network errors even after retries). The next "
        "scheduled run tries again; if this repeats, check the AWS Health Dashboard for the "
        "Region."
    ),
    "LedgerUnavailable": (
        "The updater's own DynamoDB table did not answer. The next scheduled run tries again; "
        "if this repeats, check that the table of this stack still exists."
    ),
    "LineageBusy": (
        "Another run kept the lineage locked while it started an update, or started one "
        "AppStream did not list yet. The next run follows that update; nothing to do."
    ),
    "UpdatesLockBusy": (
        "Other runs kept the account's updates lock (held while one counts the updates "
        "running and starts one) for over 25 minutes. The next run tries again; nothing to do."
    ),
    "ImageNameTaken": (
        "An image with the name the updater derives already exists and was not created by "
        "it. Rename or delete that image."
    ),
    "ImageDisappeared": "The new image was deleted while it was being built; nothing to do.",
    "InvalidExecutionInput": (
        "Start runs with an input like the example above, or with `make run-now`."
    ),
    **dict.fromkeys(LAMBDA_TIMEOUT_ERRORS, _LAMBDA_TIMEOUT_HINT),
    TIMED_OUT: (
        "The update may still finish: AppStream keeps building it. The next scheduled run "
        "follows it and e-mails the result; to wait longer each run, raise `maxUpdateHours`."
    ),
}
_GENERIC_HINT = (
    "Open the run below to see the failed step. The next scheduled run tries again; nothing "
    "was changed on your fleets."
)


def hint(*keys: str | None) -> str:
    """The hint of the first key that has one, else the generic one."""
    for key in keys:
        if key and key in REMEDIATION_HINTS:
            return REMEDIATION_HINTS[key]
    return _GENERIC_HINT
