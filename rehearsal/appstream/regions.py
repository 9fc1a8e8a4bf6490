"""One account in several Regions: each Region its own images, quotas, shares and calls.

A client's Region picks its state: the request's URL names the Region's endpoint
(`appstream2.<region>.amazonaws.com`), and the simulation activated for the account hands it
to that Region's state. All Regions share the account's one lock and clock, so a copy from one
Region to another changes both at once.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from rehearsal.appstream.copies import Copies
from rehearsal.appstream.state import AccountState

if TYPE_CHECKING:
    from rehearsal.appstream.simulation import SimulatedAppStream

_ENDPOINT_REGION = re.compile(r"//appstream2(?:-fips)?\.([a-z0-9-]+)\.")


def appstream_regions() -> frozenset[str]:
    """The Regions where AppStream has an endpoint (botocore's endpoint data)."""
    import boto3  # type: ignore[import-untyped, unused-ignore]

    return frozenset(boto3.session.Session().get_available_regions("appstream"))


class Regions(AccountState):
    """The account's Regions: this one (the home of the scripting methods) and the others."""

    def in_region(self, region: str) -> SimulatedAppStream:
        """The same account in `region` (created empty when first asked for): script its
        images, quotas and failures, and read its calls, as for this one."""
        with self._lock:
            return self._region_state(region)

    def _region_state(self, region: str) -> SimulatedAppStream:
        from rehearsal.appstream.simulation import SimulatedAppStream

        regions = self._regions
        if not regions:
            regions[self.region] = self
        found = regions.get(region)
        if found is None:
            found = SimulatedAppStream(
                account_id=self.account_id,
                region=region,
                partition=self.partition,
                clock=self._clock,
            )
            found._lock = self._lock  # one account, one lock
            found._regions = regions
            regions[region] = found
        return found

    def _in_region(self, region: str) -> Copies:
        if region not in appstream_regions():
            raise self._violation(
                "ValidationException", f"DestinationRegion {region!r} is not an AppStream Region"
            )
        return self._region_state(region)

    def _answering_region(self, url: str) -> SimulatedAppStream | None:
        """The state of the Region whose endpoint `url` names, when it is not this one."""
        match = _ENDPOINT_REGION.search(url)
        if match is None or match.group(1) == self.region:
            return None
        with self._lock:
            return self._region_state(match.group(1))
