"""A spoke's state machine:

    Find the hub's new images (discover: the newest image of each lineage the hub shared or
                               copied here, claimed once in the ledger)
      could not look -> e-mail -> Fail
    -> Map over them ( RollOutOneImage: the hub's roll-out sub-flow, unchanged: canary ->
                       soak -> health -> approval -> window -> production, rollback, e-mails )
    -> Summarize the roll-outs -> Succeed | Fail

A run that finds nothing new (an image already claimed by an earlier or overlapping run) has
nothing to roll out and sends no e-mail.
"""

from __future__ import annotations

from aws_cdk import Duration
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_sns as sns
from aws_cdk import aws_stepfunctions as sfn
from constructs import Construct

from infra.config import UpdaterConfig
from infra.constructs.workflow import state_machine
from infra.spoke.functions import SpokeFunctions
from infra.workflow import states
from infra.workflow.emails import publish_text
from infra.workflow.fragment import RolloutParts
from infra.workflow.rollout import roll_out_each_image, rollout_hours, summarize_the_rollouts
from infra.workflow.tasks import TRANSIENT_RETRY, Catch, invoke

FIND_NEW_IMAGES = "Find the hub's new images"
SEND_THE_DISCOVERY_FAILURE = "E-mail that new images could not be looked for"
DISCOVERY_FAILED = "Could not look for new images"
ALL_ROLLOUTS_DONE = "All roll-outs done"
DID_EVERY_ROLLOUT_SUCCEED = "Did every roll-out succeed?"
# Slack for finding the images and the run's own steps, beyond the roll-out's longest wait.
_SLACK_HOURS = 1


class SpokeWorkflow(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: UpdaterConfig,
        functions: SpokeFunctions,
        topic: sns.ITopic,
        ledger: dynamodb.ITable,
    ) -> None:
        super().__init__(scope, construct_id)
        parts = RolloutParts(config=config, functions=functions, topic=topic, ledger=ledger)
        failed = sfn.Fail(
            self,
            DISCOVERY_FAILED,
            error="DiscoveryFailed",
            cause="The spoke could not look for the hub's new images; the reason was e-mailed.",
        )
        tell = publish_text(
            self,
            SEND_THE_DISCOVERY_FAILURE,
            topic,
            subject="AppStream image updater (spoke): could not look for new images",
            text=sfn.JsonPath.format(
                # (no apostrophe: States.Format quotes its template with them)
                "This spoke could not look for the new images of the hub, so nothing was "
                "rolled out in this run; the next scheduled run looks again. {}: {}",
                sfn.JsonPath.string_at("$.error.Error"),
                sfn.JsonPath.string_at("$.error.Cause"),
            ),
            next_step="Nothing, if the cause was passing: the next scheduled run looks again.",
            catch=Catch(failed),
            chat=config.chat_configured,
        )
        tell.next(failed)
        find = invoke(
            self,
            FIND_NEW_IMAGES,
            functions.discover,
            # The run's input as the hub's workflow takes it (the schedule's, run-now's).
            payload=sfn.TaskInput.from_object(
                {"executionId": sfn.JsonPath.execution_id, "input": sfn.JsonPath.entire_payload}
            ),
            retries=(TRANSIENT_RETRY,),
            catch=Catch(tell),
        )
        decide = sfn.Choice(self, DID_EVERY_ROLLOUT_SUCCEED)
        decide.when(
            sfn.Condition.boolean_equals("$.rolloutSummary.anyFailed", True),
            sfn.Fail(
                self,
                states.A_ROLLOUT_FAILED,
                error="RolloutFailed",
                cause="A roll-out to fleets failed or was rolled back; each was e-mailed.",
            ),
        ).otherwise(sfn.Succeed(self, ALL_ROLLOUTS_DONE))
        definition = (
            find.next(roll_out_each_image(self, parts))
            .next(summarize_the_rollouts(self))
            .next(decide)
        )
        self.state_machine = state_machine(
            self,
            config,
            definition,
            comment="Rolls the hub's new AppStream images out to this account's tagged fleets",
            timeout=Duration.hours(rollout_hours(config) + _SLACK_HOURS),
        )
