"""The hub's distribution step: each new image's distribution runs as a child execution of its
own, so that the run's history grows by a fixed handful of events per image whatever the
Regions (Step Functions keeps at most 25,000 events per execution; starting a child execution
is AWS's documented way around it):

Record the distributions (the distribute function: each image this run distributes claimed in
                          the ledger before its first copy or share; for a lineage with none,
                          the distribution an earlier run left owed, taken over; see
                          lambdas/image_updater/distribution/resume.py)
  the record could not be written -> Distribute without the record (this run's images only)
-> Distribute each new image (Map, COPIES_PER_DESTINATION images at a time, one per lineage)
  -> Distribute the image (states:startExecution.sync:2 of "Distribute one image",
                           infra/workflow/distribution.py; the run waits for it, and its result
                           is the child's output, parsed)
     the child failed, timed out or was stopped, or could not start
       -> Distribution did not finish (the image's result: failed, with the error)
-> List the distribution failures -> Summarize the distributions

The child's name is the SHA-256 of the run's execution ARN and the image (64 hexadecimal
characters: within the 80 a name may have, valid whatever the names it is built from, which
could be 80 and 100 characters). A start retried for the same run and image therefore names
the same execution: AWS answers a repeated StartExecution with the same name and input while it
runs with that execution, and ExecutionAlreadyExists once it has ended; never a second
distribution. The child's input carries AWS_STEP_FUNCTIONS_STARTED_BY_EXECUTION_ID, which links
it to the run in the console. A stopped run: for a .sync task AWS makes a best-effort attempt
to stop what the task started (hence states:StopExecution in the run's role); an admin who
stops a run checks its children in the console (not modelled offline). Either way nothing is
lost: the image's distribution item stays CLAIMED by the stopped run until its "distributed"
e-mail went out, and a later run whose record step finds that run, and its child for the
image, no longer RUNNING (DescribeExecution) takes it over and distributes it again (copies
made are found, not made again; shares are applied again).
"""

from __future__ import annotations

from aws_cdk import Duration
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_stepfunctions as sfn
from aws_cdk import aws_stepfunctions_tasks as tasks
from constructs import Construct

from image_updater.handlers.distribute import RECORD
from infra.workflow.distribution import (
    COPIES_PER_DESTINATION,
    DISTRIBUTE_EACH_IMAGE,
    LIST_DISTRIBUTION_FAILURES,
    SUMMARIZE_THE_DISTRIBUTIONS,
)
from infra.workflow.fragment import Fragment
from infra.workflow.tasks import TRANSIENT_RETRY, Catch, Retry, guard, invoke, task_input

DISTRIBUTE_THE_IMAGE = "Distribute the image"
DISTRIBUTION_DID_NOT_FINISH = "Distribution did not finish"
RECORD_THE_DISTRIBUTIONS = "Record the distributions"
DISTRIBUTE_WITHOUT_THE_RECORD = "Distribute without the record"
# Where the record step puts the items the Map starts a child for.
PLANNED = "$.distributionPlan"
# The child's execution name: the same for the same run and image, and only for them.
CHILD_NAME_ALGORITHM = "SHA-256"
# Too many executions open in the account, or Step Functions throttled the start: a retry
# names the same child (see above), so it never starts a second one.
START_RETRY = Retry(
    (
        "StepFunctions.ExecutionLimitExceededException",
        "StepFunctions.SdkClientException",
    ),
    Duration.seconds(30),
    4,
    1.5,
)


def child_name() -> str:
    """The child execution's name, computed by the run (an intrinsic function)."""
    return sfn.JsonPath.hash(
        sfn.JsonPath.format(
            "{} {}",
            sfn.JsonPath.string_at("$$.Execution.Id"),
            sfn.JsonPath.string_at("$.rootImageName"),
        ),
        CHILD_NAME_ALGORITHM,
    )


def distribute_each_image(
    scope: Construct, child: sfn.IStateMachine, hours: int, distribute: lambda_.IFunction
) -> sfn.Chain:
    """The record of what this run distributes, the Map over it, each a child execution of
    `child` (which times out after `hours`), then whether any distribution failed."""
    each = sfn.Map(
        scope,
        DISTRIBUTE_EACH_IMAGE,
        items_path=f"{PLANNED}.items",
        max_concurrency=COPIES_PER_DESTINATION,
        item_selector={
            "rootImageName.$": "$$.Map.Item.Value.image",
            "executionId.$": "$$.Execution.Id",
            "result.$": "$$.Map.Item.Value",
        },
        result_path="$.distributions",
    ).item_processor(_StartTheChild(scope, "DistributeEachImage", child, hours))
    listed = sfn.Pass(
        scope,
        LIST_DISTRIBUTION_FAILURES,
        parameters={"failed.$": "$.distributions[*].failed"},
        result_path="$.distributionFailures",
    )
    summary = sfn.Pass(
        scope,
        SUMMARIZE_THE_DISTRIBUTIONS,
        parameters={"anyFailed.$": "States.ArrayContains($.distributionFailures.failed, true)"},
        result_path="$.distributionSummary",
    )
    without = sfn.Pass(
        scope,
        DISTRIBUTE_WITHOUT_THE_RECORD,
        parameters={"items.$": "$.rollouts", "error.$": "$.recordError.Error"},
        result_path=PLANNED,
    )
    record = invoke(
        scope,
        RECORD_THE_DISTRIBUTIONS,
        distribute,
        payload=task_input(
            sfn.JsonPath.list_at("$.rollouts"),
            action=RECORD,
            executionArn=sfn.JsonPath.execution_id,
            distributionMachine=child.state_machine_arn,
            dryRun=sfn.JsonPath.string_at("$.dryRun"),
        ),
        result_selector={"items.$": "$.Payload.items"},
        result_path=PLANNED,
        retries=(TRANSIENT_RETRY,),
        catch=Catch(without, "$.recordError"),
    )
    without.next(each)
    return record.next(each).next(listed).next(summary)


class _StartTheChild(Fragment):
    """One image: its child execution, waited for; its output is the image's result."""

    def __init__(
        self, scope: Construct, construct_id: str, child: sfn.IStateMachine, hours: int
    ) -> None:
        super().__init__(scope, construct_id)
        did_not_finish = sfn.Pass(
            self,
            DISTRIBUTION_DID_NOT_FINISH,
            parameters={
                "image.$": "$.rootImageName",
                "distributed": True,
                "failed": True,
                "error.$": "$.distributionError.Error",
            },
        )
        start = tasks.StepFunctionsStartExecution(
            self,
            DISTRIBUTE_THE_IMAGE,
            state_machine=child,
            integration_pattern=sfn.IntegrationPattern.RUN_JOB,
            associate_with_parent=True,
            name=child_name(),
            input=sfn.TaskInput.from_object(
                {
                    "rootImageName.$": "$.rootImageName",
                    "executionId.$": "$.executionId",
                    "result.$": "$.result",
                }
            ),
            # sync:2 returns DescribeExecution's answer with Output parsed: the image's result.
            output_path="$.Output",
            # The child's own timeout ends it first; this bounds a start that never returns.
            task_timeout=sfn.Timeout.duration(Duration.hours(hours + 1)),
        )
        guard(start, retries=(START_RETRY,), catch=Catch(did_not_finish, "$.distributionError"))
        self.begins_with(start)
