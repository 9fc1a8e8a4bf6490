"""app.py refuses the stack's own Region among the copies and its own account among the
shares, when the synth knows them (the CLI's CDK_DEFAULT_REGION and CDK_DEFAULT_ACCOUNT)."""

from __future__ import annotations

import aws_cdk as cdk
import pytest

from app import build_app
from infra.config import ConfigError, cdk_json_feature_flags
from rehearsal.template import UNSTAGED


def test_the_home_region_and_account_are_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    # Given the CLI deploys to eu-west-1 in 111122223333, and the settings name both
    monkeypatch.setenv("CDK_DEFAULT_REGION", "eu-west-1")
    monkeypatch.setenv("CDK_DEFAULT_ACCOUNT", "111122223333")
    context = {
        **cdk_json_feature_flags(),
        **UNSTAGED,
        "imageNames": "ImgA",
        "copyToRegions": "eu-west-1,eu-central-1",
        "shareWithAccounts": '[{"accountId": "111122223333"}, {"accountId": "444455556666"}]',
    }

    # When the app is built
    with pytest.raises(ConfigError) as raised:
        build_app(cdk.App(context=context))

    # Then both are named, with the rule
    assert raised.value.problems == (
        "copyToRegions: 'eu-west-1' is the stack's own Region: the image is there already",
        "shareWithAccounts: '111122223333' is the stack's own account: it owns the image",
    )
