"""The Powertools layer: the release the tests run, for the runtime the functions run, in
every Region the stack can be deployed to, and a clear refusal everywhere else."""

from __future__ import annotations

import json
import re
from importlib import metadata
from pathlib import Path
from typing import Any

import aws_cdk as cdk
import pytest
from aws_cdk import aws_lambda as lambda_
from aws_cdk.assertions import Template

from app import STACK_NAME, build_app
from infra import powertools
from infra.config import cdk_json_feature_flags, load_config
from infra.constructs.functions import ARCHITECTURE, RUNTIME
from infra.powertools import POWERTOOLS_VERSION
from infra.stack import ImageUpdaterStack
from rehearsal.template import UNSTAGED
from tests.infra.conftest import CONTEXT

ROOT = Path(__file__).resolve().parents[2]
# The account AWS publishes the layer from in the commercial partition only.
COMMERCIAL_PUBLISHER = "017000801446"


def _stack(region: str | None = None) -> ImageUpdaterStack:
    app = cdk.App(context={**cdk_json_feature_flags(), **UNSTAGED, **CONTEXT})
    env = cdk.Environment(region=region) if region else None
    return ImageUpdaterStack(app, STACK_NAME, config=load_config(app.node.try_get_context), env=env)


def _layer_parameters(template: Template) -> dict[str, dict[str, Any]]:
    """The template parameters the functions' Layers refer to, by logical ID."""
    parameters = template.to_json().get("Parameters", {})
    referenced = {
        layer["Ref"]
        for function in template.find_resources("AWS::Lambda::Function").values()
        for layer in function["Properties"]["Layers"]
        if isinstance(layer, dict) and "Ref" in layer
    }
    return {logical_id: parameters[logical_id] for logical_id in referenced}


def _pinned(requirements: Path, package: str) -> str:
    """The version `requirements` pins for `package` (names compared as PEP 503 does)."""

    def normalized(name: str) -> str:
        return re.sub(r"[-_.]+", "-", name).lower()

    for line in requirements.read_text().splitlines():
        name, separator, version = line.partition("==")
        if separator and normalized(name.strip()) == normalized(package):
            return version.strip()
    raise AssertionError(f"{requirements.name} does not pin {package}")


class TestPartitions:
    def test_each_region_resolves_its_own_layer_instead_of_one_publisher_account(
        self, template: Template
    ) -> None:
        # Given the environment-agnostic template `cdk deploy` uses
        text = json.dumps(template.to_json())
        # Then no layer ARN is built from the commercial publisher's account with the
        # partition swapped (China and GovCloud publish from other accounts)...
        assert COMMERCIAL_PUBLISHER not in text
        # ...every function's only layer is a parameter AWS resolves in the deploy Region
        (parameter,) = _layer_parameters(template).values()
        assert parameter["Type"] == "AWS::SSM::Parameter::Value<String>"
        assert parameter["Default"].startswith("/aws/service/powertools/python/")

    @pytest.mark.parametrize(
        ("region", "partition"),
        [
            ("cn-north-1", "aws-cn"),
            ("cn-northwest-1", "aws-cn"),
            ("us-gov-west-1", "aws-us-gov"),
            ("us-gov-east-1", "aws-us-gov"),
        ],
    )
    def test_a_stack_bound_to_a_china_or_govcloud_region_is_refused_at_synth(
        self, region: str, partition: str
    ) -> None:
        # Given a Region of a partition where no Powertools layer can be resolved
        # When the stack is built for it / Then synth stops, naming the Region and partition
        with pytest.raises(ValueError, match=rf"{region} is in partition {partition}.*commercial"):
            _stack(region)

    def test_a_stack_bound_to_a_commercial_region_uses_that_regions_layer(self) -> None:
        template = Template.from_stack(_stack("eu-west-1"))
        (parameter,) = _layer_parameters(template).values()
        assert parameter["Default"] == powertools.layer_parameter_name(RUNTIME, ARCHITECTURE)


class TestVersions:
    def test_the_tests_run_the_release_the_layer_is_resolved_for(self) -> None:
        # Given the one stated release / Then both pins and the installed package agree
        assert _pinned(ROOT / "requirements-dev.txt", "aws-lambda-powertools") == (
            POWERTOOLS_VERSION
        )
        assert _pinned(ROOT / "constraints.txt", "aws-lambda-powertools") == POWERTOOLS_VERSION
        assert metadata.version("aws-lambda-powertools") == POWERTOOLS_VERSION

    def test_the_layer_names_the_functions_runtime_architecture_and_release(
        self, template: Template
    ) -> None:
        # Given what the functions run on, read from the template
        functions = template.find_resources("AWS::Lambda::Function").values()
        ((runtime, architecture),) = {
            (f["Properties"]["Runtime"], *f["Properties"]["Architectures"]) for f in functions
        }
        # Then the layer is Powertools' parameter for exactly that and the pinned release
        (parameter,) = _layer_parameters(template).values()
        assert parameter["Default"] == (
            f"/aws/service/powertools/python/{architecture}/{runtime}/{POWERTOOLS_VERSION}"
        )

    def test_functions_run_the_newest_python_runtime_cdk_offers(self) -> None:
        def version(runtime: lambda_.Runtime) -> tuple[int, ...]:
            return tuple(int(part) for part in runtime.name.removeprefix("python").split("."))

        pythons = [
            getattr(lambda_.Runtime, name)
            for name in dir(lambda_.Runtime)
            if re.fullmatch(r"PYTHON_\d+_\d+", name)
        ]
        assert RUNTIME.name == max(pythons, key=version).name

    def test_no_finding_about_an_old_runtime_is_acknowledged(self) -> None:
        # Given the stack as `cdk deploy` builds it (cdk-nag would fail the synth on L1)
        app = cdk.App(context={**cdk_json_feature_flags(), **UNSTAGED, **CONTEXT})
        stack = build_app(app)
        key = cdk.Validations.ACKNOWLEDGED_RULES_METADATA_KEY
        acknowledged = json.dumps(
            [
                entry.data
                for construct in stack.node.find_all()
                for entry in construct.node.metadata
                if entry.type == key
            ]
        )
        # Then some findings are acknowledged, but AwsSolutions-L1 is not
        assert "AwsSolutions-IAM5" in acknowledged
        assert "AwsSolutions-L1" not in acknowledged
        app.synth()

    def test_a_new_release_reaches_stacks_already_deployed(
        self, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        # `cdk deploy` reuses an existing stack's previous parameter values: a release bump
        # must therefore be a new parameter, not a new default of the same one.
        current = set(_layer_parameters(Template.from_stack(_stack())))
        monkeypatch.setattr(powertools, "POWERTOOLS_VERSION", "3.99.0")
        bumped = _layer_parameters(Template.from_stack(_stack()))
        assert current.isdisjoint(bumped)
        assert [p["Default"].rsplit("/", 1)[1] for p in bumped.values()] == ["3.99.0"]
