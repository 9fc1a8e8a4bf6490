"""Run the deployed image updater now and follow it.

    python -m tools.run_now [--images ImgA,ImgB] [--dry-run] [--stack NAME]
                            [--profile P] [--region R]

Finds the state machine from the stack's outputs, starts a run for every configured image
(or the ones named), shows each image's progress until the run ends, and exits 0 when it
succeeded, 1 when it failed (with the reason), 2 for a usage error and 3 when AWS
credentials or the stack are missing. `--dry-run` only checks for updates: nothing is
created and no e-mail is sent. Honours the usual AWS_PROFILE / AWS_REGION settings.
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
from typing import IO, Any

import boto3
from botocore.exceptions import BotoCoreError, ClientError, NoCredentialsError

DEFAULT_STACK = "AppStreamImageUpdater"
OK, RUN_FAILED, USAGE, ENVIRONMENT = 0, 1, 2, 3
_IMAGE_STEPS = {
    "Check for updates": "checking for updates",
    "Already up to date": "up to date",
    "Dry run: report only": "checked (dry run)",
    "Start the update": "starting the update",
    "Wait for the build": "waiting for the build",
    "Check the build": "checking the build",
    "Write the e-mail": "writing the e-mail",
    "Send the e-mail": "sending the e-mail",
}


class ToolError(Exception):
    def __init__(self, message: str, exit_code: int) -> None:
        super().__init__(message)
        self.exit_code = exit_code


@dataclass(frozen=True)
class Stack:
    state_machine_arn: str
    images: tuple[str, ...]


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
    outputs = {o["OutputKey"]: o["OutputValue"] for o in stack.get("Outputs", [])}
    if "StateMachineArn" not in outputs:
        raise ToolError(f"Stack {name!r} has no StateMachineArn output.", ENVIRONMENT)
    images = tuple(i for i in outputs.get("ConfiguredImages", "").split(",") if i)
    return Stack(state_machine_arn=outputs["StateMachineArn"], images=images)


def _chosen_images(requested: str | None, configured: tuple[str, ...]) -> list[str]:
    if not requested:
        return list(configured)
    chosen = [name.strip() for name in requested.split(",") if name.strip()]
    unknown = [name for name in chosen if name not in configured]
    if unknown or not chosen:
        raise ToolError(
            f"Not configured: {', '.join(unknown) or '(none given)'}. "
            f"Configured images: {', '.join(configured)}.",
            USAGE,
        )
    return chosen


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
        if details and details.get("name") == "Update each image":
            results = _json(details.get("output")).get("results")
            return list(results) if isinstance(results, list) else []
    return []


def follow(
    sfn: Any,
    execution_arn: str,
    images: list[str],
    out: IO[str],
    *,
    poll_seconds: float,
    sleep: Callable[[float], None] = time.sleep,
) -> dict[str, Any]:
    progress = Progress(images={name: ImageProgress(name) for name in images})
    display = Display(out)
    while True:
        described = sfn.describe_execution(executionArn=execution_arn)
        events = _history(sfn, execution_arn)
        progress.apply(events)
        started = described["startDate"]
        now = described.get("stopDate") or datetime.now(UTC).astimezone(started.tzinfo)
        display.show(progress, started, now)
        if described["status"] != "RUNNING":
            described["events"] = events
            return dict(described)
        sleep(poll_seconds)


def run(args: argparse.Namespace, out: IO[str]) -> int:
    session = boto3.Session(profile_name=args.profile, region_name=args.region)
    if session.region_name is None:
        raise ToolError("No AWS Region: pass --region or set AWS_REGION.", ENVIRONMENT)
    if session.get_credentials() is None:
        raise ToolError(
            "No AWS credentials found: run `aws configure`, `aws sso login`, or set AWS_PROFILE.",
            ENVIRONMENT,
        )
    stack = find_stack(session, args.stack)
    images = _chosen_images(args.images, stack.images)
    sfn = session.client("stepfunctions")
    payload = {"images": images, "dryRun": args.dry_run}
    started = sfn.start_execution(
        stateMachineArn=stack.state_machine_arn,
        name=f"run-now-{datetime.now(UTC):%Y%m%d-%H%M%S}-{uuid.uuid4().hex[:8]}",
        input=json.dumps(payload),
    )
    arn = started["executionArn"]
    out.write(f"Started {arn}\n  input {json.dumps(payload)}\n")
    if not args.follow:
        return OK
    final = follow(sfn, arn, images, out, poll_seconds=args.poll_seconds)
    status = final["status"]
    output = _json(final.get("output"))
    out.write(f"\nRun {status}\n")
    for result in _results(output, final["events"]):
        out.write(f"  {result.get('image')}: {_describe(result)}\n")
    if status == "SUCCEEDED":
        return OK
    out.write(f"Reason: {final.get('error', status)}: {final.get('cause', '')}\n".rstrip() + "\n")
    return RUN_FAILED


def _describe(result: dict[str, Any]) -> str:
    if result.get("outcome") == "DRY_RUN":
        return f"dry run, would {result.get('action')} {result.get('newImageName') or ''}".rstrip()
    return f"{result.get('outcome')} {result.get('newImageName') or ''}".rstrip()


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m tools.run_now", description=__doc__.strip().split("\n")[0]
    )
    p.add_argument("--images", help="comma-separated subset of the configured images")
    p.add_argument("--dry-run", action="store_true", help="only check; create nothing")
    p.add_argument("--stack", default=DEFAULT_STACK, help=f"stack name (default {DEFAULT_STACK})")
    p.add_argument("--profile", help="AWS profile (default: AWS_PROFILE or the default)")
    p.add_argument("--region", help="AWS Region (default: AWS_REGION or the profile's)")
    p.add_argument("--poll-seconds", type=float, default=15, help="refresh interval")
    p.add_argument(
        "--no-follow", dest="follow", action="store_false", help="start the run and exit"
    )
    return p


def main(argv: list[str] | None = None, out: IO[str] = sys.stdout) -> int:
    args = parser().parse_args(argv)
    try:
        return run(args, out)
    except ToolError as error:
        print(f"error: {error}", file=sys.stderr)
        return error.exit_code
    except NoCredentialsError:
        print("error: no usable AWS credentials", file=sys.stderr)
        return ENVIRONMENT
    except (BotoCoreError, ClientError) as error:
        print(f"error: AWS refused: {error}", file=sys.stderr)
        return ENVIRONMENT


if __name__ == "__main__":
    sys.exit(main())
