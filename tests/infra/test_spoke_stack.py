"""The spoke stack (`hubAccountId` set): what it holds, what its roles may do (never change an
image), that the linters pass on it, that the hub-only keys are refused, and that the hub's
template is unchanged while `hubAccountId` is unset."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from aws_cdk.assertions import Match, Template

from image_updater.rollout.models import FOLLOWS_TAG
from image_updater.spoke.claims import PARTITION as SPOKE_PARTITION
from infra.config import ConfigError, cdk_json_feature_flags, load_config
from infra.spoke.config import HUB_ONLY_KEYS, refuse_hub_only_keys
from rehearsal import bench
from rehearsal.template import assembly_in, template_json
from tests.infra.conftest import CONTEXT, all_states, definition, hub_digest
from tests.infra.linters import cfn_lint, checkov, statelint, write_json
from tests.infra.test_function_environment import POWERTOOLS, environments, read_by_code
from tests.infra.test_lambda_code import import_alone

HUB = "111122223333"
SPOKE = {"hubAccountId": HUB, "approvers": "arn:aws:iam::444455556666:role/Approvers"}
# What a spoke must never be able to do: every AppStream action that creates, copies, changes,
# shares or deletes an image (or starts a builder that could make one).
IMAGE_CHANGING = {
    "appstream:CreateUpdatedImage",
    "appstream:CopyImage",
    "appstream:DeleteImage",
    "appstream:UpdateImagePermissions",
    "appstream:DeleteImagePermissions",
    "appstream:CreateImageBuilder",
    "appstream:CreateImportedImage",
    "appstream:UpdateImage",
}
# The digests of the hub's template (Lambda asset hashes masked) as main synthesized them
# before issue 18, with cdk.json's context and with the infra tests' CONTEXT: while the new
# keys are unset, `cdk deploy` must deploy exactly what it did. A deliberate change to the hub
# updates them (print `hub_digest(...)`).
HUB_DIGESTS = {
    "cdk.json": "2801e1411d45a9ef6d063418d9eb484947167e2abc2d344fd3f38abe241af6c4",
    "infra tests": "ef5ad3cee6cc4dfc85367ee440159a79250e88cbcc867ef323b6ea9026ac9897",
}


# The infra tests' CONTEXT without its hub-only keys (a spoke refuses them).
SPOKE_CONTEXT = {
    **{key: value for key, value in CONTEXT.items() if key not in HUB_ONLY_KEYS},
    **SPOKE,
    "canaryAlarmNames": "Canary-Errors",
}


@pytest.fixture(scope="module")
def spoke() -> Template:
    return Template.from_json(template_json({**cdk_json_feature_flags(), **SPOKE_CONTEXT}))


def _actions(template: Template) -> list[tuple[str, dict[str, Any]]]:
    """(action, statement) for every statement of every IAM policy of the template."""
    found = []
    for policy in template.find_resources("AWS::IAM::Policy").values():
        for statement in policy["Properties"]["PolicyDocument"]["Statement"]:
            actions = statement["Action"]
            for action in [actions] if isinstance(actions, str) else actions:
                found.append((action, statement))
    return found


def _handlers(template: Template) -> set[str]:
    return {
        f["Properties"]["Handler"]
        for f in template.find_resources("AWS::Lambda::Function").values()
    }


def test_with_hub_account_id_unset_the_hub_is_exactly_mains() -> None:
    assert hub_digest({}) == HUB_DIGESTS["cdk.json"]
    assert hub_digest(CONTEXT) == HUB_DIGESTS["infra tests"]


def test_no_spoke_role_may_change_an_image(spoke: Template) -> None:
    actions = _actions(spoke)
    assert actions, "the spoke's policies were not found"
    granted = {action for action, _statement in actions}
    assert not granted & IMAGE_CHANGING
    # and no wildcard that would include them
    assert not [a for a in granted if "*" in a]
    # and no role has a managed policy that could
    for role in spoke.find_resources("AWS::IAM::Role").values():
        assert "ManagedPolicyArns" not in role["Properties"]


def test_update_fleet_only_on_tagged_fleets_and_to_this_accounts_public_or_the_hubs_images(
    spoke: Template,
) -> None:
    statements = [s for a, s in _actions(spoke) if a == "appstream:UpdateFleet"]
    fleets = [s for s in statements if "Condition" in s]
    images = [s for s in statements if "Condition" not in s]
    (tagged,) = fleets
    assert tagged["Condition"] == {
        "StringEquals": {f"aws:ResourceTag/{FOLLOWS_TAG}": ["ImgA", "ImgB"]}
    }
    (targets,) = images
    accounts = {json.dumps(r).split(":")[-2] for r in targets["Resource"]}
    assert any(HUB in json.dumps(r) for r in targets["Resource"])
    assert len(accounts) == 3  # this account, AWS's public images (empty), the hub


def test_discover_claims_only_in_its_own_ledger_partition(spoke: Template) -> None:
    claims = [s for a, s in _actions(spoke) if a == "dynamodb:PutItem"]
    conditions = [
        s["Condition"]["ForAllValues:StringEquals"]["dynamodb:LeadingKeys"] for s in claims
    ]
    assert [SPOKE_PARTITION] in conditions


def test_the_spoke_holds_its_roll_out_and_nothing_of_the_hubs(spoke: Template) -> None:
    assert _handlers(spoke) == {
        f"image_updater.handlers.{module}.handler"
        for module in (
            "spoke_discover",
            "spoke_plan",
            "spoke_fleets",
            "spoke_health",
            "rollout_approval",
            "rollout_window",
            "rollout_report",
            "rollout_verify",
            "approval_url",
        )
    }
    spoke.resource_count_is("AWS::StepFunctions::StateMachine", 1)
    spoke.resource_count_is("AWS::Scheduler::Schedule", 1)
    spoke.resource_count_is("AWS::DynamoDB::GlobalTable", 1)
    spoke.resource_count_is("AWS::SNS::Topic", 1)
    spoke.resource_count_is("AWS::Lambda::Url", 1)
    spoke.has_resource_properties(
        "AWS::Lambda::Function",
        {
            "Handler": "image_updater.handlers.spoke_discover.handler",
            "Environment": {
                "Variables": Match.object_like(
                    {"HUB_ACCOUNT_ID": HUB, "CONFIGURED_IMAGES": '["ImgA", "ImgB"]'}
                )
            },
        },
    )
    spoke.has_output("HubAccountId", {"Value": HUB})
    # The state machine: discover, then the hub's roll-out sub-flow for each new image.
    machine = definition(spoke)
    assert machine["StartAt"] == "Find the hub's new images"
    states = all_states(machine["States"])
    assert {"Roll out each new image", "Update the canary fleets", "Wait for approval"} <= set(
        states
    )
    assert not {"Check", "Create", "Poll"} & set(states)


def test_the_hubs_template_has_no_spoke(template: Template) -> None:
    assert not {h for h in _handlers(template) if ".spoke_" in h}


@pytest.mark.parametrize("key", [k for k in HUB_ONLY_KEYS if k in CONTEXT])
def test_a_hub_only_key_is_refused_in_a_spoke_naming_it(key: str) -> None:
    config = load_config({**CONTEXT, **SPOKE})
    with pytest.raises(ConfigError) as refused:
        refuse_hub_only_keys(config)
    assert any(
        line.startswith(f"{key}: ") and "does nothing in a spoke" in line
        for line in refused.value.problems
    )


def test_hub_only_keys_at_their_defaults_are_accepted() -> None:
    refuse_hub_only_keys(load_config({"imageNames": "ImgA", **SPOKE}))


def _spoke_file(template: Template, tmp_path: Path) -> Path:
    return write_json(template.to_json(), tmp_path / "AppStreamImageUpdaterSpoke.template.json")


def test_cfn_lint_passes_on_the_spoke(spoke: Template, tmp_path: Path) -> None:
    result = cfn_lint(_spoke_file(spoke, tmp_path))
    assert result.returncode == 0, result.output


def test_checkov_finds_nothing_in_the_spoke(spoke: Template, tmp_path: Path) -> None:
    result = checkov(_spoke_file(spoke, tmp_path))
    assert result.returncode == 0, result.output
    assert "Failed checks: 0" in result.stdout


def test_statelint_passes_on_the_spoke_definition(spoke: Template, tmp_path: Path) -> None:
    result = statelint(write_json(definition(spoke), tmp_path / "definition.json"))
    assert result.returncode == 0, result.output


def test_each_spoke_function_gets_the_settings_its_code_reads_and_no_other(
    spoke: Template,
) -> None:
    for module, variables in environments(spoke).items():
        required, readable = read_by_code(module)
        assert required <= set(variables), module
        assert set(variables) - POWERTOOLS <= readable, module


def test_every_spoke_handler_imports_from_its_own_asset_alone(
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    # Given the spoke synthesized with its assets staged
    outdir = tmp_path_factory.mktemp("spoke.out")
    context = {**cdk_json_feature_flags(), **SPOKE_CONTEXT}
    assembly_in(outdir, {**context, "aws:cdk:enable-asset-metadata": True})
    functions = bench.functions(outdir)
    assert len(functions) == 9
    # When each handler is imported from its asset alone / Then it imports
    for function in functions.values():
        result = import_alone(function.asset, [function.module])
        assert result.returncode == 0, (function.module, result.stderr[-2000:])
