"""Run the deployed image updater now and follow it.

    python -m tools.run_now [--images ImgA,ImgB] [--dry-run] [--no-follow] [--stack NAME]
                            [--profile P] [--region R]
    python -m tools.run_now --execution ARN     # follow a run started earlier
    python -m tools.run_now --resume-schedule   # after the breaker paused the schedule
    python -m tools.run_now approve|reject EXECUTION_ARN [--image ROOT] [--reason TEXT]
    python -m tools.run_now rollback --fleet NAME   # see tools/rollout_commands.py

Finds the state machine from the stack's outputs, starts a run for every configured image
(or the ones named) and shows each image's progress until the run ends. `--dry-run` only
checks for updates: nothing is created and no e-mail is sent; what each image would do, or
why it could not be checked, is printed here. Honours the usual AWS_PROFILE / AWS_REGION.

A started run goes on in AWS whatever happens to this tool: after Ctrl-C, expired
credentials or a lost connection it says so, with the run's console link and the command
that follows it again.

`--resume-schedule` starts no run: it turns the schedule back on after the circuit breaker
paused it (maxConsecutiveFailedRuns scheduled runs failed in a row), keeping every other
setting of the schedule, and resets the breaker's count, so that the next failed run does not
pause it again at once. It resets the count even when the schedule is on already (resumed in
the console, or by a deploy that changed the schedule), and then changes nothing else. A
"Schedule Resumed" event is published when it can be; the resume never fails for want of it.
Needs scheduler:GetSchedule and scheduler:UpdateSchedule on the schedule, iam:PassRole on its
role, and dynamodb:DeleteItem on the stack's ledger table.

Exit codes:
    0    the run succeeded (with --no-follow: it was started; with --resume-schedule: the
         schedule is on and the breaker's count reset)
    1    the run failed; the reason is printed
    2    usage error: an image that is not configured, named twice, or an empty name;
         --execution without an execution ARN, or with options that start a run;
         --resume-schedule with any of --images, --dry-run, --no-follow, --execution
    3    no run was started (or, with --execution, found; or, with --resume-schedule, the
         schedule was not resumed): credentials, the Region or the stack are missing or not
         ready, AWS could not be reached, or AWS refused
    4    the run was started but could not be followed to its end (expired credentials,
         network): it goes on in AWS
    130  interrupted (Ctrl-C); a run already started goes on in AWS
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import IO, Any, cast
from urllib.parse import quote

import boto3
from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    CredentialRetrievalError,
    HTTPClientError,
    NoCredentialsError,
    PartialCredentialsError,
    SSOError,
    TokenRetrievalError,
)
from botocore.exceptions import ConnectionError as EndpointUnreachable

from image_updater.breaker.ledger import BreakerLedger
from image_updater.errors import ImageUpdaterError
from image_updater.scheduler import DEFAULT_GROUP, ENABLED, Schedule, SchedulerClient
from infra.workflow import states
from tools import rollout_commands

DEFAULT_STACK = "AppStreamImageUpdater"
OK, RUN_FAILED, USAGE, ENVIRONMENT, STOPPED_FOLLOWING = 0, 1, 2, 3, 4
INTERRUPTED = 130  # the shell's code for a SIGINT
SessionFactory = Callable[..., boto3.Session]
AWS_ERRORS = (BotoCoreError, ClientError)

# Codes with which AWS refuses credentials that expired (the ones the SDKs refresh on) or that
# it does not recognise: the fix is on this machine, not in the stack.
_CREDENTIALS_REFUSED = frozenset(
    {
        "ExpiredToken",
        "ExpiredTokenException",
        "RequestExpired",
        "InvalidClientTokenId",
        "UnrecognizedClientException",
        "InvalidToken",
        "AuthFailure",
        "SignatureDoesNotMatch",
        "InvalidSignatureException",
    }
)
# botocore's own failures to load or refresh credentials (SSO sessions, credential_process).
_CREDENTIALS_UNAVAILABLE = (CredentialRetrievalError, TokenRetrievalError, SSOError)
_CONSOLE_DOMAINS = {"aws-cn": "console.amazonaws.cn", "aws-us-gov": "console.amazonaws-us-gov.com"}
# A stack in one of these has no usable state machine: it must be fixed and deployed again.
_FAILED_STACK = frozenset(
    {"CREATE_FAILED", "ROLLBACK_COMPLETE", "ROLLBACK_FAILED", "DELETE_FAILED"}
)
# Longest error message echoed per image; the full text is in the run's history.
MESSAGE_MAX = 300
_IMAGE_STEPS = {
    states.CHECK: "checking for updates",
    states.ALREADY_UP_TO_DATE: "up to date",
    states.DRY_RUN_REPORT_ONLY: "checked (dry run)",
    states.DRY_RUN_KEEP_THE_ERROR: "could not check (dry run)",
    states.CREATE: "starting the update",
    states.WAIT: "waiting for the build",
    states.POLL: "checking the build",
    states.REPORTED_BY_ANOTHER_RUN: "reported by another run",
    states.WRITE_THE_EMAIL: "writing the e-mail",
    states.SEND_THE_EMAIL: "sending the e-mail",
}


class ToolError(Exception):
    def __init__(self, message: str, exit_code: int) -> None:
        super().__init__(message)
        self.exit_code = exit_code


@dataclass(frozen=True)
class Stack:
    state_machine_arn: str
    images: tuple[str, ...]
    outputs: dict[str, str] = field(default_factory=dict)


@dataclass
class ImageProgress:
    image: str
    step: str = "queued"
    polls: int = 0
    state: str | None = None
    outcome: str | None = None
    new_image: str | None = None

    def line(self, elapsed: str) -> str:
        details = [self.step]
        if self.state:
            details.append(f"image {self.state}")
        if self.polls:
            details.append(f"{self.polls} status check{'s' if self.polls > 1 else ''}")
        if self.new_image:
            details.append(self.new_image)
        return f"{elapsed}  {self.image:<24} {', '.join(details)}"


@dataclass
class Progress:
    """Per-image progress, read from the execution's history."""

    images: dict[str, ImageProgress]
    seen_events: int = 0
    # (when, image, what it looked like then) for every change in the latest events
    changes: list[tuple[datetime, str, ImageProgress]] = field(default_factory=list)
    _last: dict[str, ImageProgress] = field(default_factory=dict)

    def apply(self, events: list[dict[str, Any]]) -> None:
        self.changes = []
        for event in events[self.seen_events :]:
            entered = event.get("stateEnteredEventDetails")
            exited = event.get("stateExitedEventDetails")
            details = entered or exited
            if not details or details.get("name") not in _IMAGE_STEPS:
                continue
            data = _json(details.get("input") if entered else details.get("output"))
            image = _image_of(data)
            if image not in self.images:
                continue
            progress = self.images[image]
            if entered:
                progress.step = _IMAGE_STEPS[details["name"]]
            else:
                progress.polls = int(data.get("polls") or progress.polls)
                progress.state = (data.get("image") or {}).get("state") or progress.state
                progress.new_image = data.get("newImageName") or progress.new_image
            # Entering and leaving a step often look the same: show only what changed.
            snapshot = replace(progress)
            if self._last.get(image) != snapshot:
                self._last[image] = snapshot
                self.changes.append((event["timestamp"], image, snapshot))
        self.seen_events = len(events)


def _json(text: Any) -> dict[str, Any]:
    try:
        value = json.loads(text) if isinstance(text, str) else {}
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


def _image_of(data: dict[str, Any]) -> str | None:
    name = data.get("rootImageName")
    return name if isinstance(name, str) else None


def console_link(execution_arn: str) -> str:
    """The execution's page in the Step Functions console, in the ARN's partition."""
    _, partition, _, region, *_ = execution_arn.split(":")
    domain = _CONSOLE_DOMAINS.get(partition, "console.aws.amazon.com")
    return (
        f"https://{region}.{domain}/states/home?region={region}"
        f"#/v2/executions/details/{quote(execution_arn, safe=':')}"
    )


def _execution_arn(text: str) -> str:
    parts = text.split(":")
    if len(parts) != 8 or parts[0] != "arn" or parts[2] != "states" or parts[5] != "execution":
        raise ToolError(
            f"--execution wants an execution ARN (arn:aws:states:REGION:ACCOUNT:execution:"
            f"MACHINE:NAME), got {text!r}.",
            USAGE,
        )
    return text


def find_stack(session: boto3.Session, name: str) -> Stack:
    cloudformation = session.client("cloudformation")
    try:
        (stack,) = cloudformation.describe_stacks(StackName=name)["Stacks"]
    except ClientError as error:
        if "does not exist" in str(error):
            raise ToolError(
                f"Stack {name!r} was not found in {session.region_name}. Deploy it with "
                "`npx cdk deploy`, or pass --stack / --region.",
                ENVIRONMENT,
            ) from error
        raise
    status = stack.get("StackStatus", "")
    if status.endswith("_IN_PROGRESS"):
        doing = "deleted" if status.startswith("DELETE") else "deployed"
        raise ToolError(
            f"Stack {name!r} is being {doing} ({status}). Try again when that has finished.",
            ENVIRONMENT,
        )
    if status in _FAILED_STACK:
        raise ToolError(
            f"Stack {name!r} failed to deploy ({status}). See its events in the CloudFormation "
            "console, fix the cause and deploy again with `npx cdk deploy`.",
            ENVIRONMENT,
        )
    outputs = {o["OutputKey"]: o["OutputValue"] for o in stack.get("Outputs", [])}
    if "StateMachineArn" not in outputs:
        raise ToolError(
            f"Stack {name!r} ({status}) has no StateMachineArn output: is it the image "
            "updater's stack? Pass --stack.",
            ENVIRONMENT,
        )
    images = tuple(i for i in outputs.get("ConfiguredImages", "").split(",") if i)
    return Stack(state_machine_arn=outputs["StateMachineArn"], images=images, outputs=outputs)


def _requested_images(requested: str | None) -> list[str] | None:
    """The names given to --images, checked before anything reaches AWS."""
    if requested is None:
        return None
    names = [name.strip() for name in requested.split(",")]
    if not all(names):
        raise ToolError(
            f"--images {requested!r} has an empty name: give comma-separated image names "
            "such as ImgA,ImgB, or leave --images out to run every configured image.",
            USAGE,
        )
    repeated = sorted({name for name in names if names.count(name) > 1})
    if repeated:
        raise ToolError(
            f"--images names {', '.join(repeated)} more than once: name each image once.",
            USAGE,
        )
    return names


def _chosen_images(requested: list[str] | None, configured: tuple[str, ...]) -> list[str]:
    if requested is None:
        return list(configured)
    unknown = [name for name in requested if name not in configured]
    if unknown:
        raise ToolError(
            f"Not configured: {', '.join(unknown)}. Configured images: {', '.join(configured)}.",
            USAGE,
        )
    return requested


def _problem(error: BotoCoreError | ClientError) -> str:
    """Whose problem it is: the credentials, the network, or AWS refusing the request."""
    if isinstance(error, NoCredentialsError | PartialCredentialsError):
        return f"no usable AWS credentials ({error})"
    code = error.response.get("Error", {}).get("Code") if isinstance(error, ClientError) else None
    if code in _CREDENTIALS_REFUSED or isinstance(error, _CREDENTIALS_UNAVAILABLE):
        return (
            f"the AWS credentials have expired or were not accepted ({error}). Refresh them "
            "(`aws sso login`, or new keys for the profile)."
        )
    if isinstance(error, EndpointUnreachable | HTTPClientError):
        return f"could not reach AWS (network): {error}. Check the connection, VPN or proxy."
    if isinstance(error, ClientError):
        return f"AWS refused: {error}"
    return f"the AWS SDK failed: {error}"


def _history(sfn: Any, execution_arn: str) -> list[dict[str, Any]]:
    events: list[dict[str, Any]] = []
    kwargs: dict[str, Any] = {"executionArn": execution_arn, "maxResults": 1000}
    while True:
        page = sfn.get_execution_history(**kwargs)
        events.extend(page["events"])
        if not page.get("nextToken"):
            return events
        kwargs["nextToken"] = page["nextToken"]


class Display:
    """A live table on a terminal; plain lines, one per change, anywhere else."""

    def __init__(self, out: IO[str]) -> None:
        self.out = out
        self.live = out.isatty()
        self._drawn = 0

    def show(self, progress: Progress, started: datetime, now: datetime) -> None:
        if self.live:
            if self._drawn:
                self.out.write(f"\x1b[{self._drawn}F\x1b[J")
            lines = [p.line(_elapsed(started, now)) for p in progress.images.values()]
            self.out.write("\n".join(lines) + "\n")
            self._drawn = len(lines)
        else:
            for when, _, snapshot in progress.changes:
                self.out.write(snapshot.line(_elapsed(started, when)) + "\n")
        self.out.flush()


def _elapsed(started: datetime, now: datetime) -> str:
    seconds = int((now - started).total_seconds())
    return f"{seconds // 3600:d}:{seconds % 3600 // 60:02d}:{seconds % 60:02d}"


def _results(output: Any, events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    if isinstance(output, dict) and isinstance(output.get("results"), list):
        return list(output["results"])
    for event in reversed(events):
        details = event.get("stateExitedEventDetails") or event.get("mapStateExitedEventDetails")
        if details and details.get("name") == states.UPDATE_EACH_IMAGE:
            results = _json(details.get("output")).get("results")
            return list(results) if isinstance(results, list) else []
    return []


def follow(
    sfn: Any,
    execution_arn: str,
    images: list[str] | None,
    out: IO[str],
    *,
    poll_seconds: float,
    sleep: Callable[[float], None] = time.sleep,
) -> dict[str, Any]:
    """Show progress until the execution ends; `images=None` takes them from its input."""
    progress: Progress | None = None
    display = Display(out)
    while True:
        described = sfn.describe_execution(executionArn=execution_arn)
        if progress is None:
            names = images if images is not None else _input_images(described)
            progress = Progress(images={name: ImageProgress(name) for name in names})
        events = _history(sfn, execution_arn)
        progress.apply(events)
        started = described["startDate"]
        now = described.get("stopDate") or datetime.now(UTC).astimezone(started.tzinfo)
        display.show(progress, started, now)
        if described["status"] != "RUNNING":
            described["events"] = events
            return dict(described)
        sleep(poll_seconds)


def _input_images(described: dict[str, Any]) -> list[str]:
    images = _json(described.get("input")).get("images")
    return [i for i in images if isinstance(i, str)] if isinstance(images, list) else []


def run(args: argparse.Namespace, out: IO[str], session_factory: SessionFactory) -> int:
    if args.resume_schedule:
        return _resume(args, out, session_factory)
    requested = _requested_images(args.images)
    execution = _execution_arn(args.execution) if args.execution else None
    if execution and (requested is not None or args.dry_run or not args.follow):
        raise ToolError(
            "--execution follows a run already started: leave out --images, --dry-run "
            "and --no-follow.",
            USAGE,
        )
    session = session_factory(profile_name=args.profile, region_name=args.region)
    if execution is None and session.region_name is None:
        raise ToolError("No AWS Region: pass --region or set AWS_REGION.", ENVIRONMENT)
    if session.get_credentials() is None:
        raise ToolError(
            "No AWS credentials found: run `aws configure`, `aws sso login`, or set AWS_PROFILE.",
            ENVIRONMENT,
        )
    if execution:
        sfn = session.client("stepfunctions", region_name=execution.split(":")[3])
        sfn.describe_execution(executionArn=execution)  # a wrong ARN is refused here
        return _follow_to_the_end(sfn, execution, None, out, args)
    stack = find_stack(session, args.stack)
    images = _chosen_images(requested, stack.images)
    sfn = session.client("stepfunctions")
    payload = {"images": images, "dryRun": args.dry_run}
    try:
        started = sfn.start_execution(
            stateMachineArn=stack.state_machine_arn,
            name=f"run-now-{datetime.now(UTC):%Y%m%d-%H%M%S}-{uuid.uuid4().hex[:8]}",
            input=json.dumps(payload),
        )
    except KeyboardInterrupt:
        raise ToolError(
            "Interrupted while starting the run: it may have started. See the state machine's "
            "runs in the Step Functions console (stack output StateMachineConsoleUrl).",
            INTERRUPTED,
        ) from None
    arn = started["executionArn"]
    out.write(f"Started {arn}\n  input {json.dumps(payload)}\n  console {console_link(arn)}\n")
    if not args.follow:
        return OK
    return _follow_to_the_end(sfn, arn, images, out, args)


def _resume(args: argparse.Namespace, out: IO[str], session_factory: SessionFactory) -> int:
    if args.images is not None or args.dry_run or not args.follow or args.execution:
        raise ToolError(
            "--resume-schedule starts no run: leave out --images, --dry-run, --no-follow "
            "and --execution (start a run afterwards if you want one now).",
            USAGE,
        )
    session = session_factory(profile_name=args.profile, region_name=args.region)
    if session.region_name is None:
        raise ToolError("No AWS Region: pass --region or set AWS_REGION.", ENVIRONMENT)
    if session.get_credentials() is None:
        raise ToolError(
            "No AWS credentials found: run `aws configure`, `aws sso login`, or set AWS_PROFILE.",
            ENVIRONMENT,
        )
    stack = find_stack(session, args.stack)
    name, table = stack.outputs.get("ScheduleName"), stack.outputs.get("LedgerTableName")
    if not name or not table:
        raise ToolError(
            f"Stack {args.stack!r} has no ScheduleName and LedgerTableName outputs: it was "
            "deployed by a version of the updater without the circuit breaker. Deploy this "
            "version with `npx cdk deploy`.",
            ENVIRONMENT,
        )
    return resume_schedule(session, name, table, out)


def resume_schedule(session: boto3.Session, name: str, table: str, out: IO[str]) -> int:
    """Reset the breaker's count, then turn the schedule on (every other setting kept)."""
    # The count first: a schedule turned on with the count still at its limit would be
    # paused again by the next failed run.
    try:
        cleared = BreakerLedger(table, session.client("dynamodb")).reset_breaker()
    except ImageUpdaterError as error:
        raise ToolError(
            f"Nothing was changed: the breaker's count in table {table} could not be reset "
            f"({_cause(error)}).",
            ENVIRONMENT,
        ) from error
    counted = f"{cleared} failed scheduled run{'s' if cleared != 1 else ''} in a row"
    try:
        scheduler = cast(SchedulerClient, session.client("scheduler"))
        change = Schedule(name, DEFAULT_GROUP, scheduler).set_state(ENABLED)
    except ImageUpdaterError as error:
        raise ToolError(
            f"The breaker's count was reset (it was {counted}), but schedule {name} was NOT "
            f"turned on: {_cause(error)}. Run --resume-schedule again once that is fixed.",
            ENVIRONMENT,
        ) from error
    timing = (
        f"{change.schedule.get('ScheduleExpression')} "
        f"({change.schedule.get('ScheduleExpressionTimezone')})"
    )
    if change.changed:
        out.write(
            f"Schedule {name} resumed: {change.previous_state} -> {change.state}, every other "
            f"setting kept. It starts runs again: {timing}.\n"
        )
    else:
        out.write(f"Schedule {name} is already {change.state}: left as it was ({timing}).\n")
    out.write(
        f"The breaker's count was reset (it was {counted}): it pauses the schedule again only "
        "after maxConsecutiveFailedRuns more scheduled runs fail in a row.\n"
    )
    if change.changed:
        announced = _announce_resumed(session, name)
        out.write(
            "Published the EventBridge event Schedule Resumed.\n"
            if announced
            else "The EventBridge event Schedule Resumed could not be published (the "
            "schedule is resumed all the same).\n"
        )
    return OK


def _cause(error: ImageUpdaterError) -> str:
    cause = error.__cause__
    return _problem(cause) if isinstance(cause, AWS_ERRORS) else str(error)


def _announce_resumed(session: boto3.Session, name: str) -> bool:
    """PutEvents "Schedule Resumed", as the updater's functions publish theirs; never
    raises: the resume is done whatever happens here."""
    try:
        from image_updater import events  # its Powertools logger only loads when needed

        detail = events.schedule_resumed(name, reason="resumed with run-now --resume-schedule")
        response = session.client("events").put_events(
            Entries=[
                {
                    "Source": events.SOURCE,
                    "DetailType": events.SCHEDULE_RESUMED,
                    "Detail": json.dumps(detail, separators=(",", ":")),
                }
            ]
        )
    except Exception:  # any failure: the event is lost, the resume stands
        return False
    return not response.get("FailedEntryCount")


def _follow_to_the_end(
    sfn: Any, arn: str, images: list[str] | None, out: IO[str], args: argparse.Namespace
) -> int:
    try:
        final = follow(sfn, arn, images, out, poll_seconds=args.poll_seconds)
    except KeyboardInterrupt:
        _goes_on(arn, args.profile, "Stopped following (Ctrl-C).")
        return INTERRUPTED
    except AWS_ERRORS as error:
        _goes_on(arn, args.profile, f"error while following the run: {_problem(error)}")
        return STOPPED_FOLLOWING
    status = final["status"]
    output = _json(final.get("output"))
    out.write(f"\nRun {status}\n")
    for result in _results(output, final["events"]):
        out.write(f"  {result.get('image')}: {_describe(result)}\n")
    if status == "SUCCEEDED":
        return OK
    out.write(f"Reason: {final.get('error', status)}: {final.get('cause', '')}\n".rstrip() + "\n")
    return RUN_FAILED


def _goes_on(arn: str, profile: str | None, what_happened: str) -> None:
    follow_again = f"python -m tools.run_now --execution {arn}"
    if profile:
        follow_again += f" --profile {profile}"
    print(
        f"\n{what_happened}\n"
        "The execution is still running in AWS: only this tool stopped following it.\n"
        f"  follow it again: {follow_again}\n"
        f"  or check it:     {console_link(arn)}",
        file=sys.stderr,
    )


# What a dry run's check found, by the action a real run would take.
_DRY_RUN_ACTIONS = {
    "UPDATE": "would create {new_image}",
    "NO_UPDATE": "up to date",
    "FOLLOW": "an update is already building: {new_image}",
}


def _describe(result: dict[str, Any]) -> str:
    new_image = result.get("newImageName") or ""
    if result.get("outcome") != "DRY_RUN":
        return f"{result.get('outcome')} {new_image}".rstrip()
    if result.get("error"):
        return f"dry run: could not check: {_error_text(result['error'])}"
    action = result.get("action")
    template = _DRY_RUN_ACTIONS.get(str(action), "would {action} {new_image}")
    return "dry run: " + template.format(action=action, new_image=new_image).rstrip()


def _error_text(error: Any) -> str:
    """`Name: message` on one short line; a Lambda error's Cause is JSON with errorMessage."""
    if not isinstance(error, dict):
        return _one_short_line(str(error))
    name, cause = error.get("Error") or "Error", error.get("Cause")
    message = _json(cause).get("errorMessage", cause)
    return _one_short_line(f"{name}: {message}" if message else str(name))


def _one_short_line(text: str) -> str:
    line = " ".join(text.split())
    return line if len(line) <= MESSAGE_MAX else line[: MESSAGE_MAX - 3] + "..."


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m tools.run_now",
        description=__doc__.strip().split("\n")[0],
        epilog=__doc__[__doc__.index("Exit codes:") :],
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--images", help="comma-separated subset of the configured images, each once")
    p.add_argument(
        "--dry-run",
        action="store_true",
        help="only check: create nothing, send no e-mail; the results are printed here",
    )
    p.add_argument("--stack", default=DEFAULT_STACK, help=f"stack name (default {DEFAULT_STACK})")
    p.add_argument("--profile", help="AWS profile (default: AWS_PROFILE or the default)")
    p.add_argument("--region", help="AWS Region (default: AWS_REGION or the profile's)")
    p.add_argument("--poll-seconds", type=float, default=15, help="refresh interval")
    p.add_argument(
        "--no-follow", dest="follow", action="store_false", help="start the run and exit"
    )
    p.add_argument(
        "--execution",
        metavar="ARN",
        help="follow a run already started (after Ctrl-C, or by the schedule); start none",
    )
    p.add_argument(
        "--resume-schedule",
        action="store_true",
        help="turn the schedule back on after the circuit breaker paused it (every other "
        "setting kept) and reset the breaker's count; starts no run",
    )
    return p


def main(
    argv: list[str] | None = None,
    out: IO[str] = sys.stdout,
    *,
    session_factory: SessionFactory = boto3.Session,
) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv and argv[0] in rollout_commands.COMMANDS:
        return rollout_commands.main(argv, out, session_factory=session_factory)
    args = parser().parse_args(argv)
    try:
        return run(args, out, session_factory)
    except ToolError as error:
        print(f"error: {error}", file=sys.stderr)
        return error.exit_code
    except KeyboardInterrupt:
        print("\nInterrupted: no run was started.", file=sys.stderr)
        return INTERRUPTED
    except AWS_ERRORS as error:
        print(f"error: {_problem(error)}", file=sys.stderr)
        return ENVIRONMENT


if __name__ == "__main__":
    sys.exit(main())
