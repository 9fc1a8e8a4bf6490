"""`arn:aws:states:::states:startExecution.sync:2` (a child execution the run starts and waits
for), made to work in moto's interpreter as on AWS.

moto's Step Functions integration builds the request and reads the answer but leaves out the
step between them that AWS (and LocalStack, which moto's interpreter comes from) has: the
state's parameters (StateMachineArn, Input, Name) become the API's members (stateMachineArn,
...), and the API's answer becomes the state's result with the integration's names
(ExecutionArn, StartDate; for .sync:2 DescribeExecution's Status, Output, Error, Cause, ...).
Without it every start fails with States.Runtime. This adds that step, from botocore's model of
the Step Functions API, so the rest is moto's: the child runs as an execution of its own, .sync:2
waits for it and returns its DescribeExecution with Input and Output parsed as JSON, and a
child that fails, times out or is aborted fails the task with States.TaskFailed and
DescribeExecution's answer (as JSON) as the cause, as AWS documents. A second start with the
same name answers ExecutionAlreadyExists (StepFunctions.ExecutionAlreadyExistsException).
And a .sync task only waits for the child: moto also listens for a task token beside it. A run
stopped (StopExecution) while it waits for its child ends ABORTED, as on AWS: moto's task then
reads the answer it never got and records that error over the stop (FAILED, States.Runtime).

Not modelled: AWS's best-effort attempt to stop a running child when its parent is stopped (a
test that stops a run stops its child too, or leaves it running, as the case it shows).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from functools import cache
from typing import Any
from unittest import mock


@cache
def _operations() -> Any:
    import botocore.session

    return botocore.session.get_session().get_service_model("stepfunctions")


def _operation(service: Any, action: str | None) -> Any:
    """The API operation of the task (`start_execution`, `describe_execution`)."""
    name = service._get_boto_service_action(action)
    return _operations().operation_model("".join(p.title() for p in name.split("_")))


@contextmanager
def sync_child_executions() -> Iterator[None]:
    from moto.stepfunctions.parser.asl.component.state.exec.state_task.service import (
        state_task_service_sfn as sfn_task,
    )
    from moto.stepfunctions.parser.asl.eval.environment import Environment
    from moto.stepfunctions.parser.asl.eval.program_state import ProgramStopped

    task = sfn_task.StateTaskServiceSfn
    original_parameters = task._normalise_parameters

    def normalise_parameters(
        self: Any,
        parameters: dict[str, Any],
        boto_service_name: str | None = None,
        service_action_name: str | None = None,
    ) -> None:
        # moto's own step first: Input given as JSON becomes its text.
        original_parameters(self, parameters, boto_service_name, service_action_name)
        self._to_boto_request(parameters, _operation(self, service_action_name).input_shape)

    def normalise_response(
        self: Any,
        response: Any,
        boto_service_name: str | None = None,
        service_action_name: str | None = None,
    ) -> None:
        self._from_boto_response(response, _operation(self, service_action_name).output_shape)

    original_sync = task._eval_sync

    def eval_sync(self: Any, env: Any, sync_resolver: Any, **kwargs: Any) -> Any:
        # moto also listens for a task token beside a .sync task (its integration supports
        # both); a .sync task has none on AWS, and the runner would take that listener for a
        # task waiting for its token (an approval) and time it out.
        return original_sync(
            self, env=env, sync_resolver=sync_resolver, **{**kwargs, "callback_endpoint": None}
        )

    original_set_error = Environment.set_error

    def set_error(self: Any, error: Any) -> None:
        # A stopped execution stays stopped (ABORTED) whatever its interrupted state does next.
        if not isinstance(self.program_state(), ProgramStopped):
            original_set_error(self, error)

    with (
        mock.patch.object(Environment, "set_error", set_error),
        mock.patch.object(task, "_eval_sync", eval_sync),
        mock.patch.object(task, "_normalise_parameters", normalise_parameters),
        mock.patch.object(task, "_normalise_response", normalise_response),
    ):
        yield
