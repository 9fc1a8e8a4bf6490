"""The distribution keys: copyToRegions and shareWithAccounts, alone, together, and with the
stack's own Region and account (app.py's check)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from infra.config import ConfigError, load_config
from infra.config.distribution import SHARED_ACCOUNTS_MAX, Share, home_problems

A, B, C = "111122223333", "444455556666", "777788889999"


def problems_of(context: dict[str, Any]) -> tuple[str, ...]:
    with pytest.raises(ConfigError) as raised:
        load_config(context)
    return raised.value.problems


def test_unset_means_no_distribution() -> None:
    loaded = load_config({})

    assert loaded.copy_to_regions == ()
    assert loaded.share_with_accounts == ()


def test_cli_strings_and_json_values_read_the_same() -> None:
    # Given the same settings as cdk.json holds them and as `-c key=value` strings
    shares = [
        {"accountId": A, "allowFleet": True, "allowImageBuilder": False},
        {"accountId": B, "allowFleet": False, "allowImageBuilder": True, "regions": ["eu-west-1"]},
    ]
    native = {"copyToRegions": ["eu-west-1", "ap-northeast-1"], "shareWithAccounts": shares}
    strings = {"copyToRegions": "eu-west-1,ap-northeast-1", "shareWithAccounts": json.dumps(shares)}

    # When both are loaded
    loaded, from_cli = load_config(native), load_config(strings)

    # Then they are the same configuration, and a share round-trips to its JSON
    assert loaded == from_cli
    assert loaded.share_with_accounts == (
        Share(A, True, False, None),
        Share(B, False, True, ("eu-west-1",)),
    )
    assert [s.to_json() for s in loaded.share_with_accounts] == shares


def test_copy_regions_must_be_appstream_regions_each_once() -> None:
    regions = ["eu-west-1", "mars-north-1", "eu-west-1", "us-east-3"]
    problems = problems_of({"copyToRegions": regions})

    rule = "must be a Region with an AppStream 2.0 endpoint"
    assert problems[0].startswith(f"copyToRegions: 'mars-north-1' {rule}")
    assert problems[1].startswith(f"copyToRegions: 'us-east-3' {rule}")
    assert problems[2] == "copyToRegions: 'eu-west-1' is listed more than once"
    assert len(problems) == 3


def test_each_share_is_checked_and_named() -> None:
    problems = problems_of(
        {
            "copyToRegions": ["eu-west-1"],
            "shareWithAccounts": [
                {"accountId": "1234"},
                {"accountId": A, "regions": ["nowhere-1"]},
                {"accountId": B, "allowFleet": False, "allowImageBuilder": False},
                {"accountId": A},
            ],
        }
    )

    assert problems == (
        "shareWithAccounts: '1234' must be an AWS account ID: 12 digits",
        f"shareWithAccounts: '{A}': 'nowhere-1' must be a Region with an AppStream 2.0 "
        "endpoint in botocore's endpoint data: " + problems[1].split("endpoint data: ")[1],
        f"shareWithAccounts: '{B}': allowFleet and allowImageBuilder are both false, "
        "which shares nothing",
        f"shareWithAccounts: '{A}' is listed more than once",
    )


@pytest.mark.parametrize(
    "raw",
    [
        '[{"accountId": 111122223333}]',
        '[{"accountId": "111122223333", "allowFleet": "yes"}]',
        '[{"accountId": "111122223333", "region": ["eu-west-1"]}]',
        '{"accountId": "111122223333"}',
        "[not json",
    ],
)
def test_a_share_of_the_wrong_shape_says_the_expected_shape(raw: str) -> None:
    (problem,) = problems_of({"shareWithAccounts": raw})

    assert problem.startswith(f"shareWithAccounts: {raw!r} must be a JSON list of objects like")


def test_a_share_region_must_be_the_home_region_or_a_copy() -> None:
    # Given shares naming two Regions that are not copies: only one can be the stack's own
    context = {
        "copyToRegions": ["eu-west-1"],
        "shareWithAccounts": [{"accountId": A, "regions": ["us-west-2", "ap-south-1"]}],
    }

    (problem,) = problems_of(context)

    assert problem == (
        "shareWithAccounts: Regions ['ap-south-1', 'us-west-2'] are outside copyToRegions "
        "['eu-west-1']; only one of them can be the stack's own Region (the image is not in "
        "the others)"
    )
    # And with one of them, the synth takes it for the home Region until it knows better
    home = [{"accountId": A, "regions": ["us-west-2"]}]
    one = load_config({**context, "shareWithAccounts": home})
    assert home_problems(one, None, None) == []
    assert home_problems(one, "us-west-2", None) == []
    assert home_problems(one, "us-east-1", None) == [
        "shareWithAccounts: Regions ['us-west-2'] are neither the stack's Region (us-east-1) "
        "nor in copyToRegions ['eu-west-1']: the image is not there to share"
    ]


def test_at_most_100_accounts_per_region() -> None:
    # Given 100 accounts everywhere and one more in eu-west-1 only
    everywhere = [{"accountId": f"{n:012d}"} for n in range(1, SHARED_ACCOUNTS_MAX + 1)]
    one_more = {"accountId": f"{999:012d}", "regions": ["eu-west-1"]}
    context = {"copyToRegions": ["eu-west-1", "eu-west-2"], "shareWithAccounts": everywhere}

    # When loaded: 100 per Region is the quota, so 100 pass and 101 do not
    assert len(load_config(context).share_with_accounts) == SHARED_ACCOUNTS_MAX
    (problem,) = problems_of({**context, "shareWithAccounts": [*everywhere, one_more]})

    assert problem == (
        "shareWithAccounts: 101 accounts in eu-west-1, at most 100 (AppStream shares an image "
        "with at most 100 accounts)"
    )


def test_the_stacks_own_region_and_account_are_refused_when_known() -> None:
    config = load_config(
        {"copyToRegions": ["eu-west-1", "us-east-1"], "shareWithAccounts": [{"accountId": A}]}
    )

    assert home_problems(config, None, None) == []
    assert home_problems(config, "us-east-1", A) == [
        "copyToRegions: 'us-east-1' is the stack's own Region: the image is there already",
        f"shareWithAccounts: '{A}' is the stack's own account: it owns the image",
    ]
    assert home_problems(config, "eu-west-2", C) == []


def test_a_run_that_could_not_keep_its_history_is_refused_with_the_arithmetic() -> None:
    # Given 25 images copied to 3 Regions (each copy checked 36 times over 6 hours)
    images = ",".join(f"Img{n:02d}" for n in range(25))
    context = {"imageNames": images, "copyToRegions": "eu-west-1,eu-west-2,eu-central-1"}

    # When loaded
    (problem,) = problems_of(context)

    # Then the rule says why, with the numbers (the update and roll-out need 25,000, plus
    # 25 x (80 + 3 x 380) for the distribution)
    assert problem.startswith(
        "copyToRegions, shareWithAccounts, imageNames: one run could need 55,500 history events"
    )
    assert "distributing 25 image(s) adds 30,500" in problem
    # And fewer images pass
    fewer = ",".join(f"Img{n:02d}" for n in range(5))
    assert load_config({**context, "imageNames": fewer}).copy_to_regions
