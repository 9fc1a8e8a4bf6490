"""Child executions (startExecution.sync:2): the rehearsal runs them as AWS does, and each image's
distribution is one, named so that a retried start never distributes twice."""

from __future__ import annotations

import hashlib
import json
import re
import time
import uuid
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError

from infra.config.distribution import EVENTS_PER_CHILD_EXECUTION, image_distribution_events
from infra.workflow.distribution import DISTRIBUTE_EACH_IMAGE
from rehearsal.appstream import SimulatedAppStream
from rehearsal.runner.child_executions import sync_child_executions
from tests.workflow.conftest import AddImage, Timeline
from tests.workflow.steps import imga_has_an_update_imgb_none
from tests.workflow.test_distribution import distributing

pytestmark = pytest.mark.workflow

ROLE = "arn:aws:iam::123456789012:role/rehearsal"
EXECUTION_NAME = re.compile(r"[0-9A-Za-z_-]{1,80}")


def _start_the_child(child_arn: str) -> dict[str, Any]:
    return {
        "StartAt": "Start",
        "States": {
            "Start": {
                "Type": "Task",
                "Resource": "arn:aws:states:::states:startExecution.sync:2",
                "Parameters": {
                    "StateMachineArn": child_arn,
                    "Name.$": "$.name",
                    "Input": {"image.$": "$.image"},
                },
                "Catch": [{"ErrorEquals": ["States.ALL"], "Next": "Failed"}],
                "OutputPath": "$.Output",
                "End": True,
            },
            "Failed": {"Type": "Pass", "End": True},
        },
    }


def _run_to_the_end(client: Any, machine: str, payload: dict[str, Any]) -> dict[str, Any]:
    arn = client.start_execution(
        stateMachineArn=machine, name=str(uuid.uuid4()), input=json.dumps(payload)
    )["executionArn"]
    for _ in range(200):
        described: dict[str, Any] = client.describe_execution(executionArn=arn)
        if described["status"] != "RUNNING":
            return described
        time.sleep(0.05)
    raise TimeoutError(arn)


@pytest.mark.parametrize("child_fails", [False, True], ids=["succeeds", "fails"])
def test_a_child_execution_is_waited_for_its_output_parsed_its_failure_a_task_failure(
    child_fails: bool,
) -> None:
    from moto import mock_aws

    with (
        mock_aws(config={"stepfunctions": {"execute_state_machine": True}}),
        sync_child_executions(),
    ):
        client = boto3.client("stepfunctions", region_name="us-east-1")
        # Given a child that answers with its input's image (or fails naming it)
        ending: dict[str, Any] = (
            {"Type": "Fail", "Error": "CopyFailed", "Cause": "no room"}
            if child_fails
            else {"Type": "Pass", "Parameters": {"copied.$": "$.image"}, "End": True}
        )
        child = client.create_state_machine(
            name="child",
            roleArn=ROLE,
            definition=json.dumps({"StartAt": "Copy", "States": {"Copy": ending}}),
        )["stateMachineArn"]
        parent = client.create_state_machine(
            name="parent", roleArn=ROLE, definition=json.dumps(_start_the_child(child))
        )["stateMachineArn"]

        # When the parent starts it
        ended = _run_to_the_end(client, parent, {"name": "one", "image": "ImgA"})

        # Then the parent's result is the child's output, parsed; or, when the child failed,
        # States.TaskFailed whose cause is the child's DescribeExecution (its error inside)
        assert ended["status"] == "SUCCEEDED"
        output = json.loads(ended["output"])
        if not child_fails:
            assert output == {"copied": "ImgA"}
        else:
            assert output["Error"] == "States.TaskFailed"
            described = json.loads(output["Cause"])
            assert (described["Status"], described["Error"]) == ("FAILED", "CopyFailed")
            assert described["Input"] == {"image": "ImgA"}
        # and a second start of the same name (a retried task) meets the first one
        again = _run_to_the_end(client, parent, {"name": "one", "image": "ImgA"})
        error = json.loads(again["output"])
        assert error["Error"] == "StepFunctions.ExecutionAlreadyExistsException"
        assert len(client.list_executions(stateMachineArn=child)["executions"]) == 1


def test_each_images_distribution_is_a_child_named_by_the_run_and_the_image(
    sim: SimulatedAppStream, add_image: AddImage, timeline: Timeline
) -> None:
    # Given ImgA has an update (ImgB none) and a hub that copies to two Regions
    imga_has_an_update_imgb_none(add_image)

    # When the schedule starts a run
    with distributing().account(sim) as account:
        execution = account.run(timeline.clock)
        assert execution.status == "SUCCEEDED", execution.cause

        # Then each image's distribution ran as a child execution, linked to the run, named
        # by the SHA-256 of the run's execution ARN and the image
        run_arn = execution.children[0].input["AWS_STEP_FUNCTIONS_STARTED_BY_EXECUTION_ID"]
        assert run_arn.startswith("arn:aws:states:") and ":execution:" in run_arn
        assert sorted(child.input["rootImageName"] for child in execution.children) == [
            "ImgA",
            "ImgB",
        ]
        for child in execution.children:
            assert child.status == "SUCCEEDED"
            image = child.input["rootImageName"]
            expected = hashlib.sha256(f"{run_arn} {image}".encode()).hexdigest()
            assert child.name == expected and EXECUTION_NAME.fullmatch(child.name)
            # each child's history within what the synth allows for two copy Regions
            assert len(child.history) <= image_distribution_events(2)
        # The run's own history only holds each child's start and end: 8 events an image
        # (Map iteration 2, the task's 6) and the Map's own 2, within the synth's allowance
        events = distribution_events(execution.history)
        assert events == 2 + 8 * 2 <= EVENTS_PER_CHILD_EXECUTION * 2

        # And a retried start of ImgA's distribution names the same execution: AWS refuses
        # it (it has ended) rather than distributing a second time
        client = boto3.client("stepfunctions", region_name="us-east-1")
        (copied,) = [c for c in execution.children if c.input["rootImageName"] == "ImgA"]
        machine = copied.arn.replace(":execution:", ":stateMachine:").rsplit(":", 1)[0]
        with pytest.raises(ClientError) as refused:
            client.start_execution(
                stateMachineArn=machine, name=copied.name, input=json.dumps(copied.input)
            )
        assert refused.value.response["Error"]["Code"] == "ExecutionAlreadyExists"
        assert len(client.list_executions(stateMachineArn=machine)["executions"]) == 2


def distribution_events(history: list[dict[str, Any]]) -> int:
    """Events of the run's history inside the distribution Map (its own entry and exit aside)."""
    names = [
        (e.get("stateEnteredEventDetails") or e.get("stateExitedEventDetails") or {}).get("name")
        for e in history
    ]
    start = names.index(DISTRIBUTE_EACH_IMAGE)
    end = len(names) - 1 - names[::-1].index(DISTRIBUTE_EACH_IMAGE)
    return end - start - 1
