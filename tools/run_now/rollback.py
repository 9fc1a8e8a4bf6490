"""rollback: put a fleet back on the image the updater recorded when it changed the fleet.

The record is in the updater's ledger (by ARN, so a shared image works); the command removes
it once the fleet is back. The fleet's tags AppStreamImageUpdater:PreviousImage and
:RolledOutImage only mirror the record: if they disagree with it (someone changed them),
nothing is moved. Only fleets tagged AppStreamImageUpdater:Image are touched. Needs
cloudformation:DescribeStacks on the stack (for its LedgerTableName output),
dynamodb:GetItem and dynamodb:DeleteItem on that table, and appstream:DescribeFleets,
ListTagsForResource, UpdateFleet and UntagResource on the fleet.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import IO

import boto3
from botocore.exceptions import ClientError

from image_updater.errors import ImageUpdaterError
from image_updater.integrations.appstream.client import client_config
from image_updater.integrations.appstream.fleets import AppStreamFleets
from image_updater.rollout.models import FOLLOWS_TAG
from image_updater.rollout.records import RollbackRecords, disagreement
from tools.run_now.aws import stack_outputs
from tools.run_now.errors import ENVIRONMENT, NOTHING_TO_DO, OK, TAMPERED, ToolError


def ledger_table(session: boto3.Session, stack: str) -> str:
    """The stack's ledger table (its LedgerTableName output), where rollback records are."""
    try:
        outputs = stack_outputs(session, stack)
    except ClientError as error:
        raise ToolError(
            f"Stack {stack!r} was not found: pass --stack and --region ({error}).", ENVIRONMENT
        ) from error
    if "LedgerTableName" not in outputs:
        raise ToolError(f"Stack {stack!r} has no LedgerTableName output.", ENVIRONMENT)
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
        raise ToolError(f"Could not read fleet {fleet_name}: {error}", ENVIRONMENT) from error
    if not found:
        raise ToolError(f"No fleet named {fleet_name} in this Region.", NOTHING_TO_DO)
    fleet = found[0]
    if FOLLOWS_TAG not in fleet.tags:
        raise ToolError(
            f"Fleet {fleet_name} is not tagged {FOLLOWS_TAG}: the updater never changed it, "
            "so it has nothing to roll back.",
            NOTHING_TO_DO,
        )
    if record is None:
        raise ToolError(
            f"Fleet {fleet_name} has no recorded previous image in the updater's ledger "
            f"({table}): it was rolled back already, or the updater has not changed it.",
            NOTHING_TO_DO,
        )
    tampered = disagreement(record, fleet.tags)
    if tampered:
        raise ToolError(
            f"Fleet {fleet_name} was not rolled back (nothing was moved): {tampered}. Find "
            "out who changed them; to roll back to the recorded image, tag the fleet back "
            "as recorded and run this again.",
            TAMPERED,
        )
    back_already = record.names(fleet.image_name) or record.names(fleet.image_arn)
    if not back_already and not fleet.runs(record.rolled_out, None):
        # As the canary's automatic rollback: the record undoes one change, not whatever the
        # fleet runs now.
        raise ToolError(
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
        raise ToolError(f"Fleet {fleet_name} was not rolled back: {error}", ENVIRONMENT) from error
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


def _caller(session: boto3.Session) -> str:
    try:
        return str(session.client("sts").get_caller_identity()["Arn"])
    except Exception:  # who answered is a record, not a permission: never blocks the answer
        return "unknown"


def _announce_rolled_back(
    session: boto3.Session,
    *,
    fleet: str,
    arn: str,
    from_image: str | None,
    to_image: str,
    tags: Mapping[str, str],
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
