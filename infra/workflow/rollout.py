"""One new image's roll-out to the fleets that follow its lineage, as a fragment (the item
processor of "Roll out each new image"):

New image to roll out? -- no (no update, failed, dry run) --> Nothing to roll out
Find the fleets -> Fleets to update?
    none follows the lineage      -> No fleet follows the lineage
    canaries first                -> Update the canary fleets -> Did every canary take it?
                                        no  -> Roll the canaries back -> e-mail
                                        yes -> canary e-mail -> Soak the canaries
                                               -> Check the canaries -> Canaries healthy?
                                                    yes -> production
                                                    a canary moved to a newer image -> e-mail
                                                    only a capacity dip (up to DIP_RECHECKS)
                                                        -> Wait DIP_RECHECK_MINUTES -> Check
                                                    no  -> Roll the canaries back -> e-mail
    production only (approval, or allowUntestedProduction) -> production
    held back (a canary cannot test it; no canary and nobody may let it go untested),
    nothing can take it, or superseded -> e-mail
production: [approval e-mail -> Start the approval clock -> Wait for approval (task token,
             answer discarded) -> Verify the approval (the ledger's record, from the approval
             function) -> Approved?  no -> Rejected -> e-mail;
             no record, time left -> ignored-answer e-mail -> Wait for approval (again);
             no record, deadline passed -> Approval timed out -> e-mail]
            -> Find the production window -> Wait for the production window
            -> Update the production fleets -> e-mail
any error (after retries) -> Roll-out stopped -> e-mail

Fleets are read again at every step: tags an admin changes while a roll-out waits count,
but production changes only fleets named when it was planned (the approval e-mail's list).
"""

from __future__ import annotations

from aws_cdk import Duration
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_stepfunctions as sfn
from aws_cdk import aws_stepfunctions_tasks as tasks
from constructs import Construct

from image_updater.approval.messages import APPROVAL_IGNORED
from image_updater.handlers.rollout_fleets import (
    ROLL_BACK_CANARIES,
    UPDATE_CANARIES,
    UPDATE_PRODUCTION,
)
from image_updater.models import SUCCEEDED
from image_updater.rollout.health_policy import DIP_RECHECK_MINUTES
from image_updater.rollout.outcomes import (
    APPROVAL_REQUESTED,
    APPROVAL_TIMED_OUT,
    APPROVED,
    CANARIES_UPDATED,
    CANARY_FIRST,
    NO_FLEETS,
    PRODUCTION_NEXT,
    REJECTED,
    ROLLOUT_FAILED,
    SUPERSEDED,
)
from image_updater.rollout.window import IMMEDIATELY, WINDOW_MAX_DAYS
from infra.config import UpdaterConfig
from infra.constructs.functions import RolloutFunctions
from infra.workflow import states
from infra.workflow.emails import send_email, write_email
from infra.workflow.fragment import Fragment, RolloutParts
from infra.workflow.notify import ReportAndSend
from infra.workflow.tasks import (
    LAMBDA_SERVICE_RETRY,
    TRANSIENT_RETRY,
    Catch,
    guard,
    invoke,
    task_input,
)

# Slack for the roll-out's own steps and their retries, beyond its waits.
_ROLLOUT_SLACK_HOURS = 2


def rollout_hours(config: UpdaterConfig) -> int:
    """The longest one roll-out can take: the soak, the approval and the window's wait."""
    approval = config.approval_timeout_hours if config.require_approval else 0
    window = 0 if config.rollout_window == IMMEDIATELY else WINDOW_MAX_DAYS * 24
    return config.canary_soak_hours + approval + window + _ROLLOUT_SLACK_HOURS


class RollOutOneImage(Fragment):
    def __init__(self, scope: Construct, construct_id: str, parts: RolloutParts) -> None:
        super().__init__(scope, construct_id)
        config, functions = parts.config, parts.functions
        self._topic = parts.topic
        self._report_fn = functions.rollout_report
        self._chat = config.chat_configured
        report = ReportAndSend(
            self, "Notify", parts, report=self._report_fn, label=states.ROLLOUT_LABEL
        )
        stopped = self._outcome(states.ROLLOUT_STOPPED, ROLLOUT_FAILED).next(report)
        self._stopped = stopped

        find = self._appstream_step(
            states.FIND_THE_FLEETS,
            functions.rollout_plan,
            task={
                "rootImageName.$": "$.rootImageName",
                "newImageName.$": "$.result.newImageName",
                "executionId.$": "$.executionId",
            },
        )
        update_canaries = self._appstream_step(
            states.UPDATE_THE_CANARIES, functions.rollout_fleets, action=UPDATE_CANARIES
        )
        roll_back = self._appstream_step(
            states.ROLL_BACK_THE_CANARIES, functions.rollout_fleets, action=ROLL_BACK_CANARIES
        )
        roll_back.next(report)
        check = self._appstream_step(states.CHECK_THE_CANARIES, functions.rollout_health)
        update_production = self._appstream_step(
            states.UPDATE_THE_PRODUCTION_FLEETS, functions.rollout_fleets, action=UPDATE_PRODUCTION
        )
        update_production.next(report)

        find_window = invoke(
            self,
            states.FIND_THE_WINDOW,
            functions.rollout_window,
            payload=task_input(),
            catch=Catch(stopped),
        )
        find_window.next(
            sfn.Wait(
                self,
                states.WAIT_FOR_THE_WINDOW,
                time=sfn.WaitTime.timestamp_path("$.windowStart"),
            )
        ).next(update_production)

        production: sfn.IChainable = find_window
        if config.require_approval:
            production = self._approval(config, functions, report, find_window)

        check_again = sfn.Wait(
            self,
            states.WAIT_TO_CHECK_AGAIN,
            time=sfn.WaitTime.duration(Duration.minutes(DIP_RECHECK_MINUTES)),
        ).next(check)
        healthy = (
            sfn.Choice(self, states.CANARIES_HEALTHY)
            .when(sfn.Condition.boolean_equals("$.healthy", True), production)
            # A newer image's roll-out has the canaries now: nothing to roll back.
            .when(sfn.Condition.string_equals("$.outcome", SUPERSEDED), report)
            .when(sfn.Condition.boolean_equals("$.recheck", True), check_again)
            .otherwise(roll_back)
        )
        soak_and_check: sfn.IChainable = check
        if config.canary_soak_hours:
            soak_and_check = sfn.Wait(
                self,
                states.SOAK_THE_CANARIES,
                time=sfn.WaitTime.duration(Duration.hours(config.canary_soak_hours)),
            ).next(check)
        check.next(healthy)
        canary_email = self._email(
            states.WRITE_THE_CANARY_EMAIL, states.SEND_THE_CANARY_EMAIL, CANARIES_UPDATED
        )
        canary_email.next(soak_and_check)
        update_canaries.next(
            sfn.Choice(self, states.DID_EVERY_CANARY_TAKE_IT)
            .when(sfn.Condition.boolean_equals("$.anyUpdateRefused", True), roll_back)
            .otherwise(canary_email)
        )
        result_of = {
            "image.$": "$.rootImageName",
            "failed": False,
            "newImageName.$": "$.newImageName",
        }
        find.next(
            sfn.Choice(self, states.FLEETS_TO_UPDATE)
            .when(
                sfn.Condition.string_equals("$.outcome", NO_FLEETS),
                sfn.Pass(
                    self,
                    states.NO_FLEET_FOLLOWS,
                    parameters={**result_of, "outcome": NO_FLEETS},
                ),
            )
            .when(sfn.Condition.string_equals("$.outcome", CANARY_FIRST), update_canaries)
            .when(sfn.Condition.string_equals("$.outcome", PRODUCTION_NEXT), production)
            .otherwise(report)
        )
        # The image's result as it came: it is the roll-out's result too.
        nothing = sfn.Pass(self, states.NOTHING_TO_ROLL_OUT, output_path="$.result")
        # Rules are tried in order: a result without a new image never reaches the second.
        self.begins_with(
            sfn.Choice(self, states.NEW_IMAGE_TO_ROLL_OUT)
            .when(sfn.Condition.not_(sfn.Condition.is_present("$.result.newImageName")), nothing)
            .when(
                sfn.Condition.and_(
                    sfn.Condition.string_equals("$.result.outcome", SUCCEEDED),
                    sfn.Condition.is_string("$.result.newImageName"),
                ),
                find,
            )
            .otherwise(nothing)
        )

    def _outcome(self, name: str, outcome: str) -> sfn.Pass:
        """A state that sets the roll-out's outcome (the report's e-mail follows it)."""
        return sfn.Pass(self, name, result=sfn.Result.from_string(outcome), result_path="$.outcome")

    def _appstream_step(
        self,
        name: str,
        function: lambda_.IFunction,
        *,
        action: str | None = None,
        task: dict[str, str] | None = None,
    ) -> tasks.LambdaInvoke:
        """A roll-out step that calls AppStream: transient errors retried for minutes (each
        step is safe to repeat), anything else stops the roll-out with an e-mail. Its input
        is the roll-out (or `task`), its output the next roll-out."""
        return invoke(
            self,
            name,
            function,
            payload=task_input(task or sfn.JsonPath.entire_payload, action=action),
            retries=(TRANSIENT_RETRY,),
            catch=Catch(self._stopped),
        )

    def _email(self, write_name: str, send_name: str, outcome: str) -> sfn.Chain:
        """An e-mail in the middle of the roll-out: written for `outcome`, then sent. If it
        cannot be, the roll-out stops (and says so): nobody must wait on an unsent e-mail."""
        write = write_email(
            self,
            write_name,
            self._report_fn,
            outcome=outcome,
            catch=Catch(self._stopped),
            chat=self._chat,
        )
        send = send_email(
            self,
            send_name,
            self._topic,
            outcome=outcome,
            image_at="$.rootImageName",
            catch=Catch(self._stopped),
            chat=self._chat,
        )
        return write.next(send)

    def _approval(
        self,
        config: UpdaterConfig,
        functions: RolloutFunctions,
        report: ReportAndSend,
        after: sfn.IChainable,
    ) -> sfn.IChainable:
        """The approval e-mail, then a task that waits for the approval function's answer,
        then the verify step: only a decision the approval function recorded in the ledger
        (with the identity AWS verified) counts. Any other answer is ignored, e-mailed, and
        the wait starts again (new token) until the original deadline."""
        assert functions.rollout_verify is not None  # created whenever approval is required
        clock = sfn.Pass(
            self,
            states.START_THE_APPROVAL_CLOCK,
            result=sfn.Result.from_object(
                {"waitSeconds": config.approval_timeout_hours * 3600, "ignored": 0}
            ),
            result_path="$.approval",
        )
        wait = tasks.LambdaInvoke(
            self,
            states.WAIT_FOR_APPROVAL,
            lambda_function=functions.rollout_approval,
            integration_pattern=sfn.IntegrationPattern.WAIT_FOR_TASK_TOKEN,
            payload=sfn.TaskInput.from_object(
                {"taskToken": sfn.JsonPath.task_token, "task": sfn.JsonPath.entire_payload}
            ),
            # The answer's content is never read (the ledger holds the decision): discarded,
            # so an oversized forged answer cannot end the run (States.DataLimitExceeded).
            result_path=sfn.JsonPath.DISCARD,
            task_timeout=sfn.Timeout.at("$.approval.waitSeconds"),
            retry_on_service_exceptions=False,
        )
        verify = invoke(
            self,
            states.VERIFY_THE_APPROVAL,
            functions.rollout_verify,
            payload=task_input(),
            catch=Catch(self._stopped),
        )
        # Every failure is verified too: a decision recorded just before the deadline counts,
        # so does one recorded while the roll-out was between two waits (ApprovalAlreadyDecided);
        # a SendTaskFailure by the token is an answer like any other (ignored), whatever error
        # name it claims; the wait step's own failure stops the roll-out (ApprovalWaitFailed).
        guard(wait, retries=(LAMBDA_SERVICE_RETRY,), catch=Catch(verify))
        wait.next(verify)
        timed_out = self._outcome(states.APPROVAL_TIMED_OUT, APPROVAL_TIMED_OUT).next(report)
        rejected = self._outcome(states.ROLLOUT_REJECTED, REJECTED).next(report)
        ignored = self._email(
            states.WRITE_THE_IGNORED_ANSWER_EMAIL,
            states.SEND_THE_IGNORED_ANSWER_EMAIL,
            APPROVAL_IGNORED,
        )
        ignored.next(wait)
        decided = sfn.Condition.is_present("$.approval.decision")
        # Anything but a recorded approval is not one: production changes only on a yes.
        verify.next(
            sfn.Choice(self, states.APPROVED)
            .when(
                sfn.Condition.and_(
                    decided, sfn.Condition.string_equals("$.approval.decision", APPROVED)
                ),
                after,
            )
            .when(decided, rejected)
            .when(sfn.Condition.number_greater_than("$.approval.waitSeconds", 0), ignored)
            .otherwise(timed_out)
        )
        email = self._email(
            states.WRITE_THE_APPROVAL_REQUEST, states.SEND_THE_APPROVAL_REQUEST, APPROVAL_REQUESTED
        )
        return email.next(clock).next(wait)


def roll_out_each_image(scope: Construct, parts: RolloutParts) -> sfn.Map:
    """Each new image of `$.results` (an image's result: image, outcome, newImageName) rolled
    out side by side. In the hub after the breaker: a roll-out waiting days for its approval
    neither holds an update slot nor counts toward the breaker (a roll-out is not an update
    that failed)."""
    each_result = {
        "rootImageName.$": "$$.Map.Item.Value.image",
        "result.$": "$$.Map.Item.Value",
        "executionId.$": "$$.Execution.Id",
    }
    return sfn.Map(
        scope,
        states.ROLL_OUT_EACH_IMAGE,
        items_path="$.results",
        item_selector=each_result,
        result_path="$.rollouts",
    ).item_processor(RollOutOneImage(scope, "RollOutOneImage", parts))


def summarize_the_rollouts(scope: Construct) -> sfn.Chain:
    """`$.rolloutSummary.anyFailed`; two steps, as for the images: an intrinsic function's
    argument is a plain path."""
    list_rollout_failures = sfn.Pass(
        scope,
        states.LIST_ROLLOUT_FAILURES,
        parameters={"failed.$": "$.rollouts[*].failed"},
        result_path="$.rolloutFailures",
    )
    summarize_rollouts = sfn.Pass(
        scope,
        states.SUMMARIZE_THE_ROLLOUTS,
        parameters={"anyFailed.$": "States.ArrayContains($.rolloutFailures.failed, true)"},
        result_path="$.rolloutSummary",
    )
    return list_rollout_failures.next(summarize_rollouts)
