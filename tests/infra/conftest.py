"""Synthesizes the stack in-process, with cdk.json's context, for the infra tests."""

from __future__ import annotations

import hashlib
import json
import os
import re
import subprocess
import sys
from collections.abc import Callable
from functools import cache
from pathlib import Path
from typing import Any

import pytest
from aws_cdk.assertions import Template

from infra.config import cdk_json_feature_flags
from rehearsal import template as kept_products
from rehearsal.template import template_json

os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")

CONTEXT = {
    "imageNames": "ImgA,ImgB",
    "notificationEmails": "ops@example.com,euc-team@example.com",
    "newImageTags": '{"CostCenter": "EUC"}',
    "scheduleExpression": "cron(30 2 ? * SUN *)",
    "scheduleTimezone": "Europe/Paris",
    "maxConcurrentUpdates": "3",
}

Synth = Callable[..., Template]

ROOT = Path(__file__).resolve().parents[2]
# Where a kept app.py run had its output folder (its path is in the messages and the files).
_OUTDIR = "<CDK_OUTDIR>"
# Variables that reach what app.py does besides the CDK_ and AWS_ ones (always in the key).
_ALSO_READ = ("JSII_", "NODE_", "PYTHON", "PATH")


@cache
def node_version() -> str:
    """The Node.js that jsii starts (the CDK runs in it)."""
    return subprocess.run(
        ["node", "--version"], capture_output=True, text=True, check=True
    ).stdout.strip()


def app_py(
    context: dict[str, str], outdir: Path, **environment: str
) -> subprocess.CompletedProcess[str]:
    """`python app.py` as the CDK CLI runs it: the context in CDK_CONTEXT_JSON, the cloud
    assembly written to `outdir`. A full synth in a new process costs about 10 s of CPU (node
    loads the CDK), so the result (exit code, output, the files written to `outdir`) is kept
    with the synthesized templates (rehearsal/synth_cache.py): its key digests the code and
    libraries app.py runs, the CDK_/AWS_ variables, and here the context, `environment`, the
    other variables app.py's process reads and Node.js's version. Any change to one runs app.py
    again."""
    variables = {
        **os.environ,
        "CDK_CONTEXT_JSON": json.dumps(context),
        "CDK_OUTDIR": str(outdir),
        **environment,
    }

    def run() -> dict[str, Any]:
        result = subprocess.run(
            [sys.executable, "app.py"],
            cwd=ROOT,
            env=variables,
            capture_output=True,
            text=True,
            check=False,
        )
        files = {
            path.name: path.read_text(encoding="utf-8")
            for path in sorted(outdir.iterdir())
            if path.is_file()
        }
        return json.loads(
            json.dumps(
                {
                    "returncode": result.returncode,
                    "stdout": result.stdout,
                    "stderr": result.stderr,
                    "files": files,
                }
            ).replace(json.dumps(str(outdir))[1:-1], _OUTDIR)
        )

    described = {
        "app.py": context,
        "environment": environment,
        "read": {k: v for k, v in os.environ.items() if k.startswith(_ALSO_READ)},
        "node": node_version(),
        "python": sys.executable,
    }
    found = json.loads(
        json.dumps(kept_products.kept(described, run)).replace(
            _OUTDIR, json.dumps(str(outdir))[1:-1]
        )
    )
    for name, text in found["files"].items():
        if not (outdir / name).exists():
            (outdir / name).write_text(text, encoding="utf-8")
    return subprocess.CompletedProcess(
        [sys.executable, "app.py"], found["returncode"], found["stdout"], found["stderr"]
    )


@pytest.fixture(scope="session")
def synth() -> Synth:
    cache: dict[str, Template] = {}

    def _synth(**overrides: Any) -> Template:
        context = {**CONTEXT, **overrides}
        key = json.dumps(context, sort_keys=True)
        if key not in cache:
            cache[key] = Template.from_json(template_json({**cdk_json_feature_flags(), **context}))
        return cache[key]

    return _synth


# Roll-out settings other than the defaults, in two synths the infra tests share (each
# configuration is synthesized once: rehearsal/synth_cache.py).
ATTENDED = {
    "approvalTimeoutHours": "48",
    "canaryAlarmNames": "Canary-Errors,Canary-Latency",
    "rolloutWindow": "cron(0 22 ? * SAT *)",
}
UNATTENDED = {"requireApproval": "false", "canarySoakHours": "0"}


@pytest.fixture(scope="session")
def template(synth: Synth) -> Template:
    return synth()


def resolve(value: Any) -> Any:
    """Turns a template's Fn::Join of a definition into text with placeholder ARNs."""
    if isinstance(value, dict) and "Fn::Join" in value:
        separator, parts = value["Fn::Join"]
        return separator.join(str(resolve(part)) for part in parts)
    if isinstance(value, dict) and "Fn::GetAtt" in value:
        return f"arn:aws:lambda:us-east-1:123456789012:function:{value['Fn::GetAtt'][0]}"
    if isinstance(value, dict) and "Ref" in value:
        return {"AWS::Partition": "aws", "AWS::Region": "us-east-1"}.get(
            value["Ref"], f"arn:aws:sns:us-east-1:123456789012:{value['Ref']}"
        )
    return value


def actions_of(statement: dict[str, Any]) -> list[str]:
    """A policy statement's actions (one is written as a string)."""
    actions = statement["Action"]
    return [actions] if isinstance(actions, str) else list(actions)


def resources_of(statement: dict[str, Any]) -> list[Any]:
    """A policy statement's resources (one is written alone)."""
    resources = statement["Resource"]
    return resources if isinstance(resources, list) else [resources]


def stack_arn(service: str, resource: str) -> dict[str, Any]:
    """The ARN of `resource` of `service` in the stack's partition, Region and account, joined
    as the template writes it."""
    partition, region, account = (
        {"Ref": f"AWS::{name}"} for name in ("Partition", "Region", "AccountId")
    )
    parts = ["arn:", partition, f":{service}:", region, ":", account, f":{resource}"]
    return {"Fn::Join": ["", parts]}


def definition(template: Template) -> dict[str, Any]:
    (machine,) = template.find_resources("AWS::StepFunctions::StateMachine").values()
    parsed: dict[str, Any] = json.loads(resolve(machine["Properties"]["DefinitionString"]))
    return parsed


def all_states(states: dict[str, Any]) -> dict[str, Any]:
    found = dict(states)
    for state in states.values():
        if "ItemProcessor" in state:
            found |= all_states(state["ItemProcessor"]["States"])
    return found


def hub_digest(context: dict[str, Any]) -> str:
    """Without the dashboard and its output (issue 19 added them to every deployment;
    tests/infra/test_dashboard.py checks them): the rest must be main's, byte for byte."""
    template = template_json({**cdk_json_feature_flags(), **context})
    (dashboard,) = [
        logical_id
        for logical_id, resource in template["Resources"].items()
        if resource["Type"] == "AWS::CloudWatch::Dashboard"
    ]
    template = {
        **template,
        "Resources": {k: v for k, v in template["Resources"].items() if k != dashboard},
        "Outputs": {k: v for k, v in template["Outputs"].items() if k != "DashboardUrl"},
    }
    text = json.dumps(template, sort_keys=True)
    return hashlib.sha256(re.sub(r"[0-9a-f]{64}", "<asset>", text).encode()).hexdigest()
