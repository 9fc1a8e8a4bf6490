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

from infra.config import ConfigError, UpdaterConfig, config_warnings, load_app_config
from infra.config.distribution import home_problems
from infra.limits import DeployLimits
from infra.organization.stages import build_organization
from infra.regions import RegionWithoutAppStreamError, refuse_region_without_appstream
from infra.spoke.config import refuse_hub_only_keys
from infra.spoke.stack import SPOKE_STACK_NAME, ImageUpdaterSpokeStack
from infra.stack import ImageUpdaterStack

STACK_NAME = "AppStreamImageUpdater"


def build_app(app: cdk.App) -> cdk.Stack:
    """The app's one stack: the hub, or with `hubAccountId` set a spoke (infra/spoke/). An
    app with `organization` set has several (`build_stacks`)."""
    if load_app_config(app.node.get_all_context()).organization is not None:
        raise ValueError("the app has several stacks: organization is set (use build_stacks)")
    (stack,) = build_stacks(app)
    return stack


def build_stacks(app: cdk.App) -> list[cdk.Stack]:
    """The hub (builds the images), or with `hubAccountId` set a spoke (rolls the hub's images
    out to this account's fleets), or with `organization` set the hub's stack in each hub
    Region and the spokes as a StackSet (infra/organization/)."""
    config = load_app_config(app.node.get_all_context())
    if config.organization is not None:
        stacks = build_organization(app, config)
        region = None  # every stack's own; the deploy limits assume the longest Region's ARNs
    else:
        stacks = [_single_stack(app, config)]
        region = deploy_region(stacks[0])
    for stack in stacks:
        if not isinstance(stack, ImageUpdaterStack | ImageUpdaterSpokeStack):
            continue  # the organisation's code buckets and StackSet send no e-mail
        for warning_id, message in config_warnings(config).items():
            cdk.Annotations.of(stack).add_warning_v2(warning_id, message)
    refuse_region_without_appstream(region)
    problems = [
        problem
        for stack in stacks
        if isinstance(stack, ImageUpdaterStack | ImageUpdaterSpokeStack)
        for problem in home_problems(config, deploy_region(stack), deploy_account(stack))
    ]
    if problems:
        raise ConfigError(list(dict.fromkeys(problems)))
    # Lambda's and IAM's size limits, on the template as synthesized (infra/limits.py).
    cdk.Validations.of(app).add_plugins(AwsSolutionsChecks(app), DeployLimits(region))
    return stacks


def _single_stack(app: cdk.App, config: UpdaterConfig) -> cdk.Stack:
    if config.hub_account_id:
        refuse_hub_only_keys(config)
        return ImageUpdaterSpokeStack(
            app,
            SPOKE_STACK_NAME,
            config=config,
            description="Rolls the hub's patched Amazon AppStream 2.0 images out to this "
            "account's tagged fleets",
        )
    return ImageUpdaterStack(
        app,
        STACK_NAME,
        config=config,
        description="Keeps Amazon AppStream 2.0 images patched with managed image updates",
    )


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
        build_stacks(app)
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
