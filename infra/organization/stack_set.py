"""The spokes as one CloudFormation StackSet: service-managed permissions, automatic deployment
to the accounts of the configured OUs (the hub's account left out), one instance per account
and spoke Region.

Why `CfnStackSet` with our own asset handling rather than the `cdk-stacksets` library: a
StackSet instance in another account and Region must read its Lambda code, and CDK's bootstrap
buckets are private to their account. `cdk-stacksets` (experimental, 0.0.x) copies the assets
with a BucketDeployment custom resource (a Lambda function and the AWS CLI layer in the hub's
stack) into buckets the user creates. Here the code buckets are stacks of this app
(code_bucket.py), and `cdk deploy` itself publishes the code into every one of them: this
stack's synthesizer writes one asset-manifest destination per asset and Region (the CDK CLI
publishes a stack's assets after the stacks it depends on, the buckets). No custom resource, no
function in the hub beyond the updater's, and no dependency on a 0.0.x library.

The StackSet is RETAINED when this stack is deleted, and so are the spokes' stacks when an
account leaves the OUs (`RetainStacksOnAccountRemoval`): removing a spoke's stack would delete
its schedule, its ledger (the rollback records) and its approval URL. Fleets are never part of a
spoke's stack (the spoke only calls UpdateFleet on fleets the account tagged), so they keep
running whatever image they have either way; a retained spoke keeps rolling out the hub's
images until its account's admin deletes its stack.

Each OU named by a team (`organization.spokeTeams`) is a stack instance group of its own whose
ParameterOverrides set the team's e-mails and approvers; the other OUs share one group with the
StackSet's values (the top-level keys). Accounts that join an OU later are deployed by automatic
deployment with the StackSet's values, not their OU's overrides (CloudFormation User Guide,
"Manage automatic deployments").
"""

from __future__ import annotations

import os
from typing import Any

import aws_cdk as cdk
from aws_cdk import RemovalPolicy, Stack
from aws_cdk import aws_cloudformation as cloudformation
from aws_cdk import cloud_assembly_schema as schema
from constructs import Construct

from infra.config.organization import Organization
from infra.organization.names import (
    BOOTSTRAP_VERSION,
    BOOTSTRAP_VERSION_PARAMETER,
    SPOKE_SET_NAME,
    bootstrap_role_arn,
    code_bucket_name,
)
from infra.organization.spoke_template import SPOKE_DESCRIPTION, SpokeTemplate
from infra.spoke.team import approver_parameter, parameter_values

SPOKE_SET_STACK_NAME = "AppStreamImageUpdaterSpokeSet"
# The spoke's roles have names CloudFormation generates: CAPABILITY_IAM is enough.
CAPABILITIES = ["CAPABILITY_IAM"]
# Each account's instances start as soon as a slot frees, past the failure tolerance count.
CONCURRENCY_MODE = "SOFT_FAILURE_TOLERANCE"
TEMPLATE_FILE = f"{SPOKE_SET_NAME}.stackset.template.json"


class SpokeSetSynthesizer(cdk.StackSynthesizer):
    """Deploys the StackSet's stack with the hub's CDK bootstrap roles of its Region, and
    publishes the spokes' template to the home Region's code bucket and their Lambda code to
    every code bucket. The stack itself has no asset."""

    def __init__(self, spoke: SpokeTemplate, organization: Organization) -> None:
        super().__init__()
        self._spoke = spoke
        self._organization = organization

    def add_file_asset(self, **_asset: Any) -> cdk.FileAssetLocation:
        raise ValueError("the StackSet's stack holds no asset of its own")

    def add_docker_image_asset(self, **_asset: Any) -> cdk.DockerImageAssetLocation:
        raise ValueError("the StackSet's stack holds no asset of its own")

    def synthesize(self, session: cdk.ISynthesisSession) -> None:
        stack = self._bound_stack
        hub, home = self._organization.hub_account_id, self._organization.home_region
        manifest = cdk.AssetManifestBuilder()
        with open(os.path.join(session.outdir, TEMPLATE_FILE), "w", encoding="utf-8") as template:
            template.write(self._spoke.text)
        manifest.add_file_asset(
            stack,
            self._spoke.object_key,
            schema.FileSource(path=TEMPLATE_FILE, packaging=schema.FileAssetPackaging.FILE),
            _destination(hub, home, self._spoke.object_key),
            display_name="the spokes' template",
        )
        for region in self._organization.spoke_regions:
            for asset in self._spoke.assets:
                manifest.add_file_asset(
                    stack,
                    f"{asset.source_hash}-{region}",
                    schema.FileSource(
                        path=_relative(asset.path, session.outdir),
                        packaging=schema.FileAssetPackaging.ZIP_DIRECTORY,
                    ),
                    _destination(hub, region, f"{asset.source_hash}.zip"),
                    display_name=f"spoke code {asset.source_hash[:8]} for {region}",
                )
        self._synthesize_template(session)
        manifest_id = manifest.emit_manifest(stack, session)
        self._emit_artifact(
            session,
            additional_dependencies=[manifest_id],
            assume_role_arn=bootstrap_role_arn("deploy", hub, home),
            cloud_formation_execution_role_arn=bootstrap_role_arn("cfn-exec", hub, home),
            requires_bootstrap_stack_version=BOOTSTRAP_VERSION,
            bootstrap_stack_version_ssm_parameter=BOOTSTRAP_VERSION_PARAMETER,
        )


def _destination(hub: str, region: str, key: str) -> schema.FileDestination:
    return schema.FileDestination(
        bucket_name=code_bucket_name(hub, region),
        object_key=key,
        region=region,
        assume_role_arn=bootstrap_role_arn("file-publishing", hub, region),
    )


def _relative(path: str, outdir: str) -> str:
    """An asset staged in the cloud assembly (cdk.out, of which `outdir` is the Stage's nested
    assembly) as a path relative to `outdir`, so that it moves with cdk.out; a source directory
    outside it (asset staging disabled) as it is."""
    root = os.path.dirname(os.path.abspath(outdir))
    inside = os.path.commonpath([root, os.path.abspath(path)]) == root
    return os.path.relpath(path, outdir) if inside else path


def template_url(organization: Organization, spoke: SpokeTemplate) -> str:
    bucket = code_bucket_name(organization.hub_account_id, organization.home_region)
    return f"https://{bucket}.s3.{organization.home_region}.amazonaws.com/{spoke.object_key}"


class SpokeSetStack(Stack):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        organization: Organization,
        spoke: SpokeTemplate,
        **kwargs: Any,
    ) -> None:
        super().__init__(
            scope,
            construct_id,
            synthesizer=SpokeSetSynthesizer(spoke, organization),
            **kwargs,
        )
        self.stack_set = cloudformation.CfnStackSet(
            self,
            "Spokes",
            stack_set_name=SPOKE_SET_NAME,
            description=SPOKE_DESCRIPTION,
            permission_model="SERVICE_MANAGED",
            auto_deployment=cloudformation.CfnStackSet.AutoDeploymentProperty(
                enabled=True, retain_stacks_on_account_removal=True
            ),
            call_as=organization.call_as,
            capabilities=CAPABILITIES,
            managed_execution={"Active": True},
            operation_preferences=cloudformation.CfnStackSet.OperationPreferencesProperty(
                concurrency_mode=CONCURRENCY_MODE,
                max_concurrent_percentage=organization.max_concurrent_percentage,
                failure_tolerance_percentage=organization.failure_tolerance_percentage,
                region_concurrency_type=organization.region_concurrency,
            ),
            parameters=[
                cloudformation.CfnStackSet.ParameterProperty(
                    parameter_key=key, parameter_value=value
                )
                for key, value in stack_set_parameters(spoke).items()
            ],
            stack_instances_group=instance_groups(organization, spoke),
            template_url=template_url(organization, spoke),
        )
        # Deleting this stack must not delete the StackSet (and with it every spoke).
        self.stack_set.apply_removal_policy(RemovalPolicy.RETAIN)


def stack_set_parameters(spoke: SpokeTemplate) -> dict[str, str]:
    """Every slot parameter of the spokes' template (infra/spoke/team.py) at its default, the
    top-level value: a stack instance may override only parameters the StackSet itself
    specifies (CloudFormation User Guide, "Override parameters on stack instances")."""
    parameters: dict[str, dict[str, Any]] = spoke.template.get("Parameters", {})
    slots = parameter_values((), (), approval=True)
    return {name: str(p["Default"]) for name, p in parameters.items() if name in slots}


def instance_groups(
    organization: Organization, spoke: SpokeTemplate
) -> list[cloudformation.CfnStackSet.StackInstancesProperty]:
    """One group per team (its OUs, with its values as ParameterOverrides), and one for the
    OUs no team names (the StackSet's values). Each OU is in one group: CloudFormation's
    StackSet resource refuses an OU with more than one set of parameters."""
    claimed = {unit for team in organization.spoke_teams for unit in team.organizational_unit_ids}
    rest = [u for u in organization.spoke_organizational_unit_ids if u not in claimed]
    approval = approver_parameter(1) in stack_set_parameters(spoke)
    groups = [
        _group(
            organization,
            team.organizational_unit_ids,
            parameter_values(team.notification_emails, team.approvers, approval=approval),
        )
        for team in organization.spoke_teams
    ]
    if rest:
        groups.insert(0, _group(organization, tuple(rest), {}))
    return groups


def _group(
    organization: Organization, units: tuple[str, ...], overrides: dict[str, str]
) -> cloudformation.CfnStackSet.StackInstancesProperty:
    targets: dict[str, Any] = {"organizational_unit_ids": list(units)}
    if organization.spoke_account_ids:
        # Only these accounts of the OUs (none outside them: service-managed).
        targets |= {
            "accounts": list(organization.spoke_account_ids),
            "account_filter_type": "INTERSECTION",
        }
    else:
        # Every account of the OUs but the hub's, which rolls its images out itself.
        targets |= {
            "accounts": [organization.hub_account_id],
            "account_filter_type": "DIFFERENCE",
        }
    return cloudformation.CfnStackSet.StackInstancesProperty(
        deployment_targets=cloudformation.CfnStackSet.DeploymentTargetsProperty(**targets),
        regions=list(organization.spoke_regions),
        parameter_overrides=[
            cloudformation.CfnStackSet.ParameterProperty(parameter_key=key, parameter_value=value)
            for key, value in overrides.items()
        ]
        or None,
    )
