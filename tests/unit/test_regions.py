"""Regions without AppStream are refused at synth, from botocore's endpoint data, and the
documentation's list of supported Regions (docs/deploy.md) is that same data (infra/regions.py)."""

from __future__ import annotations

import re
from pathlib import Path

import aws_cdk as cdk
import pytest

from app import build_app
from infra.config import cdk_json_feature_flags
from infra.regions import RegionWithoutAppStreamError, appstream_regions, region_problem
from rehearsal.template import UNSTAGED

# The Regions paragraph lives on the deploy page of the documentation.
DEPLOY_PAGE = Path(__file__).resolve().parents[2] / "docs" / "deploy.md"
# The Regions issue 16 found in the README's list without an AppStream endpoint.
LISTED_WITHOUT_APPSTREAM = (
    *("af-south-1", "ap-east-1", "ap-south-2", "ap-southeast-3", "ap-southeast-4"),
    *("ap-southeast-7", "eu-north-1", "mx-central-1", "us-west-1"),
)


def readme_regions() -> list[str]:
    """The README's supported Regions, `ap-northeast-1/2/3` spelled out."""
    text = DEPLOY_PAGE.read_text(encoding="utf-8")
    paragraph = text[text.index("**Supported partition and Regions:**") :].split("\n\n")[0]
    listed = paragraph[paragraph.index("parameters:") :].split(". ")[0]
    regions = []
    for item in re.findall(r"[a-z]{2}-[a-z]+-[0-9/]+", listed):
        stem, _, numbers = item.rpartition("-")
        regions.extend(f"{stem}-{number}" for number in numbers.split("/"))
    return regions


def test_the_readme_lists_exactly_botocores_appstream_regions() -> None:
    assert readme_regions() == list(appstream_regions())


@pytest.mark.parametrize("region", LISTED_WITHOUT_APPSTREAM)
def test_the_nine_regions_the_issue_named_have_no_appstream_endpoint(region: str) -> None:
    problem = region_problem(region)
    assert problem is not None
    assert problem.startswith(f"Region {region} has no AppStream 2.0 endpoint")


def test_the_cli_default_region_without_appstream_stops_the_synth(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Given `cdk deploy` in eu-north-1 (the CLI passes its Region as CDK_DEFAULT_REGION)
    monkeypatch.setenv("CDK_DEFAULT_REGION", "eu-north-1")
    app = cdk.App(context={**cdk_json_feature_flags(), **UNSTAGED, "imageNames": "ImgA"})
    # When the app is built / Then it stops, naming the Region and where AppStream is
    with pytest.raises(
        RegionWithoutAppStreamError, match=r"eu-north-1 has no AppStream.*eu-west-1"
    ):
        build_app(app)


def test_a_region_with_appstream_synthesizes(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CDK_DEFAULT_REGION", "eu-west-1")
    assert build_app(
        cdk.App(context={**cdk_json_feature_flags(), **UNSTAGED, "imageNames": "ImgA"})
    )


def test_an_unknown_or_other_partition_region_is_named_as_such() -> None:
    assert "not a Region in botocore's endpoint data" in str(region_problem("xx-nowhere-1"))
    assert "partition aws-cn" in str(region_problem("cn-north-1"))
