"""Run the deployed image updater now and follow it.

    python -m tools.run_now [--images ImgA,ImgB] [--dry-run] [--no-follow] [--stack NAME]
                            [--profile P] [--region R]
    python -m tools.run_now --execution ARN     # follow a run started earlier
    python -m tools.run_now --resume-schedule   # after the breaker paused the schedule
    python -m tools.run_now approve|reject EXECUTION_ARN --image ROOT [--reason TEXT]
                            [--stack NAME] [--url URL]
    python -m tools.run_now rollback --fleet NAME
    python -m tools.run_now status [--json] [--max-patch-age-days N] [--stuck-after-hours H]

Finds the state machine from the stack's outputs, starts a run for every configured image
(or the ones named) and shows each image's progress until the run ends. `--dry-run` only
checks for updates: nothing is created and no e-mail is sent; what each image would do, or
why it could not be checked, is printed here. Honours the usual AWS_PROFILE / AWS_REGION.
The commands, one module each: run.py (and follow.py, the progress it shows), resume.py,
approve.py (approve and reject), rollback.py, status.py (read-only: see `status --help`);
the roll-out's commands and status run with the admin's own AWS credentials.

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
import sys
from typing import IO

import boto3
from botocore.exceptions import BotoCoreError, ClientError

from image_updater.rollout.outcomes import APPROVED
from image_updater.rollout.outcomes import REJECTED as REJECTED_DECISION
from tools.run_now import approve, rollback
from tools.run_now.aws import AWS_ERRORS, DEFAULT_STACK, SessionFactory, problem
from tools.run_now.errors import ENVIRONMENT, INTERRUPTED, USAGE, ToolError
from tools.run_now.resume import resume
from tools.run_now.run import run
from tools.run_now.status import status
from tools.run_now.status_report import DEFAULT_MAX_PATCH_AGE_DAYS, DEFAULT_STUCK_AFTER_HOURS

ROLLOUT_COMMANDS = ("approve", "reject", "rollback")
_ROLLOUT_EXIT_CODES = (
    "Exit codes: 0 done; 1 nothing to answer or roll back (no roll-out waiting, answered already,\n"
    "timed out, no recorded image, or the fleet no longer runs the image the updater put it on);\n"
    "2 usage; 3 AWS refused or could not be reached; 4 rollback refused: the fleet's tags "
    "disagree\nwith the updater's record (nothing was moved).\n"
)

_STATUS_EXIT_CODES = (
    "Exit codes: 0 nothing needs a person; 1 something does (each reason is listed: an image\n"
    "not found, a failed or stuck update, a roll-out waiting for approval, patches older than\n"
    "--max-patch-age-days, a paused schedule or open breaker, the images or image builders\n"
    "quota full); 2 usage; 3 AWS could not be read (credentials, network, stack, refusal).\n"
)


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


def rollout_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m tools.run_now",
        description="Answer a roll-out's approval, or roll a fleet back.",
        epilog=_ROLLOUT_EXIT_CODES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("command", choices=ROLLOUT_COMMANDS)
    p.add_argument("execution", nargs="?", help="the run's execution ARN (approve, reject)")
    p.add_argument("--image", help="the image (lineage root) whose roll-out to answer")
    p.add_argument("--reason", help="why (recorded in the run and the e-mail)")
    p.add_argument("--fleet", help="the fleet to roll back (rollback)")
    p.add_argument(
        "--stack",
        default=DEFAULT_STACK,
        help=f"the updater's stack (default {DEFAULT_STACK}): its ApprovalUrl output "
        "(approve, reject) and LedgerTableName output (rollback)",
    )
    p.add_argument("--url", help="the approval function's URL, instead of the stack's output")
    p.add_argument("--profile", help="AWS profile (default: AWS_PROFILE or the default)")
    p.add_argument("--region", help="AWS Region (default: the execution's, or AWS_REGION)")
    return p


def status_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m tools.run_now status",
        description="Read-only: per configured image, the newest image of its lineage, the age "
        "of its patches, its agent, updates, reports owed, fleets and approvals; the schedule, "
        "the breaker and the quotas' headroom.",
        epilog=_STATUS_EXIT_CODES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--json", action="store_true", help="JSON for scripts (shape: version 1)")
    p.add_argument(
        "--max-patch-age-days",
        type=_non_negative,
        default=DEFAULT_MAX_PATCH_AGE_DAYS,
        help="patches older than this need a person: days since the newest image's base image "
        f"was released (PublicBaseImageReleasedDate; default {DEFAULT_MAX_PATCH_AGE_DAYS})",
    )
    p.add_argument(
        "--stuck-after-hours",
        type=_non_negative,
        default=DEFAULT_STUCK_AFTER_HOURS,
        help="an update building longer than this is stuck (default "
        f"{DEFAULT_STUCK_AFTER_HOURS}, maxUpdateHours' default: pass yours)",
    )
    p.add_argument("--stack", default=DEFAULT_STACK, help=f"stack name (default {DEFAULT_STACK})")
    p.add_argument("--profile", help="AWS profile (default: AWS_PROFILE or the default)")
    p.add_argument("--region", help="AWS Region (default: AWS_REGION or the profile's)")
    return p


def _non_negative(value: str) -> int:
    number = int(value)
    if number < 0:
        raise argparse.ArgumentTypeError(f"{value} is negative")
    return number


def status_main(
    argv: list[str], out: IO[str] = sys.stdout, *, session_factory: SessionFactory = boto3.Session
) -> int:
    """status (argv[0] is the command's name)."""
    args = status_parser().parse_args(argv[1:])
    try:
        return status(args, out, session_factory)
    except ToolError as error:
        print(f"error: {error}", file=sys.stderr)
        return error.exit_code
    except AWS_ERRORS as error:
        print(f"error: {problem(error)}", file=sys.stderr)
        return ENVIRONMENT


def main(
    argv: list[str] | None = None,
    out: IO[str] = sys.stdout,
    *,
    session_factory: SessionFactory = boto3.Session,
) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv and argv[0] == "status":
        return status_main(argv, out, session_factory=session_factory)
    if argv and argv[0] in ROLLOUT_COMMANDS:
        return rollout_main(argv, out, session_factory=session_factory)
    args = parser().parse_args(argv)
    try:
        if args.resume_schedule:
            return resume(args, out, session_factory)
        return run(args, out, session_factory)
    except ToolError as error:
        print(f"error: {error}", file=sys.stderr)
        return error.exit_code
    except KeyboardInterrupt:
        print("\nInterrupted: no run was started.", file=sys.stderr)
        return INTERRUPTED
    except AWS_ERRORS as error:
        print(f"error: {problem(error)}", file=sys.stderr)
        return ENVIRONMENT


def rollout_main(
    argv: list[str], out: IO[str] = sys.stdout, *, session_factory: SessionFactory = boto3.Session
) -> int:
    """approve, reject and rollback (argv[0] names the command)."""
    args = rollout_parser().parse_args(argv)
    try:
        if args.command == "rollback":
            if not args.fleet or args.execution:
                raise ToolError("rollback takes --fleet NAME and no execution.", USAGE)
            session = session_factory(profile_name=args.profile, region_name=args.region)
            table = rollback.ledger_table(session, args.stack)
            return rollback.roll_back(session, args.fleet, out, table=table)
        if not args.execution or not args.execution.startswith("arn:") or args.fleet:
            raise ToolError(
                f"{args.command} takes the run's execution ARN (from the e-mail), and no --fleet.",
                USAGE,
            )
        region = args.region or args.execution.split(":")[3]
        session = session_factory(profile_name=args.profile, region_name=region)
        return approve.answer(
            session,
            args.execution,
            APPROVED if args.command == "approve" else REJECTED_DECISION,
            out,
            image=args.image,
            reason=args.reason,
            stack=args.stack,
            url=args.url,
        )
    except ToolError as error:
        print(f"error: {error}", file=sys.stderr)
        return error.exit_code
    except (BotoCoreError, ClientError) as error:
        print(f"error: {error}", file=sys.stderr)
        return ENVIRONMENT
