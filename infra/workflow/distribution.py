"""Each new image's distribution from the hub: the definition of the child state machine
"Distribute one image", which the hub's run starts once per image after the roll-outs
(infra/workflow/distribute_each.py; only when the configuration sets copyToRegions or
shareWithAccounts):

New image to distribute? -- no (not ready, or its roll-out here failed, was rolled back,
                                rejected, held back, timed out or superseded) --> Not distributed
Plan the distribution (the Regions and their accounts, from the configuration)
-> Map over the Regions, side by side:
     Copy needed? -- the hub's own Region --> Share
     Copy (our copy found by name and marker, else CopyImage) -> Copying?
         COPYING, checks left -> Wait COPY_CHECK_MINUTES -> Check the copy -> Copying?
         COPYING, none left   -> Copy timed out -> Share
         else                 -> Share
     Share (UpdateImagePermissions per account; one refused never stops the others)
     any step's error (after retries) -> kept beside the Region's record -> Region done
-> Write the distributed e-mail (and publish Image Copied / Image Shared / Distribution Failed)
-> Send it -> Mark the report sent (the image's distribution item REPORTED, if this run still
   holds its claim; lambdas/image_updater/distribution/owed.py) -> Result

An owed distribution a run resumes (distribute_each.py) comes as a roll-out's result with
`resumedFrom`; one whose image is no longer in the hub (`gone`) goes straight to its e-mail.

Only an image the hub is done with leaves it: ready, and either no fleet here follows its
lineage or its roll-out here updated production (canaries healthy, approved when approval is
required). An image whose canary failed, that an approver rejected, or whose roll-out stopped
never leaves the hub.

Copies in flight per destination Region: the run's Map starts at most COPIES_PER_DESTINATION
of these executions at once (and waits for each), and each image copies to a Region once, so
one run never has more copies going to a Region than AppStream's quota (2 by default).
Another run's copies or a person's use the same slots: CopyImage then answers
LimitExceededException (CopyQuotaExceeded), which this workflow retries with a long backoff
(COPY_QUOTA_RETRY), then reports that Region failed.
"""

from __future__ import annotations

import math
from typing import Any

from aws_cdk import Duration
from aws_cdk import aws_stepfunctions as sfn
from aws_cdk import aws_stepfunctions_tasks as tasks
from constructs import Construct

from image_updater.distribution.models import COPYING, HOME, PLANNED
from image_updater.distribution.owed import DONE_IN_THE_HUB, GONE
from image_updater.handlers.distribute import CHECK, COPY, SHARE
from image_updater.models import AVAILABLE
from infra.config import UpdaterConfig
from infra.config.distribution import (
    COPY_CHECK_MINUTES,
    COPY_CHECKS,
    COPY_WAIT_HOURS,
    share_regions,
)
from infra.workflow.emails import send_email, write_email
from infra.workflow.fragment import Fragment, WorkflowParts
from infra.workflow.notify import mark_report_sent
from infra.workflow.tasks import TRANSIENT_RETRY, Catch, Retry, invoke, task_input

COPIES_PER_DESTINATION = 2  # AppStream's concurrent image copies per destination Region
# CopyImage over the copies quota: waits of 10, 15, 22.5, 34, 51 and 76 minutes (about 3.5
# hours in all; statelint wants a non-integral BackoffRate).
COPY_QUOTA_RETRY = Retry(("CopyQuotaExceeded",), Duration.minutes(10), 6, 1.5)
# The name appeared since the step looked: the next look decides (ours, or someone else's).
COPY_NAME_RETRY = Retry(("CopyNameTaken",), Duration.seconds(30), 4, 1.5)
_QUOTA_RETRY_HOURS = 4
_DISTRIBUTION_SLACK_HOURS = 1
TIMED_OUT = "TIMED_OUT"

# State names (unique in the whole state machine).
DISTRIBUTE_EACH_IMAGE = "Distribute each new image"
NEW_IMAGE_TO_DISTRIBUTE = "New image to distribute?"
NOT_DISTRIBUTED = "Not distributed"
PLAN_THE_DISTRIBUTION = "Plan the distribution"
DISTRIBUTE_TO_EACH_REGION = "Distribute to each Region"
COPY_NEEDED = "Copy needed?"
COPY_THE_IMAGE = "Copy the image"
COPYING_STILL = "Still copying?"
WAIT_FOR_THE_COPY = "Wait for the copy"
CHECK_THE_COPY = "Check the copy"
COPY_TIMED_OUT = "Copy timed out"
SHARE_THE_IMAGE = "Share the image"
REGION_DONE = "Region done"
WRITE_THE_DISTRIBUTED_EMAIL = "Write the distributed e-mail"
SEND_THE_DISTRIBUTED_EMAIL = "Send the distributed e-mail"
DISTRIBUTED_LABEL = " (distributed)"  # of the mark's states (states.MARK_THE_REPORT_SENT)
DISTRIBUTED_EMAIL_NOT_SENT = "Distributed e-mail not sent"
DISTRIBUTION_RESULT = "Distribution result"
LIST_DISTRIBUTION_FAILURES = "List the distribution failures"
SUMMARIZE_THE_DISTRIBUTIONS = "Summarize the distributions"
A_DISTRIBUTION_FAILED = "A distribution failed"


# One image's distribution: its copies (and the quota) waited for at most this long; the
# child execution's timeout.
IMAGE_DISTRIBUTION_HOURS = COPY_WAIT_HOURS + _QUOTA_RETRY_HOURS + _DISTRIBUTION_SLACK_HOURS


def distribution_hours(config: UpdaterConfig) -> int:
    """What distribution adds to a run: the images COPIES_PER_DESTINATION at a time, each
    waiting for its copies (and for the quota) at most IMAGE_DISTRIBUTION_HOURS."""
    if not config.distributes:
        return 0
    batches = math.ceil(len(config.image_names) / COPIES_PER_DESTINATION)
    return batches * IMAGE_DISTRIBUTION_HOURS


def region_plan(config: UpdaterConfig) -> list[dict[str, Any]]:
    """Each Region's part: the hub's own (region "": the function's Region; no copy), then
    each copy's, with the accounts to share with there. A share naming a Region outside
    copyToRegions names the hub's own (the configuration allows no other)."""
    copies = config.copy_to_regions
    home = "(home)"

    def accounts(region: str) -> list[dict[str, Any]]:
        return [
            {
                "accountId": share.account_id,
                "allowFleet": share.allow_fleet,
                "allowImageBuilder": share.allow_image_builder,
            }
            for share in config.share_with_accounts
            if region in share_regions(share, home, copies)
            or (region == home and any(r not in copies for r in share.regions or ()))
        ]

    plan: list[dict[str, Any]] = []
    if accounts(home):
        plan.append({"region": HOME, "state": AVAILABLE, "shares": accounts(home)})
    plan += [{"region": region, "state": PLANNED, "shares": accounts(region)} for region in copies]
    return plan


class DistributeOneImage(Fragment):
    def __init__(self, scope: Construct, construct_id: str, parts: WorkflowParts) -> None:
        super().__init__(scope, construct_id)
        functions = parts.functions
        assert functions.distribute is not None and functions.distribution_report is not None
        self._distribute = functions.distribute
        self._polls = COPY_CHECKS
        regions = sfn.Map(
            self,
            DISTRIBUTE_TO_EACH_REGION,
            items_path="$.regions",
            item_selector={
                "rootImageName.$": "$.rootImageName",
                "newImageName.$": "$.newImageName",
                "executionId.$": "$.executionId",
                "region.$": "$$.Map.Item.Value.region",
                "state.$": "$$.Map.Item.Value.state",
                "shares.$": "$$.Map.Item.Value.shares",
            },
            result_path="$.regions",
        ).item_processor(self._one_region(parts.config))
        not_sent = sfn.Pass(
            self,
            DISTRIBUTED_EMAIL_NOT_SENT,
            parameters={"image.$": "$.rootImageName", "distributed": True, "failed": True},
        )
        write = write_email(
            self,
            WRITE_THE_DISTRIBUTED_EMAIL,
            functions.distribution_report,
            fields=("subject", "body", "outcome", "image", "failed", "reportClaim"),
            catch=Catch(not_sent, "$.reportError"),
            chat=parts.config.chat_configured,
        )
        send = send_email(
            self,
            SEND_THE_DISTRIBUTED_EMAIL,
            parts.topic,
            catch=Catch(not_sent, "$.sendError"),
            chat=parts.config.chat_configured,
        )
        result = sfn.Pass(
            self,
            DISTRIBUTION_RESULT,
            parameters={
                "image.$": "$.rootImageName",
                "newImageName.$": "$.newImageName",
                "outcome.$": "$.notification.outcome",
                "distributed": True,
                "failed.$": "$.notification.failed",
            },
        )
        plan = sfn.Pass(
            self,
            PLAN_THE_DISTRIBUTION,
            result=sfn.Result.from_array(region_plan(parts.config)),
            result_path="$.regions",
        )
        plan.next(regions).next(write).next(send).next(
            mark_report_sent(self, DISTRIBUTED_LABEL, parts.ledger, then=result)
        )
        nothing = sfn.Pass(
            self,
            NOT_DISTRIBUTED,
            parameters={"image.$": "$.rootImageName", "distributed": False, "failed": False},
        )
        done_here = sfn.Condition.or_(
            *(sfn.Condition.string_equals("$.outcome", done) for done in DONE_IN_THE_HUB)
        )
        # Rules are tried in order: a result without a new image never reaches the second.
        self.begins_with(
            sfn.Choice(self, NEW_IMAGE_TO_DISTRIBUTE)
            .when(sfn.Condition.not_(sfn.Condition.is_present("$.newImageName")), nothing)
            .when(sfn.Condition.is_present(f"$.result.{GONE}"), write)
            .when(
                sfn.Condition.and_(
                    sfn.Condition.is_string("$.newImageName"),
                    sfn.Condition.boolean_equals("$.failed", False),
                    done_here,
                ),
                plan,
            )
            .otherwise(nothing)
        )

    def _one_region(self, config: UpdaterConfig) -> sfn.IChainable:
        done = sfn.Pass(self, REGION_DONE)
        share = self._step(SHARE_THE_IMAGE, SHARE, Catch(done, "$.shareError"))
        share.next(done)
        copy = self._step(
            COPY_THE_IMAGE,
            COPY,
            Catch(done, "$.copyError"),
            retries=(COPY_NAME_RETRY, COPY_QUOTA_RETRY),
        )
        check = self._step(CHECK_THE_COPY, CHECK, Catch(done, "$.copyError"))
        wait = sfn.Wait(
            self,
            WAIT_FOR_THE_COPY,
            time=sfn.WaitTime.duration(Duration.minutes(COPY_CHECK_MINUTES)),
        )
        timed_out = sfn.Pass(
            self, COPY_TIMED_OUT, result=sfn.Result.from_string(TIMED_OUT), result_path="$.state"
        )
        copying = sfn.Condition.string_equals("$.state", COPYING)
        still_copying = (
            sfn.Choice(self, COPYING_STILL)
            .when(
                sfn.Condition.and_(copying, sfn.Condition.number_less_than("$.polls", self._polls)),
                wait.next(check),
            )
            .when(copying, timed_out.next(share))
            .otherwise(share)
        )
        copy.next(still_copying)
        check.next(still_copying)
        return (
            sfn.Choice(self, COPY_NEEDED)
            .when(sfn.Condition.string_equals("$.region", HOME), share)
            .otherwise(copy)
        )

    def _step(
        self, name: str, action: str, catch: Catch, retries: tuple[Retry, ...] = ()
    ) -> tasks.LambdaInvoke:
        """A distribution step on one Region: transient errors retried (each step is safe to
        repeat), then `retries`; anything else is kept beside the Region's record."""
        return invoke(
            self,
            name,
            self._distribute,
            payload=task_input(action=action),
            retries=(TRANSIENT_RETRY, *retries),
            catch=catch,
        )


class ImageDistribution(Fragment):
    """The definition of "Distribute one image" (a child execution per image, see
    infra/workflow/distribute_each.py): the roll-out's result as the image's state (its keys at
    the top), then the image."""

    def __init__(self, scope: Construct, construct_id: str, parts: WorkflowParts) -> None:
        super().__init__(scope, construct_id)
        unwrap = sfn.Pass(
            self,
            "Read the roll-out's result",
            parameters={
                "rootImageName.$": "$.rootImageName",
                "executionId.$": "$.executionId",
                "outcome.$": "$.result.outcome",
                "failed.$": "$.result.failed",
                "result.$": "$.result",
            },
        )
        image = DistributeOneImage(self, "Image", parts)
        self.begins_with(unwrap)
        unwrap.next(_with_new_image(self, image))


def _with_new_image(scope: Construct, image: DistributeOneImage) -> sfn.IChainable:
    """newImageName at the top when the result has one (a path to a missing key fails)."""
    lift = sfn.Pass(
        scope,
        "Read the new image",
        parameters={
            "rootImageName.$": "$.rootImageName",
            "executionId.$": "$.executionId",
            "outcome.$": "$.outcome",
            "failed.$": "$.failed",
            "newImageName.$": "$.result.newImageName",
            "result.$": "$.result",
        },
    )
    lift.next(image)
    return (
        sfn.Choice(scope, "Has a new image?")
        .when(sfn.Condition.is_present("$.result.newImageName"), lift)
        .otherwise(image)
    )
