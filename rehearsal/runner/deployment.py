"""The synthesized stack deployed in moto, once per account, serving runs one after the other."""

from __future__ import annotations

import io
import json
import os
import time
import uuid
import warnings
import zipfile
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from functools import cache
from typing import Any, TypedDict, Unpack
from unittest import mock

from infra.constructs.functions import RUNTIME
from rehearsal.appstream import SimulatedAppStream
from rehearsal.runner.account_state import (
    restore_alarms,
    restore_ledger,
    restore_schedule,
    save_ledger,
    save_schedule,
)
from rehearsal.runner.clients import client
from rehearsal.runner.clock import SimulatedClock
from rehearsal.runner.execution import (
    ApprovalListener,
    ApprovalRequest,
    Execution,
    ListenerError,
    ProgressListener,
)
from rehearsal.runner.interpreter import (
    ENDED,
    executions_start_at,
    interpreter_shortcuts,
    simulated_waits,
)
from rehearsal.runner.lambdas import in_process_lambdas, quiet
from rehearsal.runner.live import ACCOUNT, REGION, Live, Recorder
from rehearsal.runner.observed import (
    capture_published_events,
    execution_history,
    published_events,
    sent_emails,
)
from rehearsal.template import SynthesizedApp, synthesize


@dataclass(frozen=True)
class Deployment:
    state_machine_arn: str
    topic_arn: str
    region: str = REGION
    schedule_name: str = ""
    ledger_table: str = ""


class RunOptions(TypedDict, total=False):
    """How `DeployedAccount.run` runs an execution (and `WorkflowRunner.run`, which passes
    them on)."""

    on_invocation: ProgressListener | None
    on_approval: ApprovalListener | None
    timeout_seconds: float


class DeployedAccount:
    """A deployment serving runs one after the other (see `WorkflowRunner.account`)."""

    def __init__(
        self, sim: SimulatedAppStream, deployment: Deployment, live: Live, schedule_input: Any
    ) -> None:
        self.sim = sim
        self.deployment = deployment
        self._live = live
        self._sfn = client("stepfunctions")
        self._schedule_input = schedule_input
        self._emails_sent = 0

    def use_clock(self, clock: SimulatedClock) -> None:
        """What the account's time is between runs (for tools run by hand)."""
        self._live.run = Recorder(clock=clock)

    def run(
        self,
        clock: SimulatedClock,
        execution_input: Any = None,
        *,
        on_invocation: ProgressListener | None = None,
        on_approval: ApprovalListener | None = None,
        timeout_seconds: float = 120,
    ) -> Execution:
        """One execution to its end. A task that waits for its token (a roll-out's approval)
        is handed to `on_approval`; one left unanswered times out."""
        payload = self._schedule_input if execution_input is None else execution_input
        recorder = Recorder(clock=clock, on_invocation=on_invocation)
        self._live.run = recorder
        started = self._sfn.start_execution(
            stateMachineArn=self.deployment.state_machine_arn,
            name=f"rehearsal-{uuid.uuid4()}",
            input=json.dumps(payload),
        )
        arn = started["executionArn"]
        deadline = time.monotonic() + timeout_seconds
        while not ENDED.wait_for(arn, 0.02):
            with recorder.lock:
                waiting, recorder.waiting = recorder.waiting, []
            for request in waiting:
                self._answer(request, on_approval, recorder)
            if time.monotonic() > deadline:
                self._sfn.stop_execution(executionArn=arn, error="RehearsalTimeout")
                raise TimeoutError(f"execution did not finish in {timeout_seconds} s")
        if recorder.listener_errors:
            raise ListenerError("an on_invocation listener failed") from recorder.listener_errors[0]
        described = self._sfn.describe_execution(executionArn=arn)
        emails = sent_emails(self.deployment.topic_arn)
        new_emails, self._emails_sent = emails[self._emails_sent :], len(emails)
        return Execution(
            status=described["status"],
            input=payload,
            output=json.loads(described["output"]) if described.get("output") else None,
            error=described.get("error"),
            cause=described.get("cause"),
            history=execution_history(arn),
            invocations=recorder.invocations,
            emails=new_emails,
            waits=recorder.waits,
            retry_waits=recorder.retry_waits,
            elapsed=clock.elapsed(),
            sim=self.sim,
            events=published_events(),
            service_calls=recorder.service_calls,
            approvals=list(recorder.approvals),
        )

    @staticmethod
    def _answer(
        request: ApprovalRequest, on_approval: ApprovalListener | None, recorder: Recorder
    ) -> None:
        if on_approval is not None:
            try:
                on_approval(request)
            except Exception as error:  # the rehearsal's own bug: raised after the run
                recorder.listener_errors.append(error)
        if not request.answered:
            request.expire()


@cache
def _runtime_name() -> str:
    """The functions' runtime ("python3.x"): read through jsii (a call into node) once."""
    return RUNTIME.name


def _zip() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("placeholder.py", "# the runner calls the real handlers in-process\n")
    return buffer.getvalue()


class WorkflowRunner:
    """Synthesizes the app once per configuration and runs executions against a simulation."""

    def __init__(
        self, context: Mapping[str, Any] | None = None, *, show_logs: bool = False
    ) -> None:
        self.app: SynthesizedApp = synthesize(dict(context or {}))
        self.show_logs = show_logs

    def run(
        self,
        sim: SimulatedAppStream,
        clock: SimulatedClock,
        execution_input: Any = None,
        **options: Unpack[RunOptions],
    ) -> Execution:
        """Run one execution, on a deployment of its own; the input defaults to what the
        schedule sends."""
        with self.account(sim) as account:
            return account.run(clock, execution_input, **options)

    @contextmanager
    def account(self, sim: SimulatedAppStream) -> Iterator[DeployedAccount]:
        """The stack deployed once for any number of runs one after the other, each on its own
        clock: what AWS keeps between them (ledger, schedule, topic) stays in place."""
        live = Live()
        with self._aws(sim, live) as deployment:
            yield DeployedAccount(sim, deployment, live, self.app.schedule_input)

    @contextmanager
    def deployed(
        self,
        sim: SimulatedAppStream,
        clock: SimulatedClock,
        *,
        on_invocation: ProgressListener | None = None,
    ) -> Iterator[Deployment]:
        """The stack "deployed" in moto, for tools that start executions themselves."""
        live = Live()
        live.run = Recorder(clock=clock, on_invocation=on_invocation)
        with self._aws(sim, live) as deployment:
            yield deployment

    @contextmanager
    def _aws(self, sim: SimulatedAppStream, live: Live) -> Iterator[Deployment]:
        from moto import mock_aws

        environment = {
            **self.app.function_environment,
            "AWS_DEFAULT_REGION": REGION,
            "AWS_REGION": REGION,
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            "POWERTOOLS_METRICS_DISABLED": str(not self.show_logs).lower(),
            "POWERTOOLS_LOG_LEVEL": "INFO" if self.show_logs else "WARNING",
        }
        with (
            mock.patch.dict(os.environ, environment),
            # boto3's default session is kept across runs (see SimulatedAppStream.activate).
            mock_aws(
                config={
                    "core": {"reset_boto3_session": False},
                    "stepfunctions": {"execute_state_machine": True},
                }
            ),
            executions_start_at(live),
            interpreter_shortcuts(),
            in_process_lambdas(self.app.handlers, live, sim),
            simulated_waits(live),
            mock.patch("image_updater.clock.utc_now", live.now),
            warnings.catch_warnings(),
            sim.active(),
            # botocore's pause before re-sending an AppStream request passes simulated time.
            sim.pausing_with(live.pass_time),
        ):
            # Steps that publish no metric (plan, most reports) are normal here.
            warnings.filterwarnings("ignore", "No application metrics to publish")
            self._reset_clients()
            quiet(self.show_logs)
            arns = self._deploy()
            capture_published_events()
            restore_ledger(self.app.ledger_table, sim)
            restore_alarms(sim)
            restore_schedule(self.app, sim, state_machine_arn=arns[0])
            try:
                yield Deployment(
                    state_machine_arn=arns[0],
                    topic_arn=arns[1],
                    schedule_name=self.app.schedule["Properties"]["Name"],
                    ledger_table=self.app.ledger_table["name"],
                )
            finally:
                save_ledger(self.app.ledger_table, sim)
                save_schedule(self.app, sim)

    @staticmethod
    def _reset_clients() -> None:
        # Clients cached by the handlers belong to a previous mock; start fresh.
        from image_updater import events, ledger, scheduler
        from image_updater.integrations import cloudwatch
        from image_updater.integrations.appstream import client as appstream

        appstream.default_client.cache_clear()
        ledger.default_client.cache_clear()
        events.default_client.cache_clear()
        scheduler.default_client.cache_clear()
        cloudwatch.default_client.cache_clear()

    def _deploy(self) -> tuple[str, str]:
        iam = client("iam")
        role = iam.create_role(
            RoleName="rehearsal", AssumeRolePolicyDocument=json.dumps({"Version": "2012-10-17"})
        )["Role"]["Arn"]
        lambda_client = client("lambda")
        references: dict[str, str] = {}
        for logical_id, spec in self.app.handlers.items():
            function = lambda_client.create_function(
                FunctionName=logical_id,
                Runtime=_runtime_name(),
                Role=role,
                Handler=spec,
                Code={"ZipFile": _zip()},
            )
            references[logical_id] = function["FunctionArn"]
        topic_arn = client("sns").create_topic(Name="updates")["TopicArn"]
        references[self.app.topic_id] = topic_arn
        definition = self.app.definition(references, region=REGION, account=ACCOUNT)
        machine = client("stepfunctions").create_state_machine(
            name="AppStreamImageUpdater", definition=definition, roleArn=role
        )
        return machine["stateMachineArn"], topic_arn
