"""One image's way through a run, as a fragment (the Map's item processor):

Check for updates -> Update available?
    dry run             -> Dry run: report only
    an earlier run's update settled unreported -> e-mail
    no update           -> Already up to date (or e-mail, with notifyNoUpdate)
    update in progress  -> Wait for the build
    otherwise           -> Start the update -> Started, or done by another run?
Wait for the build -> Check the build -> Image settled?
    still building      -> Wait for the build
    reported by another run -> Reported by another run
    ready or failed     -> Retire older images -> e-mail
    otherwise           -> e-mail
any error (after retries) -> Dry run? -> keep it in the results | e-mail
e-mail: write, send, and for a final report this run claimed, mark it sent (notify.py)
"""

from __future__ import annotations

from aws_cdk import Duration
from aws_cdk import aws_stepfunctions as sfn
from constructs import Construct

from image_updater.errors import (
    LAMBDA_TIMEOUT_ERRORS,
    TRANSIENT_ERRORS,
    LineageBusy,
    UpdatesLockBusy,
)
from image_updater.models import (
    FAILED,
    FOLLOW,
    LATE_REPORT,
    NO_UPDATE,
    REPORTED_ELSEWHERE,
    SUCCEEDED,
)
from infra.workflow import states
from infra.workflow.fragment import Fragment, WorkflowParts, image_result
from infra.workflow.notify import ReportAndSend
from infra.workflow.tasks import APPSTREAM_RETRIES, Catch, Retry, invoke

# Create looks at the lineage again before it starts anything; a retry after a Lambda timeout
# therefore follows an update the timed-out attempt did start.
# Waits of 1, 2.5, 6.25 and 15.6 minutes: longer together than a lock is ever held, and than a
# create on record is believed while AppStream does not list its image.
_LOCK_BUSY_RETRY = Retry(
    (LineageBusy.__name__, UpdatesLockBusy.__name__), Duration.minutes(1), 4, 2.5
)
_CREATE_TIMED_OUT_RETRY = Retry(LAMBDA_TIMEOUT_ERRORS, Duration.seconds(30), 2)
_RETENTION_RETRY = Retry(TRANSIENT_ERRORS, Duration.seconds(30), 4, 1.5, jitter=True)


class UpdateOneImage(Fragment):
    def __init__(self, scope: Construct, construct_id: str, parts: WorkflowParts) -> None:
        super().__init__(scope, construct_id)
        config, functions = parts.config, parts.functions
        report = ReportAndSend(self, "Notify", parts, report=functions.report, ledger=parts.ledger)
        on_error = Catch(
            sfn.Choice(self, states.DRY_RUN_ON_ERROR)
            .when(
                sfn.Condition.boolean_equals("$.dryRun", True),
                self._result(states.DRY_RUN_KEEP_THE_ERROR, "DRY_RUN", error="$.error"),
            )
            .otherwise(report)
        )
        check = invoke(
            self, states.CHECK, functions.check, retries=APPSTREAM_RETRIES, catch=on_error
        )
        create = invoke(
            self,
            states.CREATE,
            functions.create,
            retries=(*APPSTREAM_RETRIES, _LOCK_BUSY_RETRY, _CREATE_TIMED_OUT_RETRY),
            catch=on_error,
        )
        poll = invoke(self, states.POLL, functions.poll, retries=APPSTREAM_RETRIES, catch=on_error)
        # Retention never fails the update it follows: any error goes into the e-mail.
        retire = invoke(
            self,
            states.RETIRE_OLDER_IMAGES,
            functions.retain,
            retries=(_RETENTION_RETRY,),
            catch=Catch(report, "$.retention"),
        )
        # Retention runs after every update that settled, failed ones too: a failing month
        # must not pile up FAILED images (they hold quota and can start nothing).
        settled_update = sfn.Condition.or_(
            sfn.Condition.string_equals("$.outcome", SUCCEEDED),
            sfn.Condition.string_equals("$.outcome", FAILED),
        )
        wait = sfn.Wait(
            self,
            states.WAIT,
            time=sfn.WaitTime.duration(Duration.minutes(config.poll_interval_minutes)),
        )
        no_update: sfn.IChainable = (
            report
            if config.notify_no_update
            else self._result(states.ALREADY_UP_TO_DATE, NO_UPDATE)
        )
        # Check for updates -> Update available?
        check.next(
            sfn.Choice(self, states.UPDATE_AVAILABLE)
            .when(
                sfn.Condition.boolean_equals("$.dryRun", True),
                self._result(
                    states.DRY_RUN_REPORT_ONLY,
                    "DRY_RUN",
                    action="$.action",
                    newImageName="$.newImageName",
                ),
            )
            .when(
                sfn.Condition.and_(
                    sfn.Condition.string_equals("$.action", LATE_REPORT), settled_update
                ),
                retire,
            )
            .when(sfn.Condition.string_equals("$.action", LATE_REPORT), report)
            .when(sfn.Condition.string_equals("$.action", NO_UPDATE), no_update)
            .when(sfn.Condition.string_equals("$.action", FOLLOW), wait)
            .otherwise(create)
        )
        # Start the update -> Started, or done by another run?
        create.next(
            sfn.Choice(self, states.STARTED_OR_DONE_ELSEWHERE)
            .when(sfn.Condition.string_equals("$.action", NO_UPDATE), no_update)
            .otherwise(wait)
        )
        # Wait for the build -> Check the build -> Image settled?
        wait.next(poll).next(
            sfn.Choice(self, states.IMAGE_SETTLED)
            .when(sfn.Condition.is_null("$.outcome"), wait)
            .when(
                sfn.Condition.string_equals("$.outcome", REPORTED_ELSEWHERE),
                self._result(
                    states.REPORTED_BY_ANOTHER_RUN,
                    REPORTED_ELSEWHERE,
                    newImageName="$.newImageName",
                ),
            )
            .when(settled_update, retire)
            .otherwise(report)
        )
        retire.next(report)
        # The branch ends in its own terminal states: nothing follows it inside the Map.
        self.begins_with(check)

    def _result(self, name: str, outcome: str, **paths: str) -> sfn.Pass:
        """An end of the branch that is no failure: the image's result (see image_result)."""
        return sfn.Pass(self, name, parameters=image_result(outcome, paths=paths))
