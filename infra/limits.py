"""Size limits that `cdk synth` does not check and `cdk deploy` fails on, checked on the template.

Lambda takes at most 4 KB of environment variables per function: every name and value together,
measured as one compact JSON object (its error quotes the "String measured: {...}"). IAM takes at
most 6,144 characters in a managed policy, 10,240 in a role's inline policies together
(whitespace not counted) and, by default, 10 managed policies per role. Settings that are lists
(imageNames, canaryAlarmNames, newImageTags) reach those documents, so a value the configuration's
rules accept could otherwise fail the deploy, or a later update of a running stack.

The check reads the synthesized template, after CDK's own moves (with
`@aws-cdk/aws-iam:minimizePolicies`, statements that do not fit a role's inline policy overflow
into extra managed policies), as a validation plugin: a violation stops the synth and says the
arithmetic. References (ARNs, names CloudFormation generates) count at their longest.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any, NamedTuple

import jsii
from aws_cdk import (
    IPolicyValidationContext,
    IPolicyValidationPlugin,
    PolicyValidationPluginReport,
    PolicyViolatingResource,
    PolicyViolation,
)

from infra.regions import PARTITION, appstream_regions

ENVIRONMENT_MAX_BYTES = 4 * 1024
MANAGED_POLICY_MAX = 6_144
INLINE_POLICIES_MAX = 10_240
MANAGED_POLICIES_PER_ROLE = 10
# A reference to a resource type not listed in _KINDS counts as this many characters.
UNKNOWN_REFERENCE_LENGTH = 2_048
ENVIRONMENT_RULE = "LambdaEnvironmentSize"
POLICY_RULE = "IamPolicySize"

_ACCOUNT = "0" * 12
_WHITESPACE = re.compile(r"\s")
# Environment variables that carry a setting, named in the refusal.
SETTING_OF_VARIABLE = {
    "CANARY_ALARM_NAMES": "canaryAlarmNames",
    "CONFIGURED_IMAGES": "imageNames",
    "NEW_IMAGE_TAGS": "newImageTags",
    "ROLLOUT_WINDOW": "rolloutWindow",
}


class _Kind(NamedTuple):
    """A resource type's name (its property, longest length) and how Ref and GetAtt spell it."""

    name_property: str
    name_max: int
    ref: str
    attributes: Mapping[str, str]


def _arn(service: str, resource: str = "") -> str:
    """The ARN pattern of a regional resource named {name}."""
    return f"arn:{{p}}:{service}:{{r}}:{{a}}:{resource}{{name}}"


_TOPIC_ARN = _arn("sns")
_STATE_MACHINE_ARN = _arn("states", "stateMachine:")
_KINDS: Mapping[str, _Kind] = {
    "AWS::Lambda::Function": _Kind(
        "FunctionName", 64, "{name}", {"Arn": "arn:{p}:lambda:{r}:{a}:function:{name}"}
    ),
    "AWS::Logs::LogGroup": _Kind(
        "LogGroupName", 512, "{name}", {"Arn": "arn:{p}:logs:{r}:{a}:log-group:{name}:*"}
    ),
    **dict.fromkeys(
        ("AWS::DynamoDB::Table", "AWS::DynamoDB::GlobalTable"),
        _Kind("TableName", 255, "{name}", {"Arn": "arn:{p}:dynamodb:{r}:{a}:table/{name}"}),
    ),
    "AWS::KMS::Key": _Kind(
        "", 36, "{name}", {"Arn": "arn:{p}:kms:{r}:{a}:key/{name}", "KeyId": "{name}"}
    ),
    "AWS::SQS::Queue": _Kind(
        "QueueName",
        80,
        "https://sqs.{r}.amazonaws.com/{a}/{name}",
        {"Arn": "arn:{p}:sqs:{r}:{a}:{name}", "QueueName": "{name}"},
    ),
    "AWS::IAM::Role": _Kind(
        "RoleName", 64, "{name}", {"Arn": "arn:{p}:iam::{a}:role{path}{name}", "RoleId": "{name}"}
    ),
    # A topic's and a state machine's Ref is their ARN.
    "AWS::SNS::Topic": _Kind(
        "TopicName", 256, _TOPIC_ARN, {"TopicArn": _TOPIC_ARN, "TopicName": "{name}"}
    ),
    "AWS::StepFunctions::StateMachine": _Kind(
        "StateMachineName", 80, _STATE_MACHINE_ARN, {"Arn": _STATE_MACHINE_ARN, "Name": "{name}"}
    ),
}


class _Renderer:
    """Turns a template value into the text AWS will see, each reference at its longest."""

    def __init__(self, template: Mapping[str, Any], region: str | None) -> None:
        self._resources: Mapping[str, Any] = template.get("Resources", {})
        self._parameters: Mapping[str, Any] = template.get("Parameters", {})
        # Environment-agnostic: the longest name of a Region the stack may be deployed to.
        self._region = region or max(appstream_regions(), key=len)

    def text(self, value: Any) -> Any:
        if isinstance(value, list):
            return [self.text(item) for item in value]
        if not isinstance(value, dict):
            return value
        if "Fn::Join" in value:
            separator, parts = value["Fn::Join"]
            return str(separator).join(str(self.text(part)) for part in parts)
        if "Ref" in value:
            return self._reference(value["Ref"], None)
        if "Fn::GetAtt" in value:
            logical_id, attribute = value["Fn::GetAtt"]
            return self._reference(logical_id, attribute)
        if len(value) == 1 and next(iter(value)).startswith("Fn::"):
            return "?" * UNKNOWN_REFERENCE_LENGTH  # another intrinsic: assume the worst
        return {key: self.text(item) for key, item in value.items()}

    def _reference(self, logical_id: str, attribute: str | None) -> str:
        pseudo = {"AWS::Partition": PARTITION, "AWS::Region": self._region}
        if attribute is None and logical_id in pseudo:
            return pseudo[logical_id]
        if attribute is None and logical_id == "AWS::AccountId":
            return _ACCOUNT
        max_length = self._parameters.get(logical_id, {}).get("MaxLength")
        if attribute is None and max_length is not None:
            return "p" * int(max_length)  # a parameter: CloudFormation refuses a longer value
        resource = self._resources.get(logical_id, {})
        kind = _KINDS.get(resource.get("Type", ""))
        spelling = kind and (kind.ref if attribute is None else kind.attributes.get(attribute))
        if not kind or not spelling:
            return "?" * UNKNOWN_REFERENCE_LENGTH
        properties = resource.get("Properties", {})
        name = properties.get(kind.name_property) if kind.name_property else None
        if not isinstance(name, str):
            name = "n" * kind.name_max  # named by CloudFormation at deploy: at most this long
        path = properties.get("Path", "/")
        return spelling.format(
            p=PARTITION,
            r=self._region,
            a=_ACCOUNT,
            name=name,
            path=path if isinstance(path, str) else "/" + "p" * 510 + "/",
        )


# --- Lambda: environment variables ---------------------------------------------------------------


def environment_bytes(variables: Mapping[str, str]) -> int:
    """The size Lambda measures: the variables as one compact JSON object."""
    return len(json.dumps(dict(variables), separators=(",", ":")).encode("utf-8"))


def _function_name(logical_id: str, properties: Mapping[str, Any]) -> str:
    handler = str(properties.get("Handler", ""))
    module = handler.removesuffix(".handler").rpartition(".")[2]
    return f"{module} ({logical_id})" if module else logical_id


def environment_problems(
    template: Mapping[str, Any], region: str | None = None
) -> Iterator[tuple[str, str]]:
    """(logical ID, problem) for each function whose variables would exceed Lambda's 4 KB."""
    render = _Renderer(template, region)
    for logical_id, resource in template.get("Resources", {}).items():
        if resource.get("Type") != "AWS::Lambda::Function":
            continue
        properties = resource.get("Properties", {})
        raw = properties.get("Environment", {}).get("Variables", {})
        variables = {key: str(render.text(value)) for key, value in raw.items()}
        size = environment_bytes(variables)
        if size <= ENVIRONMENT_MAX_BYTES:
            continue
        # Each variable's share: `"NAME":"value"` as measured, then a comma each and the braces.
        shares = sorted(
            ((environment_bytes({k: v}) - 2, k) for k, v in variables.items()), reverse=True
        )
        largest = ", ".join(
            f"{key} {share:,}"
            + (f" (from {SETTING_OF_VARIABLE[key]})" if key in SETTING_OF_VARIABLE else "")
            for share, key in shares[:3]
        )
        rest = shares[3:]
        others = f" + {len(rest)} others {sum(share for share, _ in rest):,}" if rest else ""
        settings = [SETTING_OF_VARIABLE[key] for _, key in shares[:3] if key in SETTING_OF_VARIABLE]
        yield (
            logical_id,
            f"Lambda function {_function_name(logical_id, properties)}: its environment "
            f"variables take {size:,} bytes ({largest}{others} + {len(shares) - 1 + 2} for "
            f"commas and braces), over Lambda's limit of {ENVIRONMENT_MAX_BYTES:,} bytes (4 KB) "
            "for all of a function's variables together; the deploy would fail. Shorten "
            f"{' or '.join(settings) if settings else 'the largest variables'}.",
        )


# --- IAM: policy sizes ---------------------------------------------------------------------------


def policy_characters(document: Any) -> int:
    """A policy's size as IAM counts it: its JSON without whitespace."""
    return len(_WHITESPACE.sub("", json.dumps(document, separators=(",", ":"), ensure_ascii=False)))


def _statement_summary(render: _Renderer, document: Mapping[str, Any]) -> str:
    statements = document.get("Statement", [])
    if not statements:
        return ""
    sized = max(statements, key=lambda statement: policy_characters(render.text(statement)))
    actions = sized.get("Action", [])
    resources = sized.get("Resource", [])
    count = len(resources) if isinstance(resources, list) else 1
    action = actions if isinstance(actions, str) else ", ".join(actions)
    return (
        f"; its largest statement, {action} on {count} resource{'s' if count != 1 else ''}, "
        f"takes {policy_characters(render.text(sized)):,}"
    )


def _role_name(template: Mapping[str, Any], role: str) -> str:
    description = (
        template.get("Resources", {}).get(role, {}).get("Properties", {}).get("Description")
    )
    return f"role {role}" + (f" ({description})" if isinstance(description, str) else "")


def _roles_of(properties: Mapping[str, Any]) -> list[str]:
    return [
        ref["Ref"] for ref in properties.get("Roles", []) if isinstance(ref, dict) and "Ref" in ref
    ]


def policy_problems(
    template: Mapping[str, Any], region: str | None = None
) -> Iterator[tuple[str, str]]:
    """(logical ID, problem) for each policy, or role, that IAM would refuse for its size."""
    render = _Renderer(template, region)
    inline: dict[str, list[tuple[str, int]]] = {}
    managed: dict[str, list[str]] = {}
    for logical_id, resource in template.get("Resources", {}).items():
        kind = resource.get("Type")
        properties = resource.get("Properties", {})
        if kind == "AWS::IAM::Role":
            for arn in properties.get("ManagedPolicyArns", []):
                managed.setdefault(logical_id, []).append(str(arn))
        if kind not in ("AWS::IAM::Policy", "AWS::IAM::ManagedPolicy"):
            continue
        document = properties.get("PolicyDocument", {})
        size = policy_characters(render.text(document))
        if kind == "AWS::IAM::Policy":
            for role in _roles_of(properties):
                inline.setdefault(role, []).append((logical_id, size))
            continue
        for role in _roles_of(properties):
            managed.setdefault(role, []).append(logical_id)
        if size > MANAGED_POLICY_MAX:
            roles = ", ".join(_role_name(template, role) for role in _roles_of(properties))
            yield (
                logical_id,
                f"IAM managed policy {logical_id} (of {roles}) takes {size:,} characters"
                f"{_statement_summary(render, document)}, over IAM's limit of "
                f"{MANAGED_POLICY_MAX:,} for a managed policy (whitespace not counted, "
                "references at their longest); the deploy would fail.",
            )
    for role, policies in inline.items():
        total = sum(size for _, size in policies)
        if total > INLINE_POLICIES_MAX:
            parts = " + ".join(f"{name} {size:,}" for name, size in policies)
            yield (
                role,
                f"IAM {_role_name(template, role)}: its inline policies take {total:,} characters "
                f"together ({parts}), over IAM's limit of {INLINE_POLICIES_MAX:,} for a role's "
                "inline policies (whitespace not counted, references at their longest); the "
                "deploy would fail.",
            )
    for role, attached in managed.items():
        if len(attached) > MANAGED_POLICIES_PER_ROLE:
            yield (
                role,
                f"IAM {_role_name(template, role)}: {len(attached)} managed policies attached, "
                f"over IAM's default quota of {MANAGED_POLICIES_PER_ROLE} per role; the deploy "
                "would fail.",
            )


# --- the validation plugin -----------------------------------------------------------------------


@jsii.implements(IPolicyValidationPlugin)
class DeployLimits:
    """Stops the synth when a template would exceed Lambda's or IAM's size limits.

    `region`: where the stack will be deployed, if known at synth (else the longest Region
    name with AppStream counts in every ARN).
    """

    def __init__(self, region: str | None = None) -> None:
        self._region = region

    @property
    def name(self) -> str:
        return "AppStreamImageUpdater-DeployLimits"

    @property
    def version(self) -> str | None:
        return None

    @property
    def rule_ids(self) -> list[str]:
        return [ENVIRONMENT_RULE, POLICY_RULE]

    def validate(self, context: IPolicyValidationContext) -> PolicyValidationPluginReport:
        violations = []
        for path in context.template_paths:
            template = json.loads(Path(path).read_text(encoding="utf-8"))
            for rule, found in (
                (ENVIRONMENT_RULE, environment_problems(template, self._region)),
                (POLICY_RULE, policy_problems(template, self._region)),
            ):
                for logical_id, problem in found:
                    violations.append(
                        PolicyViolation(
                            rule_name=rule,
                            description=problem,
                            violating_resources=[
                                PolicyViolatingResource(
                                    resource_logical_id=logical_id,
                                    template_path=path,
                                    locations=["Properties"],
                                )
                            ],
                        )
                    )
        return PolicyValidationPluginReport(success=not violations, violations=violations)
