"""Whether a run still runs (integrations/executions.py), as DescribeExecution answers."""

from __future__ import annotations

from typing import Any

import pytest
from botocore.exceptions import ClientError

from image_updater.integrations.executions import Executions, RunStatusUnknown

ARN = "arn:aws:states:us-east-1:123456789012:execution:Updater:run-1"


class Answers:
    def __init__(self, answer: dict[str, Any] | str) -> None:
        self.answer = answer
        self.asked: list[str] = []

    def describe_execution(self, executionArn: str) -> dict[str, Any]:
        self.asked.append(executionArn)
        if isinstance(self.answer, str):
            raise ClientError({"Error": {"Code": self.answer}}, "DescribeExecution")
        return self.answer


@pytest.mark.parametrize(
    ("answer", "running"),
    [
        ({"status": "RUNNING"}, True),
        ({"status": "ABORTED"}, False),
        ({"status": "FAILED"}, False),
        ({"status": "TIMED_OUT"}, False),
        ({"status": "SUCCEEDED"}, False),
        ("ExecutionDoesNotExist", False),  # never known, or forgotten 90 days after it closed
        ("AccessDeniedException", False),  # a state machine the stack no longer has
    ],
)
def test_only_a_running_execution_runs(answer: dict[str, Any] | str, running: bool) -> None:
    client = Answers(answer)
    assert Executions(client).running(ARN) is running
    assert client.asked == [ARN]


def test_an_unanswered_question_is_not_taken_for_an_answer() -> None:
    with pytest.raises(RunStatusUnknown, match="ThrottlingException"):
        Executions(Answers("ThrottlingException")).running(ARN)
