"""The Regions the updater can be deployed to: those where botocore's endpoint data lists AppStream.

A stack deployed where AppStream has no endpoint deploys without error (CloudFormation creates
no AppStream resource) and then fails on its first run. botocore's endpoint data is the list
the runtime's own SDK goes by, so the synth reads it rather than a list kept by hand (the
README's list is checked against it by tests/unit/test_regions.py).
"""

from __future__ import annotations

from functools import cache

import boto3
from botocore.loaders import Loader

# boto3's service name (botocore's endpoint data keys it `appstream2`).
SERVICE = "appstream"
PARTITION = "aws"  # the only partition the stack supports (infra/powertools.py)


class RegionWithoutAppStreamError(ValueError):
    """The stack's Region has no AppStream endpoint in botocore's data."""


@cache
def appstream_regions() -> tuple[str, ...]:
    """The commercial Regions with an AppStream endpoint, sorted (FIPS endpoints excluded)."""
    session = boto3.session.Session()
    return tuple(sorted(session.get_available_regions(SERVICE, partition_name=PARTITION)))


@cache
def partition_of(region: str) -> str | None:
    """The partition whose Regions botocore's endpoint data lists `region` in, if any."""
    for partition in Loader().load_data("endpoints")["partitions"]:
        if region in partition["regions"]:
            return str(partition["partition"])
    return None


def region_problem(region: str) -> str | None:
    """Why the updater cannot run in `region`, or None where AppStream has an endpoint."""
    if region in appstream_regions():
        return None
    partition = partition_of(region)
    if partition is None:
        why = "is not a Region in botocore's endpoint data"
    elif partition != PARTITION:
        why = f"is in partition {partition}, which the stack does not support"
    else:
        why = "has no AppStream 2.0 endpoint in botocore's endpoint data"
    return (
        f"Region {region} {why}: every run of the updater would fail there. Deploy to a "
        f"Region with AppStream: {', '.join(appstream_regions())}."
    )


def refuse_region_without_appstream(region: str | None) -> None:
    """Raise RegionWithoutAppStreamError for a known Region without AppStream; None passes
    (an environment-agnostic synth outside the CLI: the Region is decided at deploy)."""
    problem = region_problem(region) if region else None
    if problem:
        raise RegionWithoutAppStreamError(problem)
