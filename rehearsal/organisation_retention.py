"""The organisation rehearsal's second hub cycle: a later run patches each image again and, with
`keepImages` 1, its retention would delete the first cycle's images; it reads each spoke
through the reader role the spoke's stack creates (its fleets and its ledger's rollback
records, in every Region the image is in) and keeps an image while a spoke still uses it,
unsharing it from an account that no longer does and deleting it where nobody does.

What a spoke's stack leaves for the hub is "deployed" into the simulated accounts here: the
reader role (`rehearsal.appstream.Organisation`) and the spoke's ledger table, holding what the
spoke's own runs recorded (moto's DynamoDB, in the spoke's account)."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from image_updater.integrations.appstream import consumers
from rehearsal.appstream import Organisation as Accounts
from rehearsal.appstream import SimulatedAppStream
from rehearsal.runner import Execution, SimulatedClock, WorkflowRunner
from rehearsal.spoke_stack import deploy_spoke_stack

KEEP_IMAGES = 1  # the second cycle's keepImages: the first cycle's image is past it


@dataclass
class LaterRun:
    """The hub's second run, and the first cycle's images it judged."""

    run: Execution
    old_images: dict[str, str]  # configured image -> the first cycle's image
    new_images: dict[str, str]  # configured image -> the second cycle's image


def later_hub_run(
    hub: SimulatedAppStream,
    accounts: Accounts,
    context: Mapping[str, Any],
    clock: SimulatedClock,
    old_images: Mapping[str, str],
    *,
    regions: Iterable[str],
    spoke_ledger: Mapping[str, Any],
) -> LaterRun:
    """The hub's next run, on `clock`: each of `old_images` has an update available again;
    every account the hub shares with has a spoke stack in each of `regions` (its ledger
    table `spoke_ledger`, from the spoke's synthesized template)."""
    for name in old_images.values():
        hub.set_updates_available(name, True)
        hub.script_update(name, duration=timedelta(hours=2))
    before = set(hub.images)
    spokes = [account["accountId"] for account in _shares(context)]
    consumers.regional.cache_clear()  # clients of an earlier deployment
    runner = WorkflowRunner({**context, "keepImages": str(KEEP_IMAGES)})
    with runner.account(hub) as deployed, accounts.active():
        for account in spokes:
            ledger = accounts.account(account).account_state.get("ledger", [])
            for region in regions:
                deploy_spoke_stack(accounts, account, region, spoke_ledger, ledger)
        run = deployed.run(clock)
    new_images = {
        image: name
        for image in old_images
        for name in set(hub.images) - before
        if name.startswith(f"{image}-")
    }
    return LaterRun(run=run, old_images=dict(old_images), new_images=new_images)


def _shares(context: Mapping[str, Any]) -> list[dict[str, str]]:
    return list(json.loads(context["shareWithAccounts"]))


def _kept_because(body: str, name: str) -> str:
    """The "Kept although beyond keepImages" line of the image-ready e-mail naming `name`."""
    for line in body.splitlines():
        if line.startswith(f"  - {name}: "):
            return line.removeprefix(f"  - {name}: ")
    return ""


def retention_lines(
    hub: SimulatedAppStream, later: LaterRun, home: str, regions: Iterable[str]
) -> list[str]:
    """The second cycle's run and, per image, Region and account, what retention did to the
    first cycle's image: kept (and why), unshared, or deleted."""
    run = later.run
    lines = [f"Hub {hub.account_id}, a week later (keepImages {KEEP_IMAGES}): run {run.status}"]
    for image, old in later.old_images.items():
        lines.append(f"  {image}: {old} -> {later.new_images.get(image, 'no new image')}")
        ready = next(
            (e.body for e in run.emails if e.subject.endswith(later.new_images[image])), ""
        )
        for region in (home, *regions):
            there = hub if region == home else hub.in_region(region)
            if old in there.deleted:
                outcome = "deleted (nobody uses it)"
            else:
                shared = ", ".join(sorted(there.shares(old))) or "nobody"
                outcome = f"kept, shared with {shared}"
            lines.append(f"    {region:<16}{outcome}")
            if region == home:
                because = _kept_because(ready, old)
                lines += [f"      kept because: {because}"] if because else []
                lines += [
                    f"      {line}" for line in ready.splitlines() if line.startswith("Unshared")
                ]
            else:
                lines += [
                    f"      {line}"
                    for line in ready.splitlines()
                    if line.startswith(f"Copies in {region}:")
                ]
    return lines
