"""The spokes' code bucket, one per spoke Region (and the StackSet's home Region) in the hub's
account: a StackSet instance's Lambda functions are created from it by CloudFormation in the
spoke account, whose StackSets execution role reads it (any principal of the organisation may
read; nobody outside it). `cdk deploy` publishes the spokes' code into it with the hub's CDK
file-publishing role of that Region (granted here: the bootstrap role only writes to the
bootstrap bucket)."""

from __future__ import annotations

from aws_cdk import Duration, RemovalPolicy, Stack
from aws_cdk import aws_iam as iam
from aws_cdk import aws_s3 as s3
from constructs import Construct

from infra.config.organization import Organization
from infra.findings import acknowledge
from infra.organization.names import bootstrap_role_arn, code_bucket_name

CODE_BUCKET_STACK_NAME = "AppStreamImageUpdaterSpokeCode"
ACCESS_LOGS_REASON = (
    "the bucket holds only the spokes' Lambda code and template, written by `cdk deploy` "
    "(CloudTrail records those writes) and read by CloudFormation in the organisation's accounts"
)


class SpokeCodeBucketStack(Stack):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        organization: Organization,
        region: str,
        **kwargs: object,
    ) -> None:
        super().__init__(scope, construct_id, **kwargs)  # type: ignore[arg-type]
        hub = organization.hub_account_id
        self.bucket = s3.Bucket(
            self,
            "Code",
            bucket_name=code_bucket_name(hub, region),
            block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
            encryption=s3.BucketEncryption.S3_MANAGED,
            enforce_ssl=True,
            versioned=True,
            object_ownership=s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
            # A spoke stack created or updated later still needs the code it names.
            removal_policy=RemovalPolicy.RETAIN,
            lifecycle_rules=[
                s3.LifecycleRule(noncurrent_version_expiration=Duration.days(90)),
            ],
        )
        self.bucket.add_to_resource_policy(
            iam.PolicyStatement(
                sid="OrganizationReadsSpokeCode",
                actions=["s3:GetObject"],
                principals=[iam.OrganizationPrincipal(organization.organization_id)],
                resources=[self.bucket.arn_for_objects("*")],
            )
        )
        publisher = bootstrap_role_arn("file-publishing", hub, region).replace(
            "${AWS::Partition}", self.partition
        )
        self.bucket.add_to_resource_policy(
            iam.PolicyStatement(
                sid="HubPublishesSpokeCode",
                actions=["s3:GetObject*", "s3:GetBucket*", "s3:List*", "s3:PutObject*"],
                principals=[iam.ArnPrincipal(publisher)],
                resources=[self.bucket.bucket_arn, self.bucket.arn_for_objects("*")],
            )
        )
        acknowledge(self.bucket, "AwsSolutions-S1", ACCESS_LOGS_REASON)
        cfn = self.bucket.node.default_child
        assert isinstance(cfn, s3.CfnBucket)
        cfn.add_metadata(
            "checkov",
            {"skip": [{"id": "CKV_AWS_18", "comment": f"Access logs: {ACCESS_LOGS_REASON}"}]},
        )
