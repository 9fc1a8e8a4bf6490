"""The organisation as one CDK app: a Stage per hub Region holding the hub's stack (the stack
`cdk deploy` deploys alone today, pinned to the hub's account and that Region), and a Stage
"Spokes" holding the code bucket of each Region and the StackSet's stack (in the hub's account
and first hub Region), which depends on the buckets."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import aws_cdk as cdk
from aws_cdk import Stack

from infra.config import ConfigError, UpdaterConfig
from infra.config.organization import Organization
from infra.config.spoke_teams import EMAIL_SLOTS, approver_slot_problems, slots_problems
from infra.organization.code_bucket import CODE_BUCKET_STACK_NAME, SpokeCodeBucketStack
from infra.organization.spoke_template import synthesize_spoke_template
from infra.organization.stack_set import SPOKE_SET_STACK_NAME, SpokeSetStack
from infra.stack import ImageUpdaterStack

HUB_STACK_NAME = "AppStreamImageUpdater"  # the single-account stack's name, in every Region
HUB_DESCRIPTION = "Keeps Amazon AppStream 2.0 images patched with managed image updates"
SPOKES_STAGE = "Spokes"
SPOKE_TEMPLATE_DIRECTORY = "spoke-template.out"


def hub_stage_id(region: str) -> str:
    return f"Hub-{region}"


def organization_problems_across_keys(config: UpdaterConfig) -> list[str]:
    """`organization` with the settings around it."""
    organization = config.organization
    if organization is None:
        return []
    problems = []
    if config.hub_account_id not in ("", organization.hub_account_id):
        problems.append(
            f"hubAccountId: {config.hub_account_id!r} with organization set: the organisation "
            f"names its hub ({organization.hub_account_id!r}) and the spokes get it; remove "
            "hubAccountId"
        )
    # The top-level lists are the spokes' template's defaults: they fill the same slots.
    problems.extend(slots_problems("notificationEmails", config.notification_emails, EMAIL_SLOTS))
    problems.extend(approver_slot_problems("approvers", config.approvers))
    if not config.require_approval:
        problems.extend(
            f"organization: spokeTeams[{index}].approvers: {list(team.approvers)!r} with "
            "requireApproval false: nobody is asked to approve; remove them or set "
            "requireApproval true"
            for index, team in enumerate(organization.spoke_teams)
            if team.approvers is not None
        )
    return problems


def build_organization(app: cdk.App, config: UpdaterConfig) -> list[Stack]:
    """Every stack of the organisation: the hubs first, then the code buckets and the
    StackSet's stack."""
    organization = config.organization
    assert organization is not None
    problems = organization_problems_across_keys(config)
    if problems:
        raise ConfigError(problems)
    hub_config = _without_organization(config)
    stacks: list[Stack] = []
    for region in organization.hub_regions:
        stage = cdk.Stage(app, hub_stage_id(region), env=_env(organization, region))
        stacks.append(
            ImageUpdaterStack(
                stage,
                HUB_STACK_NAME,
                stack_name=HUB_STACK_NAME,
                config=hub_config,
                description=HUB_DESCRIPTION,
            )
        )
    spokes = cdk.Stage(app, SPOKES_STAGE)
    template = synthesize_spoke_template(
        config,
        organization,
        app.node.get_all_context(),
        Path(app.outdir) / SPOKE_TEMPLATE_DIRECTORY,
    )
    buckets = [
        SpokeCodeBucketStack(
            spokes,
            f"Code-{region}",
            stack_name=CODE_BUCKET_STACK_NAME,
            organization=organization,
            region=region,
            env=_env(organization, region),
            description="The spokes' Lambda code (and template) for StackSet instances here",
        )
        for region in organization.code_regions
    ]
    stack_set = SpokeSetStack(
        spokes,
        "StackSet",
        stack_name=SPOKE_SET_STACK_NAME,
        organization=organization,
        spoke=template,
        env=_env(organization, organization.home_region),
        description="The AppStream image updater's spokes, one per account of the OUs and Region",
    )
    for bucket in buckets:
        stack_set.add_stack_dependency(bucket, reason="its code is published into the buckets")
    return [*stacks, *buckets, stack_set]


def _env(organization: Organization, region: str) -> cdk.Environment:
    return cdk.Environment(account=organization.hub_account_id, region=region)


def _without_organization(config: UpdaterConfig) -> UpdaterConfig:
    """The hub's stack is the single-account stack: it reads no organisation setting."""
    return dataclasses.replace(config, organization=None, hub_account_id="")
