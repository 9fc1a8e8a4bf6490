"""Runs the synthesized workflow end to end, offline.

The exact state machine `cdk synth` produces runs in moto's Step Functions interpreter;
its Lambda tasks call the real handlers in-process; the handlers' AppStream calls are
answered by the simulation; SNS messages are collected from moto. Wait states and Retry
intervals do not sleep: they advance a simulated clock, and every requested wait is kept.
"""

from __future__ import annotations

import contextlib
import importlib
import io
import json
import logging
import os
import sys
import threading
import time
import uuid
import warnings
import zipfile
from collections import Counter
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, timezone
from enum import Enum
from functools import cache
from types import SimpleNamespace
from typing import Any, Self
from unittest import mock

import boto3

from infra.constructs.functions import RUNTIME
from rehearsal.appstream import SimulatedAppStream
from rehearsal.template import SynthesizedApp, synthesize

REGION = "us-east-1"
ACCOUNT = "123456789012"
_TERMINAL = frozenset({"SUCCEEDED", "FAILED", "TIMED_OUT", "ABORTED"})
# Step Functions' quota for a state's input or output (and the execution's). moto does not
# enforce it, and `States.DataLimitExceeded` cannot be caught, so the runner checks it.
PAYLOAD_LIMIT_BYTES = 256 * 1024


class SimulatedClock:
    """Simulated time that Wait states and retries advance instead of sleeping.

    Each image has a timeline of its own (a lane), as its Map iteration waits independently
    of the others; the run's own steps use the "run" lane. A thread works in the lane of the
    image it last handled.
    """

    RUN_LANE = "run"

    def __init__(self, start: datetime | None = None) -> None:
        self.start = start or datetime.now(UTC).replace(microsecond=0)
        self._local = threading.local()
        self._lock = threading.Lock()
        self._offsets: dict[str, float] = {}

    def use_lane(self, lane: str | None) -> None:
        self._local.lane = lane or self.RUN_LANE

    def start_lane(self, lane: str, after: str | None) -> None:
        """An image's timeline begins where the one before it in the same Map slot ended
        (`after`), or where the run stands: with `maxConcurrentUpdates` slots, an image
        that waited for a free slot starts when the image before it finished."""
        with self._lock:
            self._offsets[lane] = self._offsets.get(after or self.RUN_LANE, 0.0)

    def join_lanes(self) -> None:
        """The run's own lane continues where its longest image lane ended: a step of the run
        itself (after the Map) starts once every image is done."""
        with self._lock:
            self._offsets[self.RUN_LANE] = max(self._offsets.values(), default=0.0)

    def _lane(self) -> str:
        return getattr(self._local, "lane", self.RUN_LANE)

    def now(self) -> datetime:
        with self._lock:
            return self.start + timedelta(seconds=self._offsets.get(self._lane(), 0.0))

    def elapsed(self) -> timedelta:
        with self._lock:
            return timedelta(seconds=max(self._offsets.values(), default=0.0))

    def advance(self, seconds: float) -> None:
        with self._lock:
            lane = self._lane()
            self._offsets[lane] = self._offsets.get(lane, 0.0) + seconds


def _image_of(state: Any) -> str | None:
    """The image a state's input or a Lambda event is about, if any."""
    if isinstance(state, dict):
        task = state.get("task", state)
        if isinstance(task, dict) and isinstance(task.get("rootImageName"), str):
            return str(task["rootImageName"])
    return None


@dataclass(frozen=True)
class Invocation:
    function: str  # logical id of the function in the template
    handler: str  # e.g. "image_updater.handlers.poll.handler"
    event: Any
    result: Any
    error: str | None
    at: datetime
    appstream_calls: int  # AppStream requests this invocation made

    @property
    def step(self) -> str:
        """plan, check, create, poll or report."""
        return self.handler.split(".")[-2]


@dataclass(frozen=True)
class Email:
    subject: str
    body: str
    attributes: dict[str, str]


@dataclass
class Execution:
    status: str
    input: dict[str, Any]
    output: Any
    error: str | None
    cause: str | None
    history: list[dict[str, Any]]
    invocations: list[Invocation]
    emails: list[Email]
    waits: list[float]
    retry_waits: list[float]
    elapsed: timedelta
    sim: SimulatedAppStream
    # The EventBridge events the run published, as a rule on the default bus delivers them.
    events: list[dict[str, Any]] = field(default_factory=list)
    # AWS requests the handlers made, by "service.Operation" (AppStream's are in `sim.calls`).
    service_calls: Counter[str] = field(default_factory=Counter)
    # The tasks that waited for a token (roll-out approvals), answered or timed out.
    approvals: list[ApprovalRequest] = field(default_factory=list)

    @property
    def oversized_states(self) -> list[str]:
        """States whose input or output AWS would refuse (States.DataLimitExceeded): on AWS
        the run would end there, without an e-mail."""
        found = []
        for event in self.history:
            for key, field_name in (
                ("stateEnteredEventDetails", "input"),
                ("stateExitedEventDetails", "output"),
            ):
                details = event.get(key) or {}
                size = len(str(details.get(field_name) or "").encode())
                if size > PAYLOAD_LIMIT_BYTES:
                    found.append(f"{details.get('name')} {field_name}: {size} bytes")
        return found

    @property
    def states(self) -> list[str]:
        """Names of the states entered, in order."""
        return [
            e["stateEnteredEventDetails"]["name"]
            for e in self.history
            if "stateEnteredEventDetails" in e
        ]

    def invoked(self, step: str) -> list[Invocation]:
        """Invocations of one step's function: plan, check, create, poll or report."""
        return [i for i in self.invocations if i.step == step]

    def appstream_calls(self, operation: str | None = None) -> list[Any]:
        return [c for c in self.sim.calls if operation in (None, c.operation)]


ProgressListener = Callable[[Invocation, timedelta], None]


class ApprovalRequest:
    """A task waiting for its token (the roll-out's approval), as the run's listener sees it.
    The listener answers with the real run-now code (SendTaskSuccess on moto), may first
    `let_time_pass`, or leaves it: an unanswered request times out, as on AWS."""

    def __init__(
        self,
        *,
        token: str,
        image: str | None,
        execution_arn: str,
        timeout_seconds: int,
        endpoint: Any,
        clock: SimulatedClock,
    ) -> None:
        self.token = token
        self.image = image
        self.execution_arn = execution_arn
        self.timeout_seconds = timeout_seconds
        self._endpoint = endpoint
        self._clock = clock
        self.expired = threading.Event()

    @property
    def answered(self) -> bool:
        return self._endpoint.get_outcome() is not None

    def let_time_pass(self, seconds: float) -> None:
        """The approver answers this long after the request (on the image's timeline)."""
        self._clock.use_lane(self.image)
        self._clock.advance(seconds)

    def expire(self) -> None:
        """Nobody answered within the task's TimeoutSeconds."""
        self.let_time_pass(self.timeout_seconds)
        self.expired.set()


ApprovalListener = Callable[[ApprovalRequest], None]


class ListenerError(RuntimeError):
    """A progress listener raised: the rehearsal's own bug, reported after the run."""


class StepByStepRun:
    """Another execution of the same deployment (say, one started by hand), driven one step
    at a time with the real handlers while a run of the workflow waits: how the tests and
    the rehearsal make runs overlap at an exact point. Call its steps from an
    `on_invocation` listener, or inside `WorkflowRunner.deployed`."""

    def __init__(self, root: str, started_at: datetime, name: str = "by-hand") -> None:
        self.task: dict[str, Any] = {
            "rootImageName": root,
            "executionId": f"arn:aws:states:{REGION}:{ACCOUNT}:execution:Updater:{name}",
            "startedAt": started_at.isoformat().replace("+00:00", "Z"),
            "dryRun": False,
        }

    @classmethod
    def minutes_after(cls, invocation: Invocation, minutes: int) -> Self:
        """A run started `minutes` after the run whose step `invocation` was."""
        started = datetime.fromisoformat(invocation.event["startedAt"].replace("Z", "+00:00"))
        return cls(invocation.event["rootImageName"], started + timedelta(minutes=minutes))

    def step(self, name: str) -> dict[str, Any]:
        """Run the `check`, `create` or `poll` step on this run's task; returns the new task."""
        handler = _handler(f"image_updater.handlers.{name}.handler")
        self.task = handler(self.task, _LambdaContext(f"by-hand-{name}"))
        return self.task


@dataclass(frozen=True)
class Deployment:
    state_machine_arn: str
    topic_arn: str
    region: str = REGION
    schedule_name: str = ""
    ledger_table: str = ""


class DeployedAccount:
    """A deployment serving runs one after the other (see `WorkflowRunner.account`)."""

    def __init__(
        self,
        runner: WorkflowRunner,
        sim: SimulatedAppStream,
        *,
        live: _Live,
        sfn: Any,
        machine_arn: str,
        topic_arn: str,
    ) -> None:
        self.sim = sim
        self._live = live
        self._sfn = sfn
        self.deployment = Deployment(
            state_machine_arn=machine_arn,
            topic_arn=topic_arn,
            schedule_name=runner.app.schedule["Properties"]["Name"],
            ledger_table=runner.app.ledger_table["name"],
        )
        self._schedule_input = runner.app.schedule_input
        self._emails_sent = 0

    def use_clock(self, clock: SimulatedClock) -> None:
        """What the account's time is between runs (for tools run by hand)."""
        self._live.run = _Recorder(clock=clock)

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
        recorder = _Recorder(clock=clock, on_invocation=on_invocation)
        self._live.run = recorder
        started = self._sfn.start_execution(
            stateMachineArn=self.deployment.state_machine_arn,
            name=f"rehearsal-{uuid.uuid4()}",
            input=json.dumps(payload),
        )
        arn = started["executionArn"]
        deadline = time.monotonic() + timeout_seconds
        while not _ENDED.wait_for(arn, 0.02):
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
            history=_history(arn),
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
        request: ApprovalRequest, on_approval: ApprovalListener | None, recorder: _Recorder
    ) -> None:
        if on_approval is not None:
            try:
                on_approval(request)
            except Exception as error:  # the rehearsal's own bug: raised after the run
                recorder.listener_errors.append(error)
        if not request.answered:
            request.expire()


@dataclass
class _Recorder:
    """One run's clock and what happened in it."""

    clock: SimulatedClock = field(default_factory=SimulatedClock)
    on_invocation: ProgressListener | None = None
    # Map worker -> the image it ran last (each worker is one concurrency slot).
    last_in_slot: dict[int, str] = field(default_factory=dict)
    invocations: list[Invocation] = field(default_factory=list)
    waits: list[float] = field(default_factory=list)
    retry_waits: list[float] = field(default_factory=list)
    service_calls: Counter[str] = field(default_factory=Counter)
    listener_errors: list[Exception] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    # Tasks waiting for their token, in the order they began to wait; `approvals` keeps all.
    waiting: list[ApprovalRequest] = field(default_factory=list)
    approvals: list[ApprovalRequest] = field(default_factory=list)


class _Live:
    """The run a deployment is working on now: what the interpreter's patches read, so that
    one deployment can serve many runs (a year of them) one after the other."""

    def __init__(self) -> None:
        self.run = _Recorder()

    @property
    def clock(self) -> SimulatedClock:
        return self.run.clock

    def now(self) -> datetime:
        return self.run.clock.now()


class _LambdaContext:
    """What Powertools reads from a Lambda context object."""

    def __init__(self, name: str) -> None:
        self.function_name = name
        self.function_version = "$LATEST"
        self.invoked_function_arn = f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:{name}"
        self.memory_limit_in_mb = 256
        self.aws_request_id = f"{name}-request"
        self.log_group_name = f"/aws/lambda/{name}"
        self.log_stream_name = "rehearsal"

    def get_remaining_time_in_millis(self) -> int:
        return 30_000


@cache
def _handler(spec: str) -> Callable[[Any, Any], Any]:
    module, _, attribute = spec.rpartition(".")
    handler: Callable[[Any, Any], Any] = getattr(importlib.import_module(module), attribute)
    return handler


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
        *,
        on_invocation: ProgressListener | None = None,
        on_approval: ApprovalListener | None = None,
        timeout_seconds: float = 120,
    ) -> Execution:
        """Run one execution, on a deployment of its own; the input defaults to what the
        schedule sends."""
        with self.account(sim) as account:
            return account.run(
                clock,
                execution_input,
                on_invocation=on_invocation,
                on_approval=on_approval,
                timeout_seconds=timeout_seconds,
            )

    @contextmanager
    def account(self, sim: SimulatedAppStream) -> Iterator[DeployedAccount]:
        """The stack deployed once for any number of runs one after the other, each on its own
        clock: what AWS keeps between them (ledger, schedule, topic) stays in place."""
        live = _Live()
        with self._aws(sim, live) as (sfn, machine_arn, topic_arn):
            yield DeployedAccount(
                self, sim, live=live, sfn=sfn, machine_arn=machine_arn, topic_arn=topic_arn
            )

    @contextmanager
    def deployed(
        self,
        sim: SimulatedAppStream,
        clock: SimulatedClock,
        *,
        on_invocation: ProgressListener | None = None,
    ) -> Iterator[Deployment]:
        """The stack "deployed" in moto, for tools that start executions themselves."""
        live = _Live()
        live.run = _Recorder(clock=clock, on_invocation=on_invocation)
        with self._aws(sim, live) as (_, machine_arn, topic_arn):
            yield Deployment(
                state_machine_arn=machine_arn,
                topic_arn=topic_arn,
                schedule_name=self.app.schedule["Properties"]["Name"],
                ledger_table=self.app.ledger_table["name"],
            )

    @contextmanager
    def _aws(self, sim: SimulatedAppStream, live: _Live) -> Iterator[tuple[Any, str, str]]:
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
            _executions_start_at(live),
            _interpreter_shortcuts(),
            _in_process_lambdas(self.app.handlers, live, sim),
            _simulated_waits(live),
            mock.patch("image_updater.clock.utc_now", live.now),
            warnings.catch_warnings(),
            sim.active(),
        ):
            # Steps that publish no metric (plan, most reports) are normal here.
            warnings.filterwarnings("ignore", "No application metrics to publish")
            self._reset_clients()
            _quiet(self.show_logs)
            arns = self._deploy()
            capture_published_events()
            _restore_ledger(self.app.ledger_table, sim)
            _restore_alarms(sim)
            _restore_schedule(self.app, sim, state_machine_arn=arns[0])
            try:
                yield boto3.client("stepfunctions", region_name=REGION), *arns
            finally:
                _save_ledger(self.app.ledger_table, sim)
                _save_schedule(self.app, sim)

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
        iam = boto3.client("iam", region_name=REGION)
        role = iam.create_role(
            RoleName="rehearsal", AssumeRolePolicyDocument=json.dumps({"Version": "2012-10-17"})
        )["Role"]["Arn"]
        lambda_client = boto3.client("lambda", region_name=REGION)
        references: dict[str, str] = {}
        for logical_id, spec in self.app.handlers.items():
            function = lambda_client.create_function(
                FunctionName=logical_id,
                Runtime=RUNTIME.name,
                Role=role,
                Handler=spec,
                Code={"ZipFile": _zip()},
            )
            references[logical_id] = function["FunctionArn"]
        topic_arn = boto3.client("sns", region_name=REGION).create_topic(Name="updates")["TopicArn"]
        references[self.app.topic_id] = topic_arn
        definition = self.app.definition(references, region=REGION, account=ACCOUNT)
        machine = boto3.client("stepfunctions", region_name=REGION).create_state_machine(
            name="AppStreamImageUpdater", definition=definition, roleArn=role
        )
        return machine["stateMachineArn"], topic_arn


def _history(execution_arn: str) -> list[dict[str, Any]]:
    """The execution's whole history, as GetExecutionHistory returns it (every page), read
    from moto's interpreter: serializing it through the API costs more than the run."""
    from moto.stepfunctions.parser.models import stepfunctions_parser_backends

    backend = stepfunctions_parser_backends[ACCOUNT][REGION]
    events = backend.get_execution_history(execution_arn)["events"]

    def as_api_returns(event: Any) -> dict[str, Any]:
        plain: dict[str, Any] = json.loads(
            json.dumps(event, default=lambda v: v.value if isinstance(v, Enum) else str(v))
        )
        plain["timestamp"] = datetime.fromisoformat(plain["timestamp"].replace("Z", "+00:00"))
        return plain

    return [as_api_returns(event) for event in events]


def set_alarm_state(sim: SimulatedAppStream, name: str, state: str) -> None:
    """A CloudWatch metric alarm of the account (a canary's health signal), in `state`:
    created in moto at every deployment, as AWS would keep it."""
    sim.account_state.setdefault("alarms", {})[name] = state


def _restore_alarms(sim: SimulatedAppStream) -> None:
    cloudwatch = boto3.client("cloudwatch", region_name=REGION)
    for name, state in sim.account_state.get("alarms", {}).items():
        cloudwatch.put_metric_alarm(
            AlarmName=name,
            Namespace="Rehearsal",
            MetricName=name,
            Statistic="Sum",
            Period=60,
            EvaluationPeriods=1,
            Threshold=1,
            ComparisonOperator="GreaterThanOrEqualToThreshold",
        )
        cloudwatch.set_alarm_state(AlarmName=name, StateValue=state, StateReason="rehearsal")


def _restore_ledger(table: Mapping[str, Any], sim: SimulatedAppStream) -> None:
    """Create the ledger table in moto, holding what earlier runs on this account left."""
    dynamodb = boto3.client("dynamodb", region_name=REGION)
    dynamodb.create_table(
        TableName=table["name"],
        KeySchema=table["KeySchema"],
        AttributeDefinitions=table["AttributeDefinitions"],
        BillingMode=table["BillingMode"],
    )
    for item in sim.account_state.get("ledger", []):
        dynamodb.put_item(TableName=table["name"], Item=item)


def _save_ledger(table: Mapping[str, Any], sim: SimulatedAppStream) -> None:
    """Keep the ledger with the simulated account, for the next run (mock_aws forgets it)."""
    dynamodb = boto3.client("dynamodb", region_name=REGION)
    items = [
        item
        for page in dynamodb.get_paginator("scan").paginate(TableName=table["name"])
        for item in page["Items"]
    ]
    sim.account_state["ledger"] = items


def _restore_schedule(app: SynthesizedApp, sim: SimulatedAppStream, state_machine_arn: str) -> None:
    """Create the template's schedule in moto, as earlier runs on this account left it (the
    breaker may have paused it), or as the template describes it."""
    references = {
        logical_id: {
            "AWS::StepFunctions::StateMachine": state_machine_arn,
            "AWS::IAM::Role": f"arn:aws:iam::{ACCOUNT}:role/{logical_id}",
            "AWS::SQS::Queue": f"arn:aws:sqs:{REGION}:{ACCOUNT}:{logical_id}",
        }.get(resource["Type"], logical_id)
        for logical_id, resource in app.template["Resources"].items()
    }
    request = sim.account_state.get("schedule") or app.schedule_request(references)
    boto3.client("scheduler", region_name=REGION).create_schedule(**request)


def _save_schedule(app: SynthesizedApp, sim: SimulatedAppStream) -> None:
    """Keep the schedule, every field CreateSchedule takes, with the simulated account."""
    scheduler = boto3.client("scheduler", region_name=REGION)
    try:
        schedule = scheduler.get_schedule(Name=app.schedule["Properties"]["Name"])
    except scheduler.exceptions.ResourceNotFoundException:  # a test deleted it
        sim.account_state.pop("schedule", None)
        return
    fields = scheduler.meta.service_model.operation_model("CreateSchedule").input_shape.members
    sim.account_state["schedule"] = {
        key: value for key, value in schedule.items() if key in fields and value is not None
    }


def sent_emails(topic_arn: str) -> list[Email]:
    """What the topic sent, as moto recorded it."""
    from moto.sns.models import sns_backends

    topic = sns_backends[ACCOUNT][REGION].topics.get(topic_arn)
    if topic is None:  # a test deleted it to make publishing fail
        return []
    return [
        Email(
            subject=subject or "",
            body=message,
            attributes={k: v["Value"] for k, v in (attributes or {}).items()},
        )
        for _, message, subject, attributes, _ in topic.sent_notifications
    ]


EVENTS_QUEUE = "published-events"


def capture_published_events() -> None:
    """A rule on the default bus that sends every event of the updater's source to a queue,
    as a subscriber would (call inside moto, before the events are published)."""
    from image_updater.events import SOURCE

    boto3.client("sqs", region_name=REGION).create_queue(QueueName=EVENTS_QUEUE)
    events = boto3.client("events", region_name=REGION)
    events.put_rule(Name=EVENTS_QUEUE, EventPattern=json.dumps({"source": [SOURCE]}))
    queue_arn = f"arn:aws:sqs:{REGION}:{ACCOUNT}:{EVENTS_QUEUE}"
    events.put_targets(Rule=EVENTS_QUEUE, Targets=[{"Id": "queue", "Arn": queue_arn}])


def published_events() -> list[dict[str, Any]]:
    """What `capture_published_events`'s queue received, in order (each message once)."""
    sqs = boto3.client("sqs", region_name=REGION)
    queue_url = sqs.get_queue_url(QueueName=EVENTS_QUEUE)["QueueUrl"]
    received: list[dict[str, Any]] = []
    while messages := sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10).get(
        "Messages", []
    ):
        received += [json.loads(message["Body"]) for message in messages]
    return received


_SANDBOX = threading.Lock()
# The recorder of the handler this thread is running, if any: its AWS requests are counted.
_IN_HANDLER = threading.local()


class _Endings:
    """Executions that have ended, as moto's interpreter reports them: the runner waits for
    its execution's end instead of polling DescribeExecution (which competes for the CPU)."""

    def __init__(self) -> None:
        self._ended: set[str] = set()
        self._changed = threading.Condition()

    def ended(self, arn: str) -> None:
        with self._changed:
            self._ended.add(arn)
            self._changed.notify_all()

    def wait_for(self, arn: str, timeout_seconds: float) -> bool:
        with self._changed:
            return self._changed.wait_for(lambda: arn in self._ended, timeout_seconds)


_ENDED = _Endings()


# ANTLR's parse of each definition: the costly half of moto's parse, and the same every time for
# the same definition (moto parses it on create and again on every execution).
_PARSE_TREES: dict[str, Any] = {}


_PARSED_PATHS: dict[tuple[int, str], Any] = {}


def _cached(parse: Callable[[str], Any]) -> Callable[[str], Any]:
    def cached(path: str) -> Any:
        key = (id(parse), path)
        if key not in _PARSED_PATHS:
            _PARSED_PATHS[key] = parse(path)
        return _PARSED_PATHS[key]

    return cached


@contextmanager
def _interpreter_shortcuts() -> Iterator[None]:
    """Leave out work moto repeats on every run that cannot change its outcome: parsing the
    same definition again, and a new SDK client for every Lambda invocation and publish. The
    evaluation components are still built afresh for each execution."""
    from moto.stepfunctions.parser.asl.component.common.path import result_path
    from moto.stepfunctions.parser.asl.parse.asl_parser import AmazonStateLanguageParser
    from moto.stepfunctions.parser.asl.parse.preprocessor import Preprocessor
    from moto.stepfunctions.parser.asl.utils import boto_client, json_path
    from moto.stepfunctions.parser.backend import execution

    original_parse = AmazonStateLanguageParser.parse

    def parse(definition: str) -> tuple[Any, Any]:
        if definition not in _PARSE_TREES:
            _PARSE_TREES[definition] = original_parse(definition)[1]
        tree = _PARSE_TREES[definition]
        return Preprocessor().visit(tree), tree

    clients: dict[tuple[str, str], Any] = {}
    clients_lock = threading.Lock()
    original_client_for = boto_client.boto_client_for

    def client_for(region: str, service: str, state_credentials: Any = None) -> Any:
        with clients_lock:
            key = (region, service)
            if key not in clients:
                clients[key] = original_client_for(region, service, state_credentials)
            return clients[key]

    users = [
        module
        for name, module in list(sys.modules.items())
        if name.startswith("moto.stepfunctions.parser.")
        and getattr(module, "boto_client_for", None) is original_client_for
    ]
    original_terminated = execution.BaseExecutionWorkerCommunication.terminated

    def terminated(self: Any) -> None:
        original_terminated(self)
        _ENDED.ended(self.execution.exec_arn)

    with contextlib.ExitStack() as patches:
        patches.enter_context(
            mock.patch.object(AmazonStateLanguageParser, "parse", staticmethod(parse))
        )
        # jsonpath_ng builds a new PLY parser for every path it parses (tens per run); a parsed
        # path is only read afterwards, so each distinct path is parsed once.
        for module in (json_path, result_path):
            patches.enter_context(mock.patch.object(module, "parse", _cached(module.parse)))
        for module in users:
            patches.enter_context(mock.patch.object(module, "boto_client_for", client_for))
        patches.enter_context(
            mock.patch.object(execution.BaseExecutionWorkerCommunication, "terminated", terminated)
        )
        yield


def _quiet(show_logs: bool) -> None:
    """The handlers' JSON logs and moto's interpreter traces are noise in a rehearsal."""
    from image_updater.observability import logger

    logger.setLevel("INFO" if show_logs else "WARNING")
    logging.getLogger("moto").setLevel(logging.INFO if show_logs else logging.CRITICAL)


@contextmanager
def _in_process_lambdas(
    handlers: Mapping[str, str], live: _Live, sim: SimulatedAppStream
) -> Iterator[None]:
    """moto would start Docker to run a function; call the real handler instead."""
    from moto.awslambda.models import LambdaFunction

    from image_updater.observability import metrics

    def invoke(
        function: LambdaFunction, body: str, request_headers: Any, response_headers: Any
    ) -> bytes:
        name = function.function_name
        event = json.loads(body) if body else {}
        image = _image_of(event)
        live.clock.use_lane(image)
        if image is None:
            live.clock.join_lanes()
        # One invocation at a time, as if each ran in its own Lambda sandbox: the
        # handlers' module state (logger keys, cached clients) is per process.
        with _SANDBOX:
            return _invoke_handler(name, event, response_headers)

    def _invoke_handler(name: str, event: Any, response_headers: Any) -> bytes:
        recorder, clock = live.run, live.clock
        calls_before = len(sim.calls)
        _IN_HANDLER.recorder = recorder
        try:
            result, error = _handler(handlers[name])(event, _LambdaContext(name)), None
            payload = json.dumps(result)
        except Exception as exception:  # reported to Step Functions as Lambda does
            error = type(exception).__name__
            result = {"errorType": error, "errorMessage": str(exception)}
            payload = json.dumps(result)
            response_headers["x-amz-function-error"] = "Unhandled"
        finally:
            _IN_HANDLER.recorder = None
            # On Lambda each invocation flushes its metrics; with publishing off here
            # (POWERTOOLS_METRICS_DISABLED), Powertools would keep them for the next one.
            metrics.clear_metrics()
        invocation = Invocation(
            name, handlers[name], event, result, error, clock.now(), len(sim.calls) - calls_before
        )
        with recorder.lock:
            recorder.invocations.append(invocation)
            if recorder.on_invocation:
                # A listener's own error is the rehearsal's, not the function's: raised to
                # whoever started the run once it has ended, never handed to Step Functions.
                try:
                    recorder.on_invocation(invocation, clock.now() - clock.start)
                except Exception as error:
                    recorder.listener_errors.append(error)
        return payload.encode()

    from botocore.client import BaseClient

    original_call = BaseClient._make_api_call  # type: ignore[attr-defined]

    def counted_call(client: Any, operation: str, params: Any) -> Any:
        counting = getattr(_IN_HANDLER, "recorder", None)
        service = client.meta.service_model.service_name
        if counting is not None and service != "appstream":  # AppStream's: sim.calls
            with counting.lock:
                counting.service_calls[f"{service}.{operation}"] += 1
        return original_call(client, operation, params)

    with (
        mock.patch.object(LambdaFunction, "invoke", invoke),
        mock.patch.object(BaseClient, "_make_api_call", counted_call),
    ):
        yield


@contextmanager
def _executions_start_at(live: _Live) -> Iterator[None]:
    """`$$.Execution.StartTime` (which new image names derive from) is the simulated fire
    time of the run, as on AWS it is the schedule's, not the machine's clock."""
    from moto.stepfunctions.parser import models

    class _FireTime(datetime):
        @classmethod
        def now(cls, tz: Any = None) -> Any:
            return live.clock.start

    shim = SimpleNamespace(datetime=_FireTime, timezone=timezone)
    with mock.patch.object(models, "datetime", shim):
        yield


@contextmanager
def _simulated_waits(live: _Live) -> Iterator[None]:
    from moto.stepfunctions.parser.asl.component.common.retry import retrier_decl
    from moto.stepfunctions.parser.asl.component.state.wait.wait_function.wait_function import (
        WaitFunction,
    )

    def wait_interval(_self: Any, env: Any, wait_seconds: int) -> None:
        recorder, clock = live.run, live.clock
        clock.use_lane(_image_of(env.states.get_input()))
        with recorder.lock:
            recorder.waits.append(wait_seconds)
        clock.advance(wait_seconds)

    class _RetrySleep:
        @staticmethod
        def sleep(seconds: float) -> None:
            recorder = live.run
            with recorder.lock:
                recorder.retry_waits.append(seconds)
            live.clock.advance(seconds)

    from moto.stepfunctions.parser.asl.component.state.exec.state_map.iteration import (
        iteration_worker,
    )

    original_job = iteration_worker.IterationWorker._eval_job

    def job_in_its_slot(self: Any, env: Any, job: Any) -> None:
        # Each Map worker is one concurrency slot and runs its images one after the other.
        item = job.job_input
        if isinstance(item, dict) and "outcome" in item and isinstance(item.get("image"), str):
            # An image's roll-out (its update's result) starts once the run's steps are done.
            live.clock.join_lanes()
            live.clock.start_lane(item["image"], after=None)
            original_job(self, env, job)
            return
        image = item if isinstance(item, str) else _image_of(item)
        if image is not None:
            last_in_slot = live.run.last_in_slot
            live.clock.start_lane(image, after=last_in_slot.get(id(self)))
            last_in_slot[id(self)] = image
        original_job(self, env, job)

    original_retry = retrier_decl.RetrierDecl._eval_body

    def retry_in_the_images_lane(self: Any, env: Any) -> None:
        # A retry waits on the timeline of the image whose step failed (as a Wait does),
        # not on whichever lane the interpreter's thread last worked in.
        live.clock.use_lane(_image_of(env.states.get_input()))
        original_retry(self, env)

    from moto.stepfunctions.parser.asl.component.state.wait.wait_function.timestamp import (
        Timestamp,
    )

    def timestamp_wait_seconds(self: Any, env: Any) -> int:
        # "Wait until" counts from the simulated now, not the machine's.
        live.clock.use_lane(_image_of(env.states.get_input()))
        self.string.eval(env=env)
        text = env.stack.pop()
        moment = self._from_timestamp_string(timestamp=text)
        if moment is None:
            from moto.stepfunctions.parser.asl.component.common.error_name.failure_event import (
                FailureEventException,
            )

            raise FailureEventException(self._create_failure_event(env, text))
        now = live.clock.now().astimezone(UTC).replace(tzinfo=None)
        return max(0, int((moment - now).total_seconds()))

    with (
        mock.patch.object(Timestamp, "_get_wait_seconds", timestamp_wait_seconds),
        _callbacks_answered_by_the_run(live),
        mock.patch.object(WaitFunction, "_wait_interval", wait_interval),
        mock.patch.object(retrier_decl, "time", _RetrySleep),
        mock.patch.object(retrier_decl.RetrierDecl, "_eval_body", retry_in_the_images_lane),
        mock.patch.object(iteration_worker.IterationWorker, "_eval_job", job_in_its_slot),
    ):
        yield


@contextmanager
def _callbacks_answered_by_the_run(live: _Live) -> Iterator[None]:
    """A task waiting for its token is handed to the run (`DeployedAccount.run`), which lets
    its listener answer through the API, or lets it time out on the simulated clock."""
    from moto.stepfunctions.parser.asl.component.state.exec.state_task.service import (
        state_task_service_callback as callback,
    )
    from moto.stepfunctions.parser.asl.eval.callback.callback import CallbackOutcomeTimedOut

    def wait_for_token(
        self: Any, env: Any, timeout_seconds: int, callback_endpoint: Any, heartbeat_endpoint: Any
    ) -> Any:
        image = _image_of(env.states.get_input())
        live.clock.use_lane(image)
        execution = env.states.context_object.context_object_data["Execution"]["Id"]
        request = ApprovalRequest(
            token=callback_endpoint.callback_id,
            image=image,
            execution_arn=execution,
            timeout_seconds=timeout_seconds,
            endpoint=callback_endpoint,
            clock=live.clock,
        )
        recorder = live.run
        with recorder.lock:
            recorder.waiting.append(request)
            recorder.approvals.append(request)
        while True:
            outcome = callback_endpoint.wait(timeout=0.02)
            if outcome is not None:
                live.clock.use_lane(image)
                return outcome
            if request.expired.is_set():
                live.clock.use_lane(image)
                return CallbackOutcomeTimedOut(callback_id=callback_endpoint.callback_id)

    with mock.patch.object(
        callback.StateTaskServiceCallback, "_eval_wait_for_task_token", wait_for_token
    ):
        yield
