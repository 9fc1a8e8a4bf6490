"""The spoke's team as CloudFormation parameters, in the StackSet's spokes only: the addresses
the topic e-mails and the IAM principals who may approve, so that the StackSet gives each OU
its own (ParameterOverrides, infra/organization/stack_set.py). A standalone spoke and the hub
keep them in the template as they are.

CloudFormation cannot loop over a list, so each list is a fixed number of slots: a String
parameter per slot (empty when unused; the top-level value as its default) and a condition
per slot. A set e-mail slot creates its subscription. A set approver slot creates the
approval function URL's two permissions for that principal, and the function's APPROVERS
list is built from the same parameters: the identity AWS authenticates is admitted by the
resource policy and then checked by the function against exactly the configured approvers.
An empty slot creates no permission and adds "" to the list, which matches no caller
(`matching_approver` skips what is not a role or user ARN): it never lets anyone in.
"""

from __future__ import annotations

import dataclasses
import re

from aws_cdk import CfnCondition, CfnParameter, Fn
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_sns as sns
from constructs import Construct

from image_updater.approval.identity import APPROVER_PATTERN
from infra.config import UpdaterConfig
from infra.config.spoke_teams import APPROVER_ARN_MAX, APPROVER_SLOTS, EMAIL_SLOTS
from infra.config.values import EMAIL_MAX, EMAIL_PATTERN


def email_parameter(slot: int) -> str:
    return f"NotificationEmail{slot}"


def approver_parameter(slot: int) -> str:
    return f"Approver{slot}"


def slot_values(values: tuple[str, ...], slots: int) -> list[str]:
    """A list as its slots hold it: in order, then empty."""
    if len(values) > slots:
        raise ValueError(f"{len(values)} values for {slots} slots")  # refused at synth before
    return [*values, *[""] * (slots - len(values))]


def parameter_values(
    emails: tuple[str, ...] | None, approvers: tuple[str, ...] | None, *, approval: bool
) -> dict[str, str]:
    """Every slot parameter of the lists given (None: not given), by name."""
    values: dict[str, str] = {}
    if emails is not None:
        for slot, value in enumerate(slot_values(emails, EMAIL_SLOTS), start=1):
            values[email_parameter(slot)] = value
    if approval and approvers is not None:
        for slot, value in enumerate(slot_values(approvers, APPROVER_SLOTS), start=1):
            values[approver_parameter(slot)] = value
    return values


# CloudFormation matches AllowedPattern against the whole value (Java regular expressions:
# no named groups).
_EMAIL_ALLOWED = f"^$|^(?:{EMAIL_PATTERN})$"
_APPROVER_ALLOWED = "^$|" + re.sub(r"\?P<\w+>", "", APPROVER_PATTERN.pattern).replace(
    r"[\x21-\x7e]",
    r"[\x21\x23-\x5b\x5d-\x7e]",  # no quote, no backslash (a JSON string)
)


@dataclasses.dataclass(frozen=True)
class _Slot:
    parameter: CfnParameter
    is_set: CfnCondition


class TeamParameters(Construct):
    def __init__(self, scope: Construct, construct_id: str, *, config: UpdaterConfig) -> None:
        super().__init__(scope, construct_id)
        self._emails = [
            self._slot(
                email_parameter(slot),
                default,
                f"An address the spoke's topic e-mails (slot {slot} of {EMAIL_SLOTS}; empty: none)",
                _EMAIL_ALLOWED,
                EMAIL_MAX,
            )
            for slot, default in enumerate(
                slot_values(config.notification_emails, EMAIL_SLOTS), start=1
            )
        ]
        # Without approval there is no approval function, and nothing to parameterize.
        approvers = config.approvers if config.require_approval else None
        self._approvers = [
            self._slot(
                approver_parameter(slot),
                default,
                f"An IAM role or user ARN that may approve this account's roll-outs (slot "
                f"{slot} of {APPROVER_SLOTS}; empty: none)",
                _APPROVER_ALLOWED,
                APPROVER_ARN_MAX,
            )
            for slot, default in enumerate(
                slot_values(approvers, APPROVER_SLOTS) if approvers is not None else [],
                start=1,
            )
        ]

    def _slot(
        self, name: str, default: str, description: str, pattern: str, max_length: int
    ) -> _Slot:
        parameter = CfnParameter(
            self,
            name,
            type="String",
            default=default,
            description=description,
            allowed_pattern=pattern,
            max_length=max_length,
            constraint_description="empty, or one value as the top-level key takes it",
        )
        parameter.override_logical_id(name)  # the name ParameterOverrides use
        condition = CfnCondition(
            self,
            f"{name}IsSet",
            expression=Fn.condition_not(Fn.condition_equals(parameter.value_as_string, "")),
        )
        condition.override_logical_id(f"{name}IsSet")
        return _Slot(parameter, condition)

    def subscribe(self, topic: sns.ITopic) -> None:
        """An e-mail subscription per set slot."""
        for slot, email in enumerate(self._emails, start=1):
            subscription = sns.CfnSubscription(
                self,
                f"Email{slot}",
                protocol="email",
                endpoint=email.parameter.value_as_string,
                topic_arn=topic.topic_arn,
            )
            subscription.cfn_options.condition = email.is_set

    def admit_approvers(self, approval: lambda_.Function) -> None:
        """The approval function URL's permissions, a pair per set slot (function URLs
        created since October 2025 need both actions), and the APPROVERS list the function
        checks the caller against, from the same parameters."""
        for slot, approver in enumerate(self._approvers, start=1):
            # What grant_invoke_url writes for a principal, on the slot's condition.
            for name, action, how in (
                ("Url", "lambda:InvokeFunctionUrl", {"function_url_auth_type": "AWS_IAM"}),
                ("Function", "lambda:InvokeFunction", {"invoked_via_function_url": True}),
            ):
                permission = lambda_.CfnPermission(
                    self,
                    f"Approver{slot}InvokesThe{name}",
                    action=action,
                    function_name=approval.function_arn,
                    principal=approver.parameter.value_as_string,
                    **how,
                )
                permission.cfn_options.condition = approver.is_set
        quoted = [Fn.join("", ['"', a.parameter.value_as_string, '"']) for a in self._approvers]
        # Replaces the list the functions construct wrote from the (emptied) configuration.
        approval.add_environment("APPROVERS", Fn.join("", ["[", Fn.join(",", quoted), "]"]))
