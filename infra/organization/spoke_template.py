"""The spokes' template: the spoke stack (infra/spoke/) synthesized from the same configuration
with `hubAccountId` = the organisation's hub account, in an App of its own so that it is a
template and not a stack `cdk deploy` would deploy.

It differs from a standalone spoke's template only where a StackSet instance needs it to: its
Lambda code is read from the hub's code bucket in the instance's own Region (the CDK bootstrap
bucket of a spoke account would not hold it, and the hub's is private to the hub), it has no
`BootstrapVersion` parameter and rule (a spoke account needs no `cdk bootstrap`), and its
e-mails and approvers are parameters (infra/spoke/team.py) so that the StackSet can give each
OU its own team (`organization.spokeTeams`).
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from pathlib import Path
from typing import Any

import aws_cdk as cdk
from cdk_nag import AwsSolutionsChecks

from infra.config import SETTINGS, UpdaterConfig
from infra.config.organization import Organization
from infra.limits import DeployLimits
from infra.organization.names import code_bucket_name
from infra.spoke.config import HUB_ONLY_KEYS, refuse_hub_only_keys
from infra.spoke.stack import SPOKE_STACK_NAME, ImageUpdaterSpokeStack

SPOKE_DESCRIPTION = (
    "Rolls the hub's patched Amazon AppStream 2.0 images out to this account's tagged fleets"
)


@dataclasses.dataclass(frozen=True)
class SpokeAsset:
    """One Lambda code asset of the spoke: its hash (the object key is `<hash>.zip`) and the
    staged directory, relative to the main app's outdir when staged inside it."""

    source_hash: str
    path: str


@dataclasses.dataclass(frozen=True)
class SpokeTemplate:
    template: dict[str, Any]
    assets: tuple[SpokeAsset, ...]

    @property
    def text(self) -> str:
        return json.dumps(self.template, indent=1, sort_keys=True)

    @property
    def object_key(self) -> str:
        """The template's key in the home Region's code bucket: changes with its content, so
        every change is a StackSet update."""
        return hashlib.sha256(self.text.encode()).hexdigest() + ".json"


def spoke_config(config: UpdaterConfig, organization: Organization) -> UpdaterConfig:
    """The configuration the spokes get: the same settings, the organisation's hub account,
    and the hub-only settings (the hub's, not the spokes') at their defaults."""
    defaults: dict[str, Any] = {
        row.field: row.default for row in SETTINGS if row.key in HUB_ONLY_KEYS
    }
    spoke = dataclasses.replace(
        config,
        hub_account_id=organization.hub_account_id,
        organization=None,
        **defaults,
    )
    refuse_hub_only_keys(spoke)
    return spoke


def synthesize_spoke_template(
    config: UpdaterConfig, organization: Organization, context: dict[str, Any], outdir: Path
) -> SpokeTemplate:
    """The spoke stack synthesized into `outdir` (its assets staged there), with the app's
    `context`, checked by cdk-nag and the deploy limits like every stack of the app."""
    app = cdk.App(outdir=str(outdir), context=context)
    stack = ImageUpdaterSpokeStack(
        app,
        SPOKE_STACK_NAME,
        config=spoke_config(config, organization),
        team_parameters=True,
        description=SPOKE_DESCRIPTION,
        synthesizer=cdk.DefaultStackSynthesizer(
            file_assets_bucket_name=code_bucket_name(organization.hub_account_id, "${AWS::Region}"),
            generate_bootstrap_version_rule=False,
        ),
    )
    cdk.Validations.of(app).add_plugins(AwsSolutionsChecks(app), DeployLimits(None))
    assembly = app.synth()
    artifact = assembly.get_stack_artifact(stack.artifact_id)
    template: dict[str, Any] = artifact.template
    # DefaultStackSynthesizer's asset manifest, beside the template.
    manifest = Path(assembly.directory) / f"{stack.artifact_id}.assets.json"
    return SpokeTemplate(template, tuple(_code_assets(manifest, artifact.template_file)))


def _code_assets(manifest: Path, template_file: str) -> list[SpokeAsset]:
    files: dict[str, Any] = json.loads(manifest.read_text(encoding="utf-8"))["files"]
    assets = []
    for source_hash, entry in sorted(files.items()):
        path = Path(entry["source"]["path"])
        if path.name == template_file:
            continue  # the template itself: published by the StackSet's stack
        if not path.is_absolute():
            path = manifest.parent / path
        assets.append(SpokeAsset(source_hash, str(path)))
    return assets
