"""The organisation (`organization` set): the hub as a Stage per hub Region, the spokes as a
service-managed StackSet whose template is the standalone spoke's but for where its code is
read from and its e-mails and approvers taken as parameters (test_spoke_teams.py), the code
published into a bucket per Region that the organisation can read, and the linters on every
template. `organization` unset is covered by test_spoke_stack.py's
HUB_DIGESTS: the hub's template is byte-identical to main's."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import aws_cdk as cdk
import pytest
from aws_cdk import cx_api

from app import build_app, build_stacks
from infra.config import ConfigError, cdk_json_feature_flags
from infra.organization.code_bucket import CODE_BUCKET_STACK_NAME
from infra.organization.stack_set import SPOKE_SET_STACK_NAME
from rehearsal.template import assembly_in, template_json
from tests.infra.conftest import CONTEXT
from tests.infra.linters import cfn_lint, checkov
from tests.infra.stack_set_template import at_parameter_values, by_content
from tests.infra.test_app import _synth
from tests.infra.test_spoke_stack import HUB, SPOKE_CONTEXT

ORGANIZATION: dict[str, Any] = {
    "organizationId": "o-a1b2c3d4e5",
    "hubAccountId": HUB,
    "hubRegions": ["eu-west-1", "us-east-1"],
    "spokeRegions": ["eu-west-1", "eu-central-1", "ap-northeast-1"],
    "spokeOrganizationalUnitIds": ["ou-ab12-cdef3456", "ou-ab12-99998888"],
    "callAs": "DELEGATED_ADMIN",
    "maxConcurrentPercentage": 50,
    "failureTolerancePercentage": 5,
}
# The spoke tests' context (no hub-only key) with the hub's: the hub gets them all, the spokes
# the same settings less the hub-only ones.
ORG_CONTEXT = {
    **{key: value for key, value in SPOKE_CONTEXT.items() if key != "hubAccountId"},
    "newImageTags": CONTEXT["newImageTags"],
    "maxConcurrentUpdates": CONTEXT["maxConcurrentUpdates"],
    "organization": ORGANIZATION,
}


class Organization:
    """The synthesized organisation, read back from its cloud assembly as the CLI reads it."""

    def __init__(self, outdir: Path, context: dict[str, Any]) -> None:
        self.assembly = assembly_in(outdir, {**cdk_json_feature_flags(), **context})
        self.outdir = outdir

    def stage(self, stage_id: str) -> cx_api.CloudAssembly:
        return self.assembly.get_nested_assembly(f"assembly-{stage_id}")

    def artifacts(self) -> dict[str, cx_api.CloudFormationStackArtifact]:
        """Every stack `cdk deploy '**'` deploys, by its path (`cdk ls` shows the same)."""
        found = {}
        for stage_id in ("Hub-eu-west-1", "Hub-us-east-1", "Spokes"):
            for stack in self.stage(stage_id).stacks:
                found[stack.hierarchical_id] = stack
        return found

    @property
    def stack_set(self) -> dict[str, Any]:
        artifact = self.artifacts()["Spokes/StackSet"]
        (resource,) = artifact.template["Resources"].values()
        return dict(resource)

    @property
    def spoke_template(self) -> dict[str, Any]:
        key = self.stack_set["Properties"]["TemplateURL"].rsplit("/", 1)[1]
        files = self.asset_manifest("Spokes/StackSet")["files"]
        path = self.stage("Spokes").directory + "/" + files[key]["source"]["path"]
        loaded: dict[str, Any] = json.loads(Path(path).read_text())
        return loaded

    def asset_manifest(self, path: str) -> dict[str, Any]:
        artifact = self.artifacts()[path]
        directory = Path(self.stage(path.split("/", maxsplit=1)[0]).directory)
        manifest: dict[str, Any] = json.loads(
            (directory / f"{artifact.id}.assets.json").read_text()
        )
        return manifest


@pytest.fixture(scope="module")
def organization(tmp_path_factory: pytest.TempPathFactory) -> Organization:
    return Organization(tmp_path_factory.mktemp("organization.out"), ORG_CONTEXT)


def test_cdk_synth_shows_the_hubs_the_code_buckets_and_the_stack_set(
    organization: Organization,
) -> None:
    # Then each stack is in the hub's account, in its Region, under the name it has alone
    environments = {
        path: (artifact.stack_name, artifact.environment.account, artifact.environment.region)
        for path, artifact in organization.artifacts().items()
    }
    assert environments == {
        "Hub-eu-west-1/AppStreamImageUpdater": ("AppStreamImageUpdater", HUB, "eu-west-1"),
        "Hub-us-east-1/AppStreamImageUpdater": ("AppStreamImageUpdater", HUB, "us-east-1"),
        **{
            f"Spokes/Code-{region}": (CODE_BUCKET_STACK_NAME, HUB, region)
            for region in ("eu-west-1", "eu-central-1", "ap-northeast-1")
        },
        "Spokes/StackSet": (SPOKE_SET_STACK_NAME, HUB, "eu-west-1"),
    }
    # And the StackSet is deployed after the buckets its code is published to
    dependencies = {d.id for d in organization.artifacts()["Spokes/StackSet"].dependencies}
    assert {a.id for p, a in organization.artifacts().items() if "/Code-" in p} <= dependencies


def test_each_hub_stage_holds_the_single_account_stack(organization: Organization) -> None:
    # Given the hub as `cdk deploy` deploys it alone, with the same settings
    alone = template_json(
        {
            **cdk_json_feature_flags(),
            **{k: v for k, v in ORG_CONTEXT.items() if k != "organization"},
        }
    )
    for region in ORGANIZATION["hubRegions"]:
        pinned = organization.artifacts()[f"Hub-{region}/AppStreamImageUpdater"].template
        # Then the same resources, ARNs naming the account and Region instead of references
        assert {k: r["Type"] for k, r in pinned["Resources"].items()} == {
            k: r["Type"] for k, r in alone["Resources"].items()
        }
        assert f"arn:aws:appstream:{region}:{HUB}:image/ImgA-*" in json.dumps(pinned)


def test_the_stack_set_is_service_managed_and_deploys_itself_to_the_ous(
    organization: Organization,
) -> None:
    resource = organization.stack_set
    properties = resource["Properties"]
    assert resource["Type"] == "AWS::CloudFormation::StackSet"
    assert properties["PermissionModel"] == "SERVICE_MANAGED"
    assert properties["AutoDeployment"] == {
        "Enabled": True,
        "RetainStacksOnAccountRemoval": True,
    }
    assert properties["CallAs"] == "DELEGATED_ADMIN"
    assert properties["Capabilities"] == ["CAPABILITY_IAM"]
    assert properties["OperationPreferences"] == {
        "ConcurrencyMode": "SOFT_FAILURE_TOLERANCE",
        "MaxConcurrentPercentage": 50,
        "FailureTolerancePercentage": 5,
        "RegionConcurrencyType": "PARALLEL",
    }
    # Every account of the OUs but the hub's, in each spoke Region
    assert properties["StackInstancesGroup"] == [
        {
            "DeploymentTargets": {
                "OrganizationalUnitIds": ORGANIZATION["spokeOrganizationalUnitIds"],
                "Accounts": [HUB],
                "AccountFilterType": "DIFFERENCE",
            },
            "Regions": ORGANIZATION["spokeRegions"],
        }
    ]
    # Deleting the organisation's stack leaves the StackSet and its spokes
    assert resource["DeletionPolicy"] == "Retain"
    assert resource["UpdateReplacePolicy"] == "Retain"


def test_the_spoke_template_is_the_standalone_spokes_but_where_it_reads_its_code(
    organization: Organization,
) -> None:
    # Given the spoke `cdk deploy -c hubAccountId=<hub>` deploys alone, with the same settings
    standalone = template_json(
        {**cdk_json_feature_flags(), **{**SPOKE_CONTEXT, "hubAccountId": HUB}}
    )
    # When the StackSet's spoke is deployed with its parameters at their defaults
    spoke = at_parameter_values(organization.spoke_template, {})
    # Then the only differences: no bootstrap version check (a spoke account is not
    # bootstrapped), and each function's code read from the hub's bucket in its own Region
    expected = copy.deepcopy(standalone)
    del expected["Parameters"]["BootstrapVersion"], expected["Rules"]
    bucket = {"Fn::Sub": f"appstream-image-updater-spoke-code-{HUB}-${{AWS::Region}}"}
    functions = [r for r in expected["Resources"].values() if r["Type"] == "AWS::Lambda::Function"]
    assert len(functions) == 9
    for function in functions:
        function["Properties"]["Code"]["S3Bucket"] = bucket
    # (the e-mail subscriptions and the approvers' permissions named by what they say: the
    # standalone spoke names them after the address or ARN, the StackSet's after the slot)
    assert by_content(spoke) == by_content(expected)


def test_the_spokes_code_is_published_to_every_spoke_region_and_the_template_home(
    organization: Organization,
) -> None:
    manifest = organization.asset_manifest("Spokes/StackSet")["files"]
    destinations = [
        (entry["source"]["packaging"], destination)
        for entry in manifest.values()
        for destination in entry["destinations"].values()
    ]
    keys = {
        r["Properties"]["Code"]["S3Key"]
        for r in organization.spoke_template["Resources"].values()
        if r["Type"] == "AWS::Lambda::Function"
    }
    for region in ORGANIZATION["spokeRegions"]:
        published = {
            d["objectKey"]
            for packaging, d in destinations
            if d["region"] == region and packaging == "zip"
        }
        assert published == keys, region
    template_url = organization.stack_set["Properties"]["TemplateURL"]
    ((packaging, home),) = [(p, d) for p, d in destinations if d["objectKey"].endswith(".json")]
    assert packaging == "file"
    assert template_url == (
        f"https://{home['bucketName']}.s3.eu-west-1.amazonaws.com/{home['objectKey']}"
    )
    for _packaging, destination in destinations:
        region = destination["region"]
        assert destination["bucketName"] == f"appstream-image-updater-spoke-code-{HUB}-{region}"
        assert destination["assumeRoleArn"] == (
            f"arn:${{AWS::Partition}}:iam::{HUB}:role/"
            f"cdk-hnb659fds-file-publishing-role-{HUB}-{region}"
        )
    # And each asset's staged directory is in cdk.out, named relative to it
    for entry in manifest.values():
        assert not Path(entry["source"]["path"]).is_absolute()
        source = Path(organization.stage("Spokes").directory) / entry["source"]["path"]
        assert source.exists() and source.resolve().is_relative_to(organization.outdir)


def test_the_code_bucket_is_read_by_the_organisation_and_written_by_the_hubs_deploys(
    organization: Organization,
) -> None:
    template = organization.artifacts()["Spokes/Code-eu-central-1"].template
    (bucket,) = [r for r in template["Resources"].values() if r["Type"] == "AWS::S3::Bucket"]
    (policy,) = [r for r in template["Resources"].values() if r["Type"] == "AWS::S3::BucketPolicy"]
    assert bucket["DeletionPolicy"] == "Retain"
    assert (
        bucket["Properties"]["BucketName"]
        == f"appstream-image-updater-spoke-code-{HUB}-eu-central-1"
    )
    assert bucket["Properties"]["PublicAccessBlockConfiguration"] == {
        "BlockPublicAcls": True,
        "BlockPublicPolicy": True,
        "IgnorePublicAcls": True,
        "RestrictPublicBuckets": True,
    }
    statements = {s.get("Sid"): s for s in policy["Properties"]["PolicyDocument"]["Statement"]}
    read = statements["OrganizationReadsSpokeCode"]
    assert read["Action"] == "s3:GetObject"
    assert read["Condition"] == {"StringEquals": {"aws:PrincipalOrgID": "o-a1b2c3d4e5"}}
    publish = statements["HubPublishesSpokeCode"]
    assert "s3:PutObject*" in publish["Action"]
    assert "cdk-hnb659fds-file-publishing-role-111122223333-eu-central-1" in json.dumps(
        publish["Principal"]
    )


def test_named_accounts_narrow_the_ous_and_self_is_the_management_account(
    tmp_path: Path,
) -> None:
    organization = {**ORGANIZATION, "spokeAccountIds": ["444455556666"], "callAs": "SELF"}
    context = {**ORG_CONTEXT, "organization": organization}
    properties = Organization(tmp_path, context).stack_set["Properties"]
    assert properties["CallAs"] == "SELF"
    targets = properties["StackInstancesGroup"][0]["DeploymentTargets"]
    assert targets["Accounts"] == ["444455556666"]
    assert targets["AccountFilterType"] == "INTERSECTION"


def test_a_hub_account_id_other_than_the_organisations_is_refused_naming_it() -> None:
    app = cdk.App(
        context={**cdk_json_feature_flags(), **ORG_CONTEXT, "hubAccountId": "999988887777"}
    )
    with pytest.raises(ConfigError) as refused:
        build_stacks(app)
    (problem,) = refused.value.problems
    assert problem.startswith("hubAccountId: '999988887777' with organization set")


def test_build_app_refuses_an_organisation_it_cannot_return_as_one_stack() -> None:
    app = cdk.App(context={**cdk_json_feature_flags(), **ORG_CONTEXT})
    with pytest.raises(ValueError, match="organization is set"):
        build_app(app)


def test_a_broken_organisation_stops_app_py_naming_the_key_and_field(tmp_path: Path) -> None:
    # Given `cdk synth -c organization='{..., "callAs": "ADMIN"}'`
    context = {"organization": json.dumps({**ORGANIZATION, "callAs": "ADMIN"})}
    # When app.py runs as the CLI runs it
    result = _synth(context, tmp_path)
    # Then it stops naming the key, the field, the value and the rule, and writes nothing
    assert result.returncode != 0
    assert "organization: callAs: 'ADMIN' must be one of DELEGATED_ADMIN, SELF" in result.stderr
    assert "Traceback" not in result.stderr
    assert not list(tmp_path.glob("**/*.template.json"))


def _templates(organization: Organization) -> dict[str, Path]:
    found = {path: Path(a.template_full_path) for path, a in organization.artifacts().items()}
    key = organization.stack_set["Properties"]["TemplateURL"].rsplit("/", 1)[1]
    files = organization.asset_manifest("Spokes/StackSet")["files"]
    found["spoke"] = Path(organization.stage("Spokes").directory) / files[key]["source"]["path"]
    return found


def test_cfn_lint_passes_on_every_template(organization: Organization) -> None:
    templates = _templates(organization)
    assert len(templates) == 7  # two hubs, three code buckets, the StackSet, the spokes'
    result = cfn_lint(*templates.values())
    assert result.returncode == 0, result.output


def test_checkov_finds_nothing_in_any_template(organization: Organization) -> None:
    result = checkov(*_templates(organization).values())
    assert result.returncode == 0, result.output
    assert "Failed checks" not in result.stdout or "Failed checks: 0" in result.stdout
