"""Distribution from the account that patches (the hub): the Regions each new image is copied
to (`copyToRegions`) and the accounts it is shared with (`shareWithAccounts`).

Each rule yields "<offending value> <rule>", one line per problem; the caller adds the key. The
rules across both keys (a share's Regions, the share quota) are `distribution_problems`; the
ones that need the stack's own Region and account, which only the app knows, are
`home_problems`.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from infra.config.parsing import Unparsable
from infra.regions import appstream_regions

if TYPE_CHECKING:
    from infra.config.declaration import UpdaterConfig

# AppStream quotas (https://docs.aws.amazon.com/appstream2/latest/developerguide/limits.html):
# accounts one image can be shared with (adjustable; the default is what the synth assumes).
SHARED_ACCOUNTS_MAX = 100
# How long a copy is waited for (an assumption: AWS publishes no copy duration), checked every
# COPY_CHECK_MINUTES (fixed, not pollIntervalMinutes: each check costs history events).
COPY_WAIT_HOURS = 6
COPY_CHECK_MINUTES = 10
COPY_CHECKS = COPY_WAIT_HOURS * 60 // COPY_CHECK_MINUTES
# Step Functions history events (see infra/config/history.py). Each image's distribution runs
# as a child execution of its own ("Distribute one image", infra/workflow/distribute_each.py),
# with a history of its own: a copy check is 9 events (Wait 2, Lambda task 5, Choice 2); a copy
# Region's other steps and retries stay under 56, so 380 per copy Region; the image's steps
# besides (its choice, plan, share at home, e-mail) under 80. The run itself only records the
# child's start and end: 8 events measured (Map iteration 2, the task's 6), 20 with a margin
# for a retried start and the step that keeps a failed child's error, which also holds the
# step the run takes once before the children, recording what it distributes in the ledger (a
# Lambda task: 5 events, 10 with a retry; the children are one per lineage, resumed or new).
EVENTS_PER_COPY_CHECK = 9
EVENTS_PER_COPY_REGION = EVENTS_PER_COPY_CHECK * COPY_CHECKS + 56
EVENTS_PER_DISTRIBUTION = 80
EVENTS_PER_CHILD_EXECUTION = 20
HOME = "(home Region)"  # a share's Regions, when it names none: the stack's own and every copy's
_ACCOUNT_ID = re.compile(r"[0-9]{12}")
_SHARE_KEYS = frozenset({"accountId", "allowFleet", "allowImageBuilder", "regions"})


@dataclass(frozen=True)
class Share:
    """One account an image is shared with, and in which Regions (None: every one)."""

    account_id: str
    allow_fleet: bool = True
    allow_image_builder: bool = False
    regions: tuple[str, ...] | None = None

    def to_json(self) -> dict[str, Any]:
        """As the setting holds it (cdk.json's form)."""
        shown: dict[str, Any] = {
            "accountId": self.account_id,
            "allowFleet": self.allow_fleet,
            "allowImageBuilder": self.allow_image_builder,
        }
        if self.regions is not None:
            shown["regions"] = list(self.regions)
        return shown


def as_shares(raw: object) -> tuple[Share, ...]:
    """A JSON list of `{"accountId": "...", "allowFleet": true, "allowImageBuilder": false,
    "regions": [...]}` objects (cdk.json), or that list as a string (`-c key=[...]`)."""
    rule = (
        'must be a JSON list of objects like {"accountId": "111122223333", "allowFleet": '
        'true, "allowImageBuilder": false, "regions": ["eu-west-1"]} (regions optional)'
    )
    if isinstance(raw, str):
        if not raw.strip():
            return ()
        try:
            raw = json.loads(raw)
        except json.JSONDecodeError:
            raise Unparsable(f"{rule} (invalid JSON)") from None
    if not isinstance(raw, list | tuple):
        raise Unparsable(rule)
    return tuple(_share(entry, rule) for entry in raw)


def _share(entry: object, rule: str) -> Share:
    if not isinstance(entry, Mapping) or set(entry) - _SHARE_KEYS or "accountId" not in entry:
        raise Unparsable(rule)
    account, fleet = entry["accountId"], entry.get("allowFleet", True)
    builder, regions = entry.get("allowImageBuilder", False), entry.get("regions")
    if not isinstance(account, str) or not isinstance(fleet, bool):
        raise Unparsable(rule)
    if not isinstance(builder, bool):
        raise Unparsable(rule)
    if regions is not None and not (
        isinstance(regions, list | tuple) and all(isinstance(r, str) for r in regions)
    ):
        raise Unparsable(rule)
    return Share(account, fleet, builder, None if regions is None else tuple(regions))


def _duplicates(items: Iterable[str]) -> Iterator[str]:
    for item, times in Counter(items).items():
        if times > 1:
            yield f"{item!r} is listed more than once"


def _region_problems(regions: Iterable[str]) -> Iterator[str]:
    known = appstream_regions()
    for region in regions:
        if region not in known:
            yield (
                f"{region!r} must be a Region with an AppStream 2.0 endpoint in botocore's "
                f"endpoint data: {', '.join(known)}"
            )


def copy_regions_problems(regions: tuple[str, ...]) -> Iterator[str]:
    yield from _region_problems(regions)
    yield from _duplicates(regions)


def shares_problems(shares: tuple[Share, ...]) -> Iterator[str]:
    for share in shares:
        if not _ACCOUNT_ID.fullmatch(share.account_id):
            yield f"{share.account_id!r} must be an AWS account ID: 12 digits"
        if share.regions is not None:
            if not share.regions:
                yield f"{share.account_id!r}: regions must name a Region (or be left out)"
            yield from (f"{share.account_id!r}: {p}" for p in _region_problems(share.regions))
            yield from (f"{share.account_id!r}: {p}" for p in _duplicates(share.regions))
        if not share.allow_fleet and not share.allow_image_builder:
            yield (
                f"{share.account_id!r}: allowFleet and allowImageBuilder are both false, "
                "which shares nothing"
            )
    yield from _duplicates(share.account_id for share in shares)


def share_regions(share: Share, home: str, copies: tuple[str, ...]) -> tuple[str, ...]:
    """The Regions `share` applies to: its own list, or the home Region and every copy's."""
    return share.regions if share.regions is not None else (home, *copies)


def distribution_problems(config: UpdaterConfig, home: str | None = None) -> Iterator[str]:
    """The rules across copyToRegions and shareWithAccounts; with the stack's Region (`home`)
    when the synth knows it. Without it, a Region a share names outside copyToRegions can
    only be the stack's own: at most one such Region."""
    copies, shares = config.copy_to_regions, config.share_with_accounts
    outside = sorted(
        {r for share in shares for r in share.regions or () if r not in copies and r != home}
    )
    if home is not None and outside:
        yield (
            f"shareWithAccounts: Regions {outside} are neither the stack's Region ({home}) "
            f"nor in copyToRegions {list(copies)}: the image is not there to share"
        )
    elif len(outside) > 1:
        yield (
            f"shareWithAccounts: Regions {outside} are outside copyToRegions {list(copies)}; "
            "only one of them can be the stack's own Region (the image is not in the others)"
        )
    per_region = Counter(r for share in shares for r in share_regions(share, home or HOME, copies))
    for region, accounts in sorted(per_region.items()):
        if accounts > SHARED_ACCOUNTS_MAX:
            yield (
                f"shareWithAccounts: {accounts} accounts in {region}, at most "
                f"{SHARED_ACCOUNTS_MAX} (AppStream shares an image with at most "
                f"{SHARED_ACCOUNTS_MAX} accounts)"
            )


def distribution_events(config: UpdaterConfig) -> int:
    """The most history events the distribution adds to one run (the children's starts)."""
    if not config.distributes:
        return 0
    return len(config.image_names) * EVENTS_PER_CHILD_EXECUTION


def image_distribution_events(copy_regions: int) -> int:
    """The most history events one image's distribution (a child execution) can need."""
    return EVENTS_PER_DISTRIBUTION + copy_regions * EVENTS_PER_COPY_REGION


def history_problems(config: UpdaterConfig) -> Iterator[str]:
    """The run's history with the children's starts, and each child's own history, must fit
    Step Functions' limit."""
    from infra.config.history import HISTORY_EVENTS_MAX, history_events

    added = distribution_events(config)
    needed = history_events(config) + added
    if added and needed > HISTORY_EVENTS_MAX:
        yield (
            "copyToRegions, shareWithAccounts, imageNames: one run could need "
            f"{needed:,} history events, over Step Functions' limit of {HISTORY_EVENTS_MAX:,} "
            f"per execution: the update and roll-out need {history_events(config):,}, and "
            f"starting {len(config.image_names)} image(s)' distributions adds {added:,} "
            f"({EVENTS_PER_CHILD_EXECUTION} each; each image's copies run in an execution of "
            "its own). Configure fewer images per stack, check less often (raise "
            "pollIntervalMinutes) or wait less (lower maxUpdateHours)."
        )
    regions = len(config.copy_to_regions)
    child = image_distribution_events(regions)
    if added and child > HISTORY_EVENTS_MAX:
        yield (
            f"copyToRegions: one image's distribution could need {child:,} history events, "
            f"over Step Functions' limit of {HISTORY_EVENTS_MAX:,} per execution "
            f"({EVENTS_PER_DISTRIBUTION} + {regions} copy Regions x {EVENTS_PER_COPY_REGION}: "
            f"{COPY_CHECKS} copy checks of {EVENTS_PER_COPY_CHECK} events and the steps around "
            "them). Copy to fewer Regions."
        )


def home_problems(config: UpdaterConfig, region: str | None, account: str | None) -> list[str]:
    """What the stack's own Region and account (when the synth knows them) rule out."""
    problems = []
    if region and region in config.copy_to_regions:
        problems.append(
            f"copyToRegions: {region!r} is the stack's own Region: the image is there already"
        )
    own = [share.account_id for share in config.share_with_accounts]
    if account and account in own:
        problems.append(
            f"shareWithAccounts: {account!r} is the stack's own account: it owns the image"
        )
    if region:
        problems += list(distribution_problems(config, region))
    return problems


def distribution_sentence(config: UpdaterConfig) -> str:
    """What the "ready" e-mail says of the image's distribution (at most about 300
    characters, whatever the lists: Lambda's environment holds 4 KB in all)."""
    regions = ", ".join(config.copy_to_regions)
    accounts = len(config.share_with_accounts)
    where = " and ".join(
        part
        for part in (
            f"copied to {regions}" if regions else "",
            f"shared with {accounts} account(s)" if accounts else "",
        )
        if part
    )
    return (
        f"Distribution: once the roll-out here has passed (or at once, if no fleet here "
        f'follows this lineage), this image is {where}. A "distributed" e-mail lists every '
        "copy and share with its outcome. An image whose canary fails or whose roll-out is "
        "rejected never leaves this account."
    )
