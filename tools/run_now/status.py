"""status: are the images patched, and does anything need a person? Read-only.

For every configured image (the stack's ConfiguredImages output): the newest AVAILABLE image
of its lineage (the Lambdas' own rules: `update.check.lineage_of`), the age of its patches
(`domain/patch_age.py`, as the PatchAgeDays metric counts it: days since the update that
built it, or since its PublicBaseImageReleasedDate for an image the updater did not build),
its agent version and whether AppStream calls it the latest, an update in progress or failed,
the final reports the ledger says are owed, the fleets tagged to follow it and the image each
runs, and the roll-outs waiting for approval with the command that answers them. Then the
schedule (state, expression, next run), the circuit breaker's count, and the headroom on
AppStream's images, image builders and concurrent image updates quotas.

It changes nothing: every call is a read. Needs cloudformation:DescribeStacks on the stack;
appstream:DescribeImages, ListTagsForResource, DescribeFleets, DescribeImageBuilders;
dynamodb:GetItem and dynamodb:Query on the ledger table; scheduler:GetSchedule on the
schedule; states:DescribeExecution on the state machine's executions; and, optionally,
servicequotas:GetServiceQuota (without it, AppStream's documented default quotas are shown
and the output says so).
"""

from __future__ import annotations

import argparse
import json
import re
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import IO, TYPE_CHECKING, Any

import boto3
from botocore.exceptions import BotoCoreError, ClientError

from image_updater import clock
from image_updater.breaker.ledger import BreakerLedger
from image_updater.domain.lineage import Lineage
from image_updater.domain.messages import MessageContext
from image_updater.errors import ImageUpdaterError, SourceImageNotFound
from image_updater.integrations.appstream.client import PAGE_SIZE, client_config, pages
from image_updater.integrations.appstream.fleets import AppStreamFleets
from image_updater.integrations.appstream.images import AppStreamImages
from image_updater.models import FAILED, ImageSummary
from image_updater.rollout.messages import approve_command
from image_updater.rollout.models import FOLLOWS_TAG, FleetFacts
from image_updater.scheduler import DEFAULT_GROUP
from image_updater.update.check import lineage_of
from image_updater.update.ledger import UpdateLedger
from image_updater.update.reports import owed
from infra.firing import next_firing
from tools.run_now.aws import AWS_ERRORS, SessionFactory, find_stack, problem, signed_in_session
from tools.run_now.errors import ATTENTION, ENVIRONMENT, OK, ToolError
from tools.run_now.status_json import as_json
from tools.run_now.status_report import (
    Approval,
    FleetStatus,
    ImageFacts,
    ImageStatus,
    Quota,
    ScheduleStatus,
    Status,
    reasons,
    text,
)

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

# Service Quotas' codes for AppStream (service code appstream2), as AppStream's quotas page
# links them, with the defaults it documents.
SERVICE_CODE = "appstream2"
QUOTAS = (
    ("images", "L-E1182CCA", 10),
    ("image builders", "L-DE32F884", 10),
    ("concurrent image updates", "L-9B6418E0", 5),
)
_APPROVAL_PARTITION = "#approval"  # approval/ledger.py's items (read without their token)
_RATE = re.compile(r"rate\((?P<count>[0-9]+) (?P<unit>minute|hour|day)s?\)")
# An update's new image is PENDING (or CREATING) while AppStream builds it.
_BUILDING = frozenset({"PENDING", "CREATING"})


def status(args: argparse.Namespace, out: IO[str], session_factory: SessionFactory) -> int:
    session = signed_in_session(args, session_factory)
    try:
        found = gather(session, args.stack, args.max_patch_age_days, args.stuck_after_hours)
    except ImageUpdaterError as error:
        cause = error.__cause__
        why = problem(cause) if isinstance(cause, AWS_ERRORS) else str(error)
        raise ToolError(f"could not read the updater's state: {why}", ENVIRONMENT) from error
    needs = reasons(found)
    if args.json:
        out.write(json.dumps(as_json(found, needs), indent=2) + "\n")
    else:
        out.write(text(found, needs))
    return ATTENTION if needs else OK


def gather(session: boto3.Session, stack_name: str, max_age: int, stuck_hours: int) -> Status:
    stack = find_stack(session, stack_name)
    table, schedule = stack.outputs.get("LedgerTableName"), stack.outputs.get("ScheduleName")
    if not stack.images or not table or not schedule:
        raise ToolError(
            f"Stack {stack_name!r} lacks the ConfiguredImages, LedgerTableName or ScheduleName "
            "output: deploy this version of the updater with `npx cdk deploy`.",
            ENVIRONMENT,
        )
    now = clock.utc_now()
    appstream = session.client("appstream", config=client_config("read"))
    dynamodb = session.client("dynamodb")
    account = _Account(
        appstream=appstream,
        images=AppStreamImages(appstream),
        ledger=UpdateLedger(table, dynamodb),
        fleets=tuple(AppStreamFleets(appstream).all_fleets()),
        approvals=_approvals(session, dynamodb, table, now),
        now=now,
    )
    return Status(
        stack=stack_name,
        region=str(session.region_name),
        now=now,
        images=tuple(_image_status(root, account) for root in stack.images),
        schedule=_schedule(session, schedule, BreakerLedger(table, dynamodb), now),
        quotas=(quotas := _quotas(session, appstream)),
        quotas_note=None if all(q.from_service_quotas for q in quotas) else _DEFAULTS_NOTE,
        max_patch_age_days=max_age,
        stuck_after_hours=stuck_hours,
    )


@dataclass(frozen=True)
class _Account:
    """What every image's status is read from: the clients, and what is read once for all."""

    appstream: Any
    images: AppStreamImages
    ledger: UpdateLedger
    fleets: tuple[FleetFacts, ...]
    approvals: dict[str, list[Approval]]
    now: datetime


def _image_status(root: str, account: _Account) -> ImageStatus:
    approvals = account.approvals.get(root, [])
    try:
        lineage = lineage_of(root, account.images)
    except SourceImageNotFound as error:
        return ImageStatus(root=root, missing=str(error), approvals=tuple(approvals))
    newest = lineage.newest_available()
    building = lineage.update_in_progress()
    failed = _failed_update(lineage, newest, building)
    return ImageStatus(
        root=root,
        root_found=lineage.root is not None,
        newest_available=(
            _facts(account.appstream, newest, built_by_updater=newest in lineage.members)
            if newest
            else None
        ),
        building=_summary_facts(building) if building else None,
        failed=_summary_facts(failed) if failed else None,
        reports_owed=tuple(sorted(owed(account.ledger.report_records(root), account.now))),
        fleets=tuple(
            _fleet(f, lineage, newest) for f in account.fleets if f.tags.get(FOLLOWS_TAG) == root
        ),
        approvals=tuple(approvals),
    )


def _failed_update(
    lineage: Lineage, newest: ImageSummary | None, building: ImageSummary | None
) -> ImageSummary | None:
    """The lineage's newest settled update, if it FAILED after the newest AVAILABLE image and
    no update started since is building (that one is the news now)."""
    settled = lineage.newest_settled_of({m.name for m in lineage.members})
    if settled is None or settled.state != FAILED:
        return None
    failed_at = _parsed(settled.created_time) or datetime.min.replace(tzinfo=UTC)
    for later in (newest, building):
        if later is not None and (_parsed(later.created_time) or failed_at) > failed_at:
            return None
    return settled


def _fleet(fleet: FleetFacts, lineage: Lineage, newest: ImageSummary | None) -> FleetStatus:
    members = (*((lineage.root,) if lineage.root else ()), *lineage.members)
    return FleetStatus(
        name=fleet.name,
        stage=fleet.stage,
        state=fleet.state,
        image=fleet.image,
        on_newest=newest is not None and fleet.runs(newest.name, newest.arn),
        of_lineage=any(fleet.runs(image.name, image.arn) for image in members),
    )


def _summary_facts(image: ImageSummary) -> ImageFacts:
    reason = ": ".join(p for p in (image.reason_code, image.reason_message) if p) or None
    return ImageFacts(image.name, image.state, _parsed(image.created_time), reason=reason)


def _facts(appstream: Any, image: ImageSummary, *, built_by_updater: bool) -> ImageFacts:
    """The image with what ImageSummary does not carry (one more DescribeImages)."""
    with _translated():
        (found,) = appstream.describe_images(Names=[image.name])["Images"]
    latest = found.get("LatestAppstreamAgentVersion")
    return ImageFacts(
        name=image.name,
        state=image.state,
        created=_parsed(image.created_time),
        base_image_released=found.get("PublicBaseImageReleasedDate"),
        agent_version=found.get("AppstreamAgentVersion"),
        latest_agent=None if latest is None else latest == "TRUE",
        built_by_updater=built_by_updater,
    )


def _approvals(
    session: boto3.Session, dynamodb: DynamoDBClient, table: str, now: datetime
) -> dict[str, list[Approval]]:
    """Roll-outs waiting for approval: undecided ledger items before their deadline whose
    execution still runs. The task token is not read (ProjectionExpression)."""
    waiting: dict[str, list[Approval]] = {}
    states = session.client("stepfunctions")
    paginator = dynamodb.get_paginator("query")
    with _translated():
        for page in paginator.paginate(
            TableName=table,
            KeyConditionExpression="pk = :pk",
            ProjectionExpression="sk, #new, #deadline, #decision",
            ExpressionAttributeNames={
                "#new": "newImageName",
                "#deadline": "deadline",
                "#decision": "decision",
            },
            ExpressionAttributeValues={":pk": {"S": _APPROVAL_PARTITION}},
            ConsistentRead=True,
        ):
            for item in page["Items"]:
                execution_arn, _, root = item["sk"]["S"].rpartition("|")
                deadline = _parsed(item.get("deadline", {}).get("S"))
                if "decision" in item or deadline is None or deadline <= now:
                    continue
                if not _running(states, execution_arn):
                    continue
                context = MessageContext.of_run(execution_arn, now, 0)
                waiting.setdefault(root, []).append(
                    Approval(
                        execution_arn=execution_arn,
                        new_image_name=item.get("newImageName", {}).get("S", ""),
                        deadline=deadline,
                        command=approve_command(context, root),
                    )
                )
    return waiting


def _running(states: Any, execution_arn: str) -> bool:
    """Whether the run still runs (an execution past Step Functions' history retention, 90
    days after it closed, is gone: it waits for nothing)."""
    try:
        return str(states.describe_execution(executionArn=execution_arn)["status"]) == "RUNNING"
    except ClientError as error:
        if error.response.get("Error", {}).get("Code") == "ExecutionDoesNotExist":
            return False
        raise


def _schedule(
    session: boto3.Session, name: str, breaker: BreakerLedger, now: datetime
) -> ScheduleStatus:
    with _translated():
        found = session.client("scheduler").get_schedule(Name=name, GroupName=DEFAULT_GROUP)
    state = str(found.get("State", "ENABLED"))
    expression = str(found["ScheduleExpression"])
    zone = str(found.get("ScheduleExpressionTimezone") or "UTC")
    return ScheduleStatus(
        name=name,
        state=state,
        expression=expression,
        timezone=zone,
        next_run=next_run(found, now) if state == "ENABLED" else None,
        failed_scheduled_runs=breaker.failed_scheduled_runs(),
    )


def next_run(schedule: Mapping[str, Any], now: datetime) -> datetime | None:
    """When the schedule next starts a run, from GetSchedule's answer: cron() with the synth's
    own evaluator (infra/firing.py, L, W and # included), rate() counted from its StartDate
    (else its creation, when EventBridge Scheduler starts counting); None after its EndDate."""
    expression = str(schedule["ScheduleExpression"])
    start, end = schedule.get("StartDate"), schedule.get("EndDate")
    after = max(now, start) if start else now
    rate = _RATE.fullmatch(expression)
    if rate:
        period = timedelta(**{rate["unit"] + "s": int(rate["count"])})
        base = start or schedule.get("CreationDate") or now
        steps = max(0, -(-(after - base) // period))  # ceiling of whole periods
        found: datetime | None = base + steps * period
    else:
        zone = str(schedule.get("ScheduleExpressionTimezone") or "UTC")
        found = next_firing(expression, zone, after.astimezone(UTC))
    if found is None or (end is not None and found > end):
        return None
    return found.astimezone(UTC)


_DEFAULTS_NOTE = (
    "Service Quotas could not be read (servicequotas:GetServiceQuota): the limits shown are "
    "AppStream's documented defaults; your account's may differ"
)


def _service_quota(session: boto3.Session, code: str) -> int | None:
    try:
        answer = session.client("service-quotas").get_service_quota(
            ServiceCode=SERVICE_CODE, QuotaCode=code
        )
    except (ClientError, BotoCoreError):
        return None
    value = answer.get("Quota", {}).get("Value")
    return int(value) if value is not None else None


def _quotas(session: boto3.Session, appstream: Any) -> tuple[Quota, ...]:
    with _translated():
        builders = [
            builder
            for page in pages(appstream.describe_image_builders, MaxResults=PAGE_SIZE)
            for builder in page.get("ImageBuilders", [])
        ]
        private = list(_private_states(appstream))
    used = {
        "images": len(private),
        "image builders": len(builders),
        # AppStream lists no update as such: the images being built are the updates running
        # (an update's new image, and an image builder's snapshot, count alike).
        "concurrent image updates": sum(1 for state in private if state in _BUILDING),
    }
    quotas = []
    for name, code, default in QUOTAS:
        limit = _service_quota(session, code)
        known = limit is not None
        quotas.append(Quota(name, code, limit if limit is not None else default, used[name], known))
    return tuple(quotas)


def _private_states(appstream: Any) -> Iterable[str]:
    for page in pages(appstream.describe_images, Type="PRIVATE", MaxResults=PAGE_SIZE):
        yield from (str(image.get("State", "")) for image in page.get("Images", []))


def _parsed(value: str | datetime | None) -> datetime | None:
    if value is None or isinstance(value, datetime):
        return value
    moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


@contextmanager
def _translated() -> Iterator[None]:
    """Raw AWS reads made here: an AWS error becomes the command's exit 3, said plainly."""
    try:
        yield
    except AWS_ERRORS as error:
        raise ToolError(
            f"could not read the updater's state: {problem(error)}", ENVIRONMENT
        ) from error
