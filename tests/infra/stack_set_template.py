"""The StackSet spokes' template as CloudFormation would deploy it with given parameter values,
for tests that compare it with a standalone spoke or read what a team's values make of it."""

from __future__ import annotations

import json
from typing import Any

from infra.spoke.team import parameter_values

# The spokes' template's slot parameters (infra/spoke/team.py), every one.
SLOTS = parameter_values((), (), approval=True)


def at_parameter_values(template: dict[str, Any], values: dict[str, str]) -> dict[str, Any]:
    """The spokes' template as CloudFormation deploys it with `values` (a slot parameter not
    given at its default): the slot parameters and their conditions gone, a resource whose
    condition is false left out, each reference to a slot replaced by its value, each
    Fn::Join of plain strings joined; the APPROVERS list without its empty slots."""
    unknown = set(values) - set(SLOTS)
    assert not unknown, unknown
    parameters = {
        name: values.get(name, parameter["Default"])
        for name, parameter in template["Parameters"].items()
        if name in SLOTS
    }

    def resolve(value: Any) -> Any:
        if isinstance(value, list):
            return [resolve(item) for item in value]
        if not isinstance(value, dict):
            return value
        if set(value) == {"Ref"} and value["Ref"] in parameters:
            return parameters[value["Ref"]]
        if set(value) == {"Fn::Join"}:
            separator, parts = value["Fn::Join"]
            joined = [resolve(part) for part in parts]
            if all(isinstance(part, str) for part in joined):
                return separator.join(joined)
            return {"Fn::Join": [separator, joined]}
        if set(value) == {"Fn::Equals"}:
            left, right = resolve(value["Fn::Equals"])
            return left == right
        if set(value) == {"Fn::Not"}:
            (condition,) = resolve(value["Fn::Not"])
            assert isinstance(condition, bool), condition
            return not condition
        return {key: resolve(item) for key, item in value.items()}

    conditions = {name: resolve(c) for name, c in template.get("Conditions", {}).items()}
    assert all(isinstance(c, bool) for c in conditions.values()), conditions
    resources = {}
    for logical_id, resource in template["Resources"].items():
        if conditions.get(resource.get("Condition", ""), True):
            body = resolve({k: v for k, v in resource.items() if k != "Condition"})
            variables = body.get("Properties", {}).get("Environment", {}).get("Variables", {})
            if "APPROVERS" in variables:
                listed = json.loads(variables["APPROVERS"])
                variables["APPROVERS"] = json.dumps([arn for arn in listed if arn])
            resources[logical_id] = body
    deployed = {
        **template,
        "Parameters": {k: v for k, v in template["Parameters"].items() if k not in SLOTS},
        "Resources": resources,
    }
    deployed.pop("Conditions", None)
    return deployed


def by_content(template: dict[str, Any]) -> dict[str, Any]:
    """E-mail subscriptions and function permissions keyed by their content (and how many
    came before with the same: a duplicate is not lost)."""
    keyed = ("AWS::SNS::Subscription", "AWS::Lambda::Permission")
    resources: dict[str, Any] = {}
    for logical_id, resource in template["Resources"].items():
        key = logical_id
        if resource["Type"] in keyed:
            content = json.dumps(resource, sort_keys=True)
            key = f"{content} #{sum(k.startswith(content) for k in resources)}"
        resources[key] = resource
    return {**template, "Resources": resources}
