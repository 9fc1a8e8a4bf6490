"""The roll-out's commands, run with the admin's own AWS credentials:

    python -m tools.run_now approve EXECUTION_ARN --image ROOT [--reason TEXT] [--stack NAME]
    python -m tools.run_now reject  EXECUTION_ARN --image ROOT [--reason TEXT] [--url URL]
    python -m tools.run_now rollback --fleet NAME

approve / reject answer a roll-out waiting for approval (its e-mail gives the exact command)
through the updater's approval function (tools/approval_commands.py): a request signed with
the approver's own credentials to its IAM-authenticated URL, which only the principals named
in `approvers` may call. The function records who AWS says answered; the command never sees
a task token. Needs cloudformation:DescribeStacks on the stack (for the URL; not with --url).

rollback puts a fleet back on the image the updater recorded in its ledger when it changed
the fleet (by ARN, so a shared image works), then removes that record. The fleet's tags
AppStreamImageUpdater:PreviousImage and :RolledOutImage only mirror the record: if they
disagree with it (someone changed them), nothing is moved. Only fleets tagged
AppStreamImageUpdater:Image are touched. Needs cloudformation:DescribeStacks on the stack
(for its LedgerTableName output), dynamodb:GetItem and dynamodb:DeleteItem on that table,
and appstream:DescribeFleets, ListTagsForResource, UpdateFleet and UntagResource on the fleet.

Exit codes: 0 done; 1 nothing to answer or roll back (no roll-out waiting, answered already,
timed out, no recorded image, or the fleet no longer runs the image the updater put it on);
2 usage; 3 AWS refused or could not be reached; 4 rollback refused: the fleet's tags disagree
with the updater's record (nothing was moved).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from typing import IO

import boto3
from botocore.exceptions import BotoCoreError, ClientError

from image_updater.errors import ImageUpdaterError
from image_updater.integrations.appstream.client import client_config
from image_updater.integrations.appstream.fleets import AppStreamFleets
from image_updater.rollout.models import APPROVED, FOLLOWS_TAG
from image_updater.rollout.models import REJECTED as REJECTED_DECISION
from image_updater.rollout.records import RollbackRecords, disagreement
from tools import approval_commands

COMMANDS = ("approve", "reject", "rollback")
OK, NOTHING_TO_DO, USAGE, ENVIRONMENT, TAMPERED = 0, 1, 2, 3, 4
DEFAULT_STACK = approval_commands.DEFAULT_STACK
SessionFactory = Callable[..., boto3.Session]


class CommandError(Exception):
    def __init__(self, message: str, exit_code: int) -> None:
        super().__init__(message)
        self.exit_code = exit_code


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m tools.run_now",
        description="Answer a roll-out's approval, or roll a fleet back.",
        epilog=__doc__[__doc__.index("Exit codes:") :],
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("command", choices=COMMANDS)
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


def main(
    argv: list[str], out: IO[str] = sys.stdout, *, session_factory: SessionFactory = boto3.Session
) -> int:
    args = parser().parse_args(argv)
    try:
        if args.command == "rollback":
            if not args.fleet or args.execution:
                raise CommandError("rollback takes --fleet NAME and no execution.", USAGE)
            session = session_factory(profile_name=args.profile, region_name=args.region)
            return roll_back(session, args.fleet, out, table=ledger_table(session, args.stack))
        if not args.execution or not args.execution.startswith("arn:") or args.fleet:
            raise CommandError(
                f"{args.command} takes the run's execution ARN (from the e-mail), and no --fleet.",
                USAGE,
            )
        region = args.region or args.execution.split(":")[3]
        session = session_factory(profile_name=args.profile, region_name=region)
        decision = APPROVED if args.command == "approve" else REJECTED_DECISION
        return answer(
            session,
            args.execution,
            decision,
            out,
            image=args.image,
            reason=args.reason,
            stack=args.stack,
            url=args.url,
        )
    except CommandError as error:
        print(f"error: {error}", file=sys.stderr)
        return error.exit_code
    except (BotoCoreError, ClientError) as error:
        print(f"error: {error}", file=sys.stderr)
        return ENVIRONMENT


def answer(
    session: boto3.Session,
    execution_arn: str,
    decision: str,
    out: IO[str],
    *,
    image: str | None = None,
    reason: str | None = None,
    stack: str = approval_commands.DEFAULT_STACK,
    url: str | None = None,
    transport: approval_commands.Send | None = None,
) -> int:
    """Approve (or reject) the roll-out of `image` waiting in the run `execution_arn`."""
    try:
        return approval_commands.answer(
            session,
            execution_arn,
            decision,
            out,
            image=image,
            reason=reason,
            stack=stack,
            url=url,
            transport=transport,
        )
    except approval_commands.ApprovalError as error:
        raise CommandError(str(error), error.exit_code) from error


def _caller(session: boto3.Session) -> str:
    try:
        return str(session.client("sts").get_caller_identity()["Arn"])
    except Exception:  # who answered is a record, not a permission: never blocks the answer
        return "unknown"


def ledger_table(session: boto3.Session, stack: str) -> str:
    """The stack's ledger table (its LedgerTableName output), where rollback records are."""
    try:
        (found,) = session.client("cloudformation").describe_stacks(StackName=stack)["Stacks"]
    except ClientError as error:
        raise CommandError(
            f"Stack {stack!r} was not found: pass --stack and --region ({error}).", ENVIRONMENT
        ) from error
    outputs = {o["OutputKey"]: o["OutputValue"] for o in found.get("Outputs", [])}
    if "LedgerTableName" not in outputs:
        raise CommandError(f"Stack {stack!r} has no LedgerTableName output.", ENVIRONMENT)
    return str(outputs["LedgerTableName"])


def roll_back(session: boto3.Session, fleet_name: str, out: IO[str], *, table: str) -> int:
    """Put `fleet_name` back on the previous image the updater recorded in its ledger
    (`table`), if the fleet's tags still show that record, and forget the record."""
    # One client for the command's reads and its UpdateFleet and tagging: sent once, never
    # re-sent by the SDK behind the record check (the admin runs the command again instead).
    fleets = AppStreamFleets(
        session.client("appstream", config=client_config("change")),
        RollbackRecords(table, session.client("dynamodb")),
    )
    try:
        found = fleets.fleets([fleet_name])
        record = fleets.rollback_record(fleet_name) if found else None
    except ImageUpdaterError as error:
        raise CommandError(f"Could not read fleet {fleet_name}: {error}", ENVIRONMENT) from error
    if not found:
        raise CommandError(f"No fleet named {fleet_name} in this Region.", NOTHING_TO_DO)
    fleet = found[0]
    if FOLLOWS_TAG not in fleet.tags:
        raise CommandError(
            f"Fleet {fleet_name} is not tagged {FOLLOWS_TAG}: the updater never changed it, "
            "so it has nothing to roll back.",
            NOTHING_TO_DO,
        )
    if record is None:
        raise CommandError(
            f"Fleet {fleet_name} has no recorded previous image in the updater's ledger "
            f"({table}): it was rolled back already, or the updater has not changed it.",
            NOTHING_TO_DO,
        )
    tampered = disagreement(record, fleet.tags)
    if tampered:
        raise CommandError(
            f"Fleet {fleet_name} was not rolled back (nothing was moved): {tampered}. Find "
            "out who changed them; to roll back to the recorded image, tag the fleet back "
            "as recorded and run this again.",
            TAMPERED,
        )
    back_already = record.names(fleet.image_name) or record.names(fleet.image_arn)
    if not back_already and not fleet.runs(record.rolled_out, None):
        # As the canary's automatic rollback: the record undoes one change, not whatever the
        # fleet runs now.
        raise CommandError(
            f"Fleet {fleet_name} runs {fleet.image}, not {record.rolled_out}, the image the "
            f"updater put it on (run {record.execution_id or 'unknown'}): it was changed since, "
            "so there is no change of the updater's to undo, and nothing was moved. To put it "
            f"on {record.previous_image} anyway, use aws appstream update-fleet.",
            NOTHING_TO_DO,
        )
    try:
        if not back_already:
            fleets.set_image(fleet.name, record.target)
        fleets.forget_previous_image(fleet)
    except ImageUpdaterError as error:
        raise CommandError(
            f"Fleet {fleet_name} was not rolled back: {error}", ENVIRONMENT
        ) from error
    out.write(
        f"Fleet {fleet_name}: {fleet.image} -> {record.previous_image} (the previous image "
        f"the updater recorded, run {record.execution_id or 'unknown'}). Active sessions go "
        "on; instances are replaced as their sessions end.\n"
    )
    _announce_rolled_back(
        session,
        fleet=fleet.name,
        arn=fleet.arn,
        from_image=fleet.image,
        to_image=record.previous_image,
        tags=fleet.tags,
        stage=fleet.stage,
    )
    return OK


def _announce_rolled_back(
    session: boto3.Session,
    *,
    fleet: str,
    arn: str,
    from_image: str | None,
    to_image: str,
    tags: dict[str, str],
    stage: str | None,
) -> bool:
    """PutEvents "Fleet Rolled Back"; never raises: the rollback stands whatever happens."""
    try:
        from image_updater import events

        detail = events.fleet_change(
            "ROLLED_BACK",
            root=tags.get(FOLLOWS_TAG, ""),
            new_image_name=to_image,
            new_image_arn=None,
            execution_arn=None,
            stage=stage,
            fleets=[{"fleet": fleet, "fleetArn": arn, "previousImage": from_image}],
            by=_caller(session),
            reason="rolled back with run-now rollback",
        )
        response = session.client("events").put_events(
            Entries=[
                {
                    "Source": events.SOURCE,
                    "DetailType": events.FLEET_ROLLED_BACK,
                    "Detail": json.dumps(detail, separators=(",", ":")),
                    "Resources": [arn],
                }
            ]
        )
    except Exception:
        return False
    return not response.get("FailedEntryCount")
