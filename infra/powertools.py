"""AWS's public Powertools for AWS Lambda (Python) layer, pinned to the release the tests use.

The layer is looked up by Powertools *release*, not by layer version number: with every
release AWS writes a public SSM parameter
`/aws/service/powertools/python/{arch}/{python3.x}/{release}` holding that Region's layer ARN
(Powertools' release workflow, `update_ssm.yml`). CloudFormation resolves it when the stack
is deployed, so the template never carries a layer number that could drift from the release,
and each Region gets its own publisher account and layer.

Only the commercial partition (`aws`) is supported. Those parameters exist only there: China
and GovCloud layers are copies published from other accounts, in fewer Regions, lagging the
commercial numbers (GovCloud's documented layer is older than the commercial one), and with
no SSM parameters to find them by. A stack bound to such a Region is refused at synth; an
environment-agnostic one fails validation at deploy, before anything is created, because the
parameter cannot be fetched.
"""

from __future__ import annotations

from aws_cdk import Stack, Token
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_ssm as ssm
from aws_cdk.region_info import RegionInfo
from constructs import Construct

# The one place that names the release. requirements-dev.txt and constraints.txt pin the
# same version for the tests (tests/infra/test_layer.py checks they agree).
POWERTOOLS_VERSION = "3.37.0"

SUPPORTED_PARTITIONS = frozenset({"aws"})


class UnsupportedPartitionError(ValueError):
    """The stack is bound to a Region whose partition has no Powertools layer to resolve."""


def layer_parameter_name(runtime: lambda_.Runtime, architecture: lambda_.Architecture) -> str:
    # runtime.name is "python3.14", architecture.name "arm64" or "x86_64": Powertools'
    # parameter names use the same spellings.
    return f"/aws/service/powertools/python/{architecture.name}/{runtime.name}/{POWERTOOLS_VERSION}"


def layer(
    scope: Construct,
    construct_id: str,
    *,
    runtime: lambda_.Runtime,
    architecture: lambda_.Architecture,
) -> lambda_.ILayerVersion:
    refuse_unsupported_partition(Stack.of(scope))
    # A template parameter of type AWS::SSM::Parameter::Value<String>, resolved when the
    # change set is created. Its logical ID is derived from the parameter name, so a new
    # release is a new parameter: `cdk deploy` cannot keep the old value as a "previous
    # parameter" of an existing stack.
    arn = ssm.StringParameter.value_for_string_parameter(
        scope, layer_parameter_name(runtime, architecture)
    )
    return lambda_.LayerVersion.from_layer_version_arn(scope, construct_id, arn)


def refuse_unsupported_partition(stack: Stack) -> None:
    if Token.is_unresolved(stack.region):
        return  # environment-agnostic: the deploy-time parameter lookup decides
    partition = RegionInfo.get(stack.region).partition
    # A Region this CDK version does not know (partition None) is not known to be
    # unsupported; the parameter lookup at deploy is the final word there too.
    if partition is not None and partition not in SUPPORTED_PARTITIONS:
        raise UnsupportedPartitionError(
            f"Region {stack.region} is in partition {partition}, which this stack does not "
            f"support: AWS publishes the Powertools for AWS Lambda (Python) {POWERTOOLS_VERSION} "
            "layer, and the SSM parameters that name it, only in the commercial partition "
            f"({', '.join(sorted(SUPPORTED_PARTITIONS))}). Deploy to a commercial Region."
        )
