"""`make rehearse ARGS=rollout-attacks`: five attacks on the roll-out's promises (issue 16),
each its own offline deployment and run, with a verdict computed from what happened.

    python -m rehearsal rollout-attacks

The pieces an attack needs (a forged answer, a lost claim response) live here, and the
workflow tests use them too.
"""

from __future__ import annotations

import io
import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import timedelta
from functools import cache
from typing import Any, Protocol

import boto3

from rehearsal.approvals import APPROVER
from rehearsal.appstream import SimulatedAppStream
from rehearsal.runner import (
    ACCOUNT,
    REGION,
    ApprovalRequest,
    Execution,
    Invocation,
    SimulatedClock,
    WorkflowRunner,
    set_alarm_state,
)
from rehearsal.scenarios import ROLLOUT_ALARM, SCENARIOS, approval_by_run_now

SUMMARY = (
    "five attacks on the roll-out, each its own run: a skipped canary, a forged answer, a "
    "fleet tagged late, a tampered rollback tag, a lost claim response"
)
ROOT = "SalesApps"
PRODUCTION = ("Sales-Prod-1", "Sales-Prod-2")
# Claimed in the forged answer: an approver, but not the one who really approves.
CLAIMED = f"arn:aws:sts::{ACCOUNT}:assumed-role/ImageApprovers/bob"
SHARING_ACCOUNT = "444455556666"
Check = tuple[str, bool]


# --- the attacks' tools ----------------------------------------------------------------------


def forge(token: str, output: str) -> None:
    """What anyone with states:SendTaskSuccess and the token can do: answer it directly."""
    boto3.client("stepfunctions", region_name=REGION).send_task_success(
        taskToken=token, output=output
    )


def forged_claim(decision: str = "APPROVED", by: str = CLAIMED) -> str:
    return json.dumps({"decision": decision, "by": by, "reason": "trust me", "at": "2026-01-01"})


@contextmanager
def first_claim_response_lost() -> Iterator[list[dict[str, Any]]]:
    """The ledger's client as the handlers build it (standard retry mode), with the first
    report claim applied by DynamoDB (moto) but its response lost on the way back: botocore
    sees a closed connection and re-sends the same UpdateItem, as it would against AWS."""
    from unittest import mock

    from botocore.config import Config
    from botocore.exceptions import ConnectionClosedError

    from image_updater import ledger

    lost: list[dict[str, Any]] = []

    def lose_the_response(request: Any, **kwargs: Any) -> None:
        body = json.loads(request.body or b"{}")
        if lost or not str(body.get("Key", {}).get("sk", {}).get("S", "")).startswith("image#"):
            return
        if "UpdateItem" not in str(request.headers.get("X-Amz-Target", b"")):
            return
        from moto.core.models import botocore_stubber

        botocore_stubber("before-send.dynamodb.UpdateItem", request)  # DynamoDB applies it
        lost.append(body)
        raise ConnectionClosedError(endpoint_url=request.url)

    @cache
    def client() -> Any:
        created = boto3.client("dynamodb", config=Config(retries={"mode": "standard"}))
        created.meta.events.register_first("before-send.dynamodb.UpdateItem", lose_the_response)
        return created

    with mock.patch.object(ledger, "default_client", client):
        yield lost


def run_now_rollback(fleet: str, table: str) -> tuple[int, str]:
    """`make run-now ARGS="rollback --fleet <fleet>"` with the real tool, against the offline
    deployment (its stack's LedgerTableName output is `table`); (exit code, what it said)."""
    from contextlib import redirect_stderr
    from unittest import mock

    from tools import run_now
    from tools.run_now import rollback

    out, err = io.StringIO(), io.StringIO()
    with (
        mock.patch.object(rollback, "ledger_table", lambda *_: table),
        redirect_stderr(err),
    ):
        code = run_now.main(
            ["rollback", "--fleet", fleet],
            out,
            session_factory=lambda **_: boto3.Session(region_name=REGION),
        )
    return code, (out.getvalue() + err.getvalue()).strip()


# --- the stage -------------------------------------------------------------------------------


class Progress(Protocol):
    def add(self, elapsed: timedelta, image: str, text: str) -> None: ...
    def invocation(self, invocation: Invocation, elapsed: timedelta) -> None: ...
    def print(self) -> None: ...


class _Act:
    """One act: a fresh simulated account on its own clock, its progress printed after the run."""

    def __init__(self, progress: Progress, *, fleets: bool = True) -> None:
        self.clock = SimulatedClock()
        self.sim = SimulatedAppStream(clock=self.clock.now)
        self.progress = progress
        if fleets:
            SCENARIOS["rollout"].prepare(self.sim)
        else:
            SCENARIOS["default"].prepare(self.sim)

    def listen(self, invocation: Invocation, elapsed: timedelta) -> None:
        """Progress, without the status checks before the last one."""
        if invocation.step != "poll" or invocation.error or invocation.result.get("outcome"):
            self.progress.invocation(invocation, elapsed)

    def meanwhile(self, text: str) -> None:
        self.clock.use_lane(ROOT)
        self.progress.add(self.clock.now() - self.clock.start, ROOT, f"(meanwhile) {text}")

    def image_of(self, fleet: str) -> str:
        found = self.sim.fleets[fleet]
        return str(found.get("ImageName") or found.get("ImageArn"))

    def built(self) -> str:
        created = [c for c in self.sim.calls if c.operation == "CreateUpdatedImage"]
        return str(created[-1].params["newImageName"]) if created else "(none)"

    def approve(self, hours: float) -> Callable[[ApprovalRequest], None]:
        def answer(request: ApprovalRequest) -> None:
            printed = approval_by_run_now(hours, "approve")(request)
            first = printed.splitlines()[0]
            self.meanwhile(f'an approver ran: make run-now ARGS="approve ..." -> {first}')

        return answer

    def emails(self, execution: Execution, *needles: str) -> None:
        """The e-mails' subjects, and the body lines that show the act's point."""
        self.progress.print()
        print("  E-mails:")
        for email in execution.emails:
            print(f"    Subject: {email.subject}")
            for line in email.body.splitlines():
                if any(needle in line for needle in needles):
                    print(f"      | {line.strip()}")


def _yes(kept: bool) -> str:
    return "yes" if kept else "NO"


def _production_untouched(act: _Act) -> bool:
    return all(act.image_of(fleet) == ROOT for fleet in PRODUCTION)


# --- the five acts ---------------------------------------------------------------------------


def skipped_canary(runner: WorkflowRunner, progress: Progress) -> list[Check]:
    act = _Act(progress)
    act.sim.set_fleet_health("Sales-Canary", state="STOPPED")
    execution = runner.run(act.sim, act.clock, on_invocation=act.listen)
    act.emails(execution, "cannot test", "only a RUNNING canary", "left as they are")
    held = f"AppStream roll-out HELD BACK: {act.built()}"
    return [
        ("production untouched", _production_untouched(act)),
        ("HELD BACK e-mail", any(e.subject == held for e in execution.emails)),
        ("nobody asked to approve", execution.approvals == []),
    ]


def forged_answer(runner: WorkflowRunner, progress: Progress) -> list[Check]:
    act = _Act(progress)
    seen: list[str] = []

    def answers(request: ApprovalRequest) -> None:
        seen.append(act.image_of(PRODUCTION[0]))
        if len(seen) > 1:
            act.approve(2)(request)
            return
        request.let_time_pass(3600)
        forge(request.token, forged_claim())
        act.meanwhile(f"someone with the token sent SendTaskSuccess: APPROVED by {CLAIMED}")

    execution = runner.run(act.sim, act.clock, on_invocation=act.listen, on_approval=answers)
    act.emails(execution, "IGNORED", "Approved by")
    last = execution.emails[-1] if execution.emails else None
    return [
        ("forged answer ignored", seen[1:] == [ROOT]),
        ("IGNORED e-mail", any(e.subject.startswith("IGNORED") for e in execution.emails)),
        ("production on the new image in the end", act.image_of(PRODUCTION[0]) == act.built()),
        ("verified approver named", last is not None and f"Approved by {APPROVER}." in last.body),
        ("claimed approver named nowhere", not any(CLAIMED in e.body for e in execution.emails)),
    ]


def late_fleet(runner: WorkflowRunner, progress: Progress) -> list[Check]:
    act = _Act(progress)
    from image_updater.rollout.models import FOLLOWS_TAG, STAGE_TAG

    def tag_then_approve(request: ApprovalRequest) -> None:
        act.sim.add_fleet(
            "Sales-Prod-Late", image=ROOT, tags={FOLLOWS_TAG: ROOT, STAGE_TAG: "production"}
        )
        act.meanwhile("fleet Sales-Prod-Late is tagged for production, before the approval")
        act.approve(1)(request)

    execution = runner.run(
        act.sim, act.clock, on_invocation=act.listen, on_approval=tag_then_approve
    )
    act.emails(execution, "Sales-Prod-Late", "(approved fleets")
    late = "Sales-Prod-Late (production): tagged after the approval"
    last = execution.emails[-1].body if execution.emails else ""
    return [
        ("approved fleets updated", all(act.image_of(f) == act.built() for f in PRODUCTION)),
        ("late fleet left alone", act.image_of("Sales-Prod-Late") == ROOT),
        ("listed in the production e-mail", late in last),
    ]


def tampered_tag(runner: WorkflowRunner, progress: Progress) -> list[Check]:
    act = _Act(progress)
    from image_updater.rollout.models import PREVIOUS_IMAGE_TAG

    planted = act.sim.add_image(
        "Planted", visibility="SHARED", owner_account=SHARING_ACCOUNT, updates_available=False
    )
    set_alarm_state(act.sim, ROLLOUT_ALARM, "ALARM")

    def rewrite(invocation: Invocation, elapsed: timedelta) -> None:
        act.listen(invocation, elapsed)
        if isinstance(invocation.event, dict) and invocation.event.get("action") == (
            "update-canaries"
        ):
            tags = act.sim.fleet_tags("Sales-Canary")
            act.sim.set_fleet_tags("Sales-Canary", {**tags, PREVIOUS_IMAGE_TAG: planted["Arn"]})
            act.progress.add(
                elapsed,
                ROOT,
                f"(meanwhile) someone rewrites Sales-Canary's {PREVIOUS_IMAGE_TAG}"
                f" tag to {planted['Arn']}; then its alarm fires",
            )

    with runner.account(act.sim) as account:
        execution = account.run(act.clock, on_invocation=rewrite)
        act.emails(execution, "not rolled back")
        code, said = run_now_rollback("Sales-Canary", account.deployment.ledger_table)
    print(f'  Then: make run-now ARGS="rollback --fleet Sales-Canary" -> exit {code}: {said}')
    moved = [image for fleet, image in act.sim.fleet_updates if fleet == "Sales-Canary"]
    last = execution.emails[-1].body if execution.emails else ""
    return [
        ("canary never put on the planted image", "Planted" not in moved),
        ("refusal e-mailed with its reason", "Sales-Canary (canary): not rolled back" in last),
        ("run-now rollback exits 4", code == 4),
        ("production untouched", _production_untouched(act)),
    ]


def lost_claim(runner: WorkflowRunner, progress: Progress) -> list[Check]:
    act = _Act(progress, fleets=False)
    with first_claim_response_lost() as lost:

        def listen(invocation: Invocation, elapsed: timedelta) -> None:
            act.listen(invocation, elapsed)
            if lost and invocation.step == "poll" and invocation.result.get("outcome"):
                act.progress.add(
                    elapsed,
                    ROOT,
                    "(meanwhile) DynamoDB applied this step's report claim, its response was "
                    "lost, the SDK sent the claim again",
                )

        execution = runner.run(act.sim, act.clock, on_invocation=listen)
    act.emails(execution, "New image:")
    about = [e for e in execution.emails if act.built() in e.subject]
    items = act.sim.account_state.get("ledger", [])
    item = [i for i in items if i["sk"]["S"] == f"image#{act.built()}"]
    return [
        ("claim response lost and re-sent", len(lost) == 1),
        ("exactly one e-mail", len(about) == 1),
        ("marked sent", len(item) == 1 and item[0]["status"]["S"] == "REPORTED"),
    ]


ACTS: tuple[tuple[str, Callable[[WorkflowRunner, Progress], list[Check]]], ...] = (
    ("a skipped canary holds production back (the canary is STOPPED)", skipped_canary),
    ("a forged answer is ignored, then a real approval moves production", forged_answer),
    ("a fleet tagged for production after the approval is left alone", late_fleet),
    ("a tampered rollback tag is refused", tampered_tag),
    ("a lost claim response still ends in exactly one e-mail", lost_claim),
)


def main(progress: Callable[[], Progress]) -> int:
    print("AppStream image updater: offline rehearsal, scenario 'rollout-attacks'")
    print(f"  {SUMMARY}")
    print("  Fleets: Sales-Canary (canary), Sales-Prod-1 and Sales-Prod-2 (production).")
    runner = WorkflowRunner(SCENARIOS["rollout"].context)
    broken = []
    for number, (title, play) in enumerate(ACTS, 1):
        print(f"\n===== act {number} of {len(ACTS)}: {title} " + "=" * 10)
        checks = play(runner, progress())
        kept = all(ok for _, ok in checks)
        verdict = "; ".join(f"{name}: {_yes(ok)}" for name, ok in checks)
        print(f"  Verdict: {verdict} -> {'promise kept' if kept else 'PROMISE BROKEN'}")
        broken += [] if kept else [number]
    print(
        f"\n{len(ACTS) - len(broken)} of {len(ACTS)} promises kept"
        + (f"; broken: act {', '.join(map(str, broken))}" if broken else "")
    )
    return 1 if broken else 0
