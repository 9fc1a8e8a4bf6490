"""run: start a run of the deployed state machine for every configured image (or the ones
named) and follow it to its end; or, with --execution, follow a run started earlier.

A started run goes on in AWS whatever happens to this tool: after Ctrl-C, expired
credentials or a lost connection it says so, with the run's console link and the command
that follows it again.
"""

from __future__ import annotations

import argparse
import json
import sys
import uuid
from datetime import UTC, datetime
from typing import IO, Any

from infra.workflow import states
from tools.run_now.aws import (
    AWS_ERRORS,
    SessionFactory,
    console_link,
    find_stack,
    problem,
    signed_in_session,
)
from tools.run_now.errors import (
    INTERRUPTED,
    OK,
    RUN_FAILED,
    STOPPED_FOLLOWING,
    USAGE,
    ToolError,
)
from tools.run_now.follow import follow, json_object

# Longest error message echoed per image; the full text is in the run's history.
MESSAGE_MAX = 300
# What a dry run's check found, by the action a real run would take.
_DRY_RUN_ACTIONS = {
    "UPDATE": "would create {new_image}",
    "NO_UPDATE": "up to date",
    "FOLLOW": "an update is already building: {new_image}",
}


def run(args: argparse.Namespace, out: IO[str], session_factory: SessionFactory) -> int:
    requested = _requested_images(args.images)
    execution = _execution_arn(args.execution) if args.execution else None
    if execution and (requested is not None or args.dry_run or not args.follow):
        raise ToolError(
            "--execution follows a run already started: leave out --images, --dry-run "
            "and --no-follow.",
            USAGE,
        )
    session = signed_in_session(args, session_factory, region_needed=execution is None)
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


def _execution_arn(text: str) -> str:
    parts = text.split(":")
    if len(parts) != 8 or parts[0] != "arn" or parts[2] != "states" or parts[5] != "execution":
        raise ToolError(
            f"--execution wants an execution ARN (arn:aws:states:REGION:ACCOUNT:execution:"
            f"MACHINE:NAME), got {text!r}.",
            USAGE,
        )
    return text


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


def _follow_to_the_end(
    sfn: Any, arn: str, images: list[str] | None, out: IO[str], args: argparse.Namespace
) -> int:
    try:
        final = follow(sfn, arn, images, out, poll_seconds=args.poll_seconds)
    except KeyboardInterrupt:
        _goes_on(arn, args.profile, "Stopped following (Ctrl-C).")
        return INTERRUPTED
    except AWS_ERRORS as error:
        _goes_on(arn, args.profile, f"error while following the run: {problem(error)}")
        return STOPPED_FOLLOWING
    status = final["status"]
    output = json_object(final.get("output"))
    out.write(f"\nRun {status}\n")
    for result in _results(output, final["events"]):
        out.write(f"  {result.get('image')}: {describe(result)}\n")
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


def _results(output: Any, events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    if isinstance(output, dict) and isinstance(output.get("results"), list):
        return list(output["results"])
    for event in reversed(events):
        details = event.get("stateExitedEventDetails") or event.get("mapStateExitedEventDetails")
        if details and details.get("name") == states.UPDATE_EACH_IMAGE:
            results = json_object(details.get("output")).get("results")
            return list(results) if isinstance(results, list) else []
    return []


def describe(result: dict[str, Any]) -> str:
    """One image's result, as the run's summary prints it."""
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
    message = json_object(cause).get("errorMessage", cause)
    return _one_short_line(f"{name}: {message}" if message else str(name))


def _one_short_line(text: str) -> str:
    line = " ".join(text.split())
    return line if len(line) <= MESSAGE_MAX else line[: MESSAGE_MAX - 3] + "..."
