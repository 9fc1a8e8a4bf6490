#!/usr/bin/env python3
"""Reads the configuration and instantiates the stack. No AWS calls: synth works offline."""

from __future__ import annotations

import os
import sys
from pathlib import Path

# jsii prints a Node 20 end-of-life banner (as raw byte strings) on every `npx cdk ...`; Node 20
# still runs the CDK, and the README says which Node to install. Set before aws_cdk starts jsii.
os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")

# The runtime package holds AppStream's naming rules, which the configuration reuses.
sys.path.insert(0, str(Path(__file__).resolve().parent / "lambdas"))

import aws_cdk as cdk
from cdk_nag import AwsSolutionsChecks

from infra.config import ConfigError, config_warnings, load_app_config
from infra.config.distribution import home_problems
from infra.limits import DeployLimits
from infra.regions import RegionWithoutAppStreamError, refuse_region_without_appstream
from infra.spoke.config import refuse_hub_only_keys
from infra.spoke.stack import SPOKE_STACK_NAME, ImageUpdaterSpokeStack
from infra.stack import ImageUpdaterStack

STACK_NAME = "AppStreamImageUpdater"


def build_app(app: cdk.App) -> cdk.Stack:
    """The hub (builds the images), or with `hubAccountId` set a spoke (rolls the hub's images
    out to this account's fleets; infra/spoke/)."""
    config = load_app_config(app.node.get_all_context())
    stack: cdk.Stack
    if config.hub_account_id:
        refuse_hub_only_keys(config)
        stack = ImageUpdaterSpokeStack(
            app,
            SPOKE_STACK_NAME,
            config=config,
            description="Rolls the hub's patched Amazon AppStream 2.0 images out to this "
            "account's tagged fleets",
        )
    else:
        stack = ImageUpdaterStack(
            app,
            STACK_NAME,
            config=config,
            description="Keeps Amazon AppStream 2.0 images patched with managed image updates",
        )
    for warning_id, message in config_warnings(config).items():
        cdk.Annotations.of(stack).add_warning_v2(warning_id, message)
    region = deploy_region(stack)
    refuse_region_without_appstream(region)
    problems = home_problems(config, region, deploy_account(stack))
    if problems:
        raise ConfigError(problems)
    # Lambda's and IAM's size limits, on the template as synthesized (infra/limits.py).
    cdk.Validations.of(app).add_plugins(AwsSolutionsChecks(app), DeployLimits(region))
    return stack


def deploy_region(stack: cdk.Stack) -> str | None:
    """The Region `cdk deploy` puts the stack in, where the synth knows it: the stack's own,
    or for this environment-agnostic stack the CLI's default Region (CDK_DEFAULT_REGION)."""
    if not cdk.Token.is_unresolved(stack.region):
        return stack.region
    return os.environ.get("CDK_DEFAULT_REGION") or None


def deploy_account(stack: cdk.Stack) -> str | None:
    """The account `cdk deploy` puts the stack in, where the synth knows it (as deploy_region)."""
    if not cdk.Token.is_unresolved(stack.account):
        return stack.account
    return os.environ.get("CDK_DEFAULT_ACCOUNT") or None


def main() -> None:
    app = cdk.App()
    try:
        build_app(app)
    except ConfigError as error:
        sys.exit(f"Invalid configuration (cdk.json context or -c key=value):\n{error}")
    except RegionWithoutAppStreamError as error:
        sys.exit(f"Unsupported Region:\n{error}")
    try:
        app.synth()
    except RuntimeError as error:
        # A validation plugin's findings (cdk-nag, infra/limits.py) are printed above.
        if "ValidationFailed" not in str(error):
            raise
        sys.exit(str(error))


if __name__ == "__main__":
    main()
