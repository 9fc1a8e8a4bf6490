"""The settings, each declared once: its context key, type, default, rule and description
(how a rule and a setting are made: infra/config/rules.py).

A setting is one field of UpdaterConfig (a frozen Pydantic dataclass). Its alias is the CDK
context key (`cdk.json`, `cdk deploy -c key=value`); its Annotated `Rule` reads the raw value and
checks it, and says the rule in the settings table's words; `setting(...)` gives the default and
the description. cdk.json's values are checked against these defaults (tests/unit), and the
settings table (rehearsal/docs.py `config_table`) is rendered from `SETTINGS` (table.py).

Pydantic only carries the values through: every problem is a line in this project's words,
raised as one PydanticCustomError per key (or per cross-key rule) and turned back into lines by
infra/config/loading.py, so Pydantic's own messages never reach the user.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated

from pydantic import ConfigDict, model_validator
from pydantic.dataclasses import dataclass
from pydantic_core import PydanticUndefined

from infra.approvers import APPROVERS_MAX, approval_problems, approvers_problems
from infra.config import chat, distribution, schedule, values
from infra.config.distribution import Share, as_shares
from infra.config.history import history_problems
from infra.config.organization import ALLOWED as ORGANIZATION_ALLOWED
from infra.config.organization import Organization, as_organization, organization_problems
from infra.config.parsing import as_int, as_str, as_tags, as_window
from infra.config.rules import FLAG, Names, Rule, between, broken, names, setting

_RETENTION_SHOWN = 12  # retention periods the table lists before "..."


@dataclass(
    frozen=True, kw_only=True, config=ConfigDict(validate_by_alias=True, validate_by_name=True)
)
class UpdaterConfig:
    """The updater's settings, in the order of cdk.json and the settings table."""

    image_names: Annotated[
        Names,
        names(
            values.image_names_problems,
            f"1 to {values.IMAGE_NAMES_MAX} image names, none derived from another",
        ),
    ] = setting(
        "imageNames", PydanticUndefined, "images to keep updated (the roots of their lineages)"
    )
    notification_emails: Annotated[
        Names,
        names(values.email_problems, "e-mail addresses, each once"),
    ] = setting("notificationEmails", (), "addresses subscribed to the notification topic")
    schedule_expression: Annotated[
        str,
        Rule(
            as_str,
            schedule.schedule_problems,
            "`rate(N unit)` or `cron(...)`, runs at least 1 hour apart",
        ),
    ] = setting(
        "scheduleExpression",
        "cron(0 3 * * ? *)",
        "EventBridge Scheduler `cron(...)` or `rate(...)` expression",
    )
    schedule_timezone: Annotated[
        str, Rule(as_str, values.timezone_problems, "an IANA time zone name")
    ] = setting("scheduleTimezone", "UTC", "IANA time zone of the schedule")
    poll_interval_minutes: Annotated[int, between(1, 60)] = setting(
        "pollIntervalMinutes", 10, "minutes between status checks of an update"
    )
    max_update_hours: Annotated[int, between(1, 72)] = setting(
        "maxUpdateHours", 12, "give up on an update (and say so) after this many hours"
    )
    max_concurrent_updates: Annotated[int, between(1, 20)] = setting(
        "maxConcurrentUpdates", 2, "images updated at the same time (AppStream quota)"
    )
    notify_no_update: Annotated[bool, FLAG] = setting(
        "notifyNoUpdate", False, "also e-mail when no update was available"
    )
    new_image_tags: Annotated[
        Mapping[str, str],
        Rule(
            as_tags,
            values.tags_problems,
            f"at most {values.NEW_IMAGE_TAGS_MAX} tags; no `aws:` keys, none of the updater's",
        ),
    ] = setting("newImageTags", {}, "extra tags for every new image (JSON object of strings)")
    schedule_enabled: Annotated[bool, FLAG] = setting(
        "scheduleEnabled", True, "whether the schedule starts runs (false pauses it)"
    )
    log_retention_days: Annotated[
        int,
        Rule(
            as_int,
            values.retention_problems,
            "CloudWatch Logs' retention periods: "
            + ", ".join(map(str, values.LOG_RETENTION_DAYS[:_RETENTION_SHOWN]))
            + f", ... {values.LOG_RETENTION_DAYS[-1]}",
        ),
    ] = setting(
        "logRetentionDays", 90, "days CloudWatch Logs keeps the functions' and workflow's logs"
    )
    log_execution_data: Annotated[bool, FLAG] = setting(
        "logExecutionData",
        False,
        "include state input and output in the workflow's logs (not with requireApproval)",
    )
    keep_images: Annotated[int, between(0, 5)] = setting(
        "keepImages",
        2,
        (
            "AVAILABLE images the updater built that it keeps per lineage; older ones are "
            "deleted after each update that settles (ready or failed) unless protected "
            "(0 never deletes)"
        ),
    )
    max_consecutive_failed_runs: Annotated[int, between(0, 10)] = setting(
        "maxConsecutiveFailedRuns",
        3,
        (
            "scheduled runs failing in a row that pause the schedule (one e-mail; resume with "
            '`make run-now ARGS="--resume-schedule"`; 0 never pauses)'
        ),
    )
    canary_soak_hours: Annotated[int, between(0, 168)] = setting(
        "canarySoakHours",
        24,
        "hours canary fleets run the new image before their health check (0 checks at once)",
    )
    canary_alarm_names: Annotated[
        Names,
        names(
            values.alarm_names_problems,
            f"at most {values.CANARY_ALARM_NAMES_MAX} alarm names, each once",
        ),
    ] = setting(
        "canaryAlarmNames",
        (),
        (
            "CloudWatch alarms that must be OK after the soak (a missing alarm or "
            "INSUFFICIENT_DATA counts as unhealthy)"
        ),
    )
    require_approval: Annotated[bool, FLAG] = setting(
        "requireApproval",
        True,
        (
            "wait for an approver's yes (`make run-now ARGS=\"approve <execution> --image "
            '<root>"`, one of `approvers`) before production fleets get the image'
        ),
    )
    approval_timeout_hours: Annotated[int, between(1, 720)] = setting(
        "approvalTimeoutHours",
        72,
        "hours an approval is waited for; then production is left as it was",
    )
    rollout_window: Annotated[
        str,
        Rule(
            as_window,
            schedule.rollout_window_problems,
            "`immediately` or `cron(...)` without the L, W and # forms",
        ),
    ] = setting(
        "rolloutWindow",
        "immediately",
        (
            "when production fleets may get the image: `immediately`, or the start times of a "
            "`cron(...)` expression in scheduleTimezone"
        ),
    )
    allow_untested_production: Annotated[bool, FLAG] = setting(
        "allowUntestedProduction",
        False,
        (
            "with no canary fleet tagged and requireApproval=false, production fleets still "
            "get each new image, untested (default: held back with an e-mail)"
        ),
    )
    rollback_image_accounts: Annotated[
        Names,
        names(values.account_ids_problems, "12-digit AWS account IDs, each once"),
    ] = setting(
        "rollbackImageAccounts",
        (),
        (
            "AWS account IDs whose images shared with this account fleets may be put on (a "
            "rollback to a shared image); UpdateFleet is otherwise limited to this account's "
            "images and AWS's public ones"
        ),
    )
    approvers: Annotated[
        Names,
        names(
            approvers_problems,
            f"at most {APPROVERS_MAX} IAM role or user ARNs of one partition",
        ),
    ] = setting(
        "approvers",
        (),
        (
            "IAM role or user ARNs who may approve or reject a roll-out (through the approval "
            "function's IAM-authenticated URL; a role covers its sessions; empty: nobody can "
            "approve)"
        ),
    )
    # The spoke (infra/spoke/): set, this deployment rolls the hub's images out here.
    hub_account_id: Annotated[
        str,
        Rule(
            as_str,
            lambda account: values.account_ids_problems((account,) if account else ()),
            "empty, or a 12-digit AWS account ID",
        ),
    ] = setting(
        "hubAccountId",
        "",
        (
            "the account that builds and shares the images (the hub); set, this deployment is "
            "a spoke: it builds nothing and rolls each new image the hub shares with this "
            "account (or copies to this Region) out to its own tagged fleets"
        ),
    )
    copy_to_regions: Annotated[
        Names,
        names(
            distribution.copy_regions_problems,
            "AppStream Regions, each once, not the stack's own",
        ),
    ] = setting(
        "copyToRegions",
        (),
        (
            "Regions each new image is copied to (CopyImage, same name and description, the "
            "lineage tags re-applied) once it is ready and its roll-out here, if any, passed"
        ),
    )
    share_with_accounts: Annotated[
        tuple[Share, ...],
        Rule(
            as_shares,
            distribution.shares_problems,
            (
                'objects `{"accountId", "allowFleet", "allowImageBuilder", "regions"}`: '
                f"12-digit IDs, each once, at most {distribution.SHARED_ACCOUNTS_MAX} per Region"
            ),
        ),
    ] = setting(
        "shareWithAccounts",
        (),
        (
            "accounts each new image (and its copies) is shared with (UpdateImagePermissions), "
            "in the listed `regions` (the stack's Region and copyToRegions) or every one"
        ),
    )
    # Patch age (domain/patch_age.py): the dashboard's line and the PatchesTooOld alarm.
    max_patch_age_days: Annotated[int, between(0, 365)] = setting(
        "maxPatchAgeDays",
        0,
        (
            "alarm (e-mail to the topic) when a lineage's newest image was patched more than "
            "this many days ago: by the update that built it, or for the configured image by "
            "its base image's release (0: no alarm)"
        ),
    )

    # The organisation (infra/organization/): set, the app synthesizes the hub in each hub
    # Region and the spokes as a StackSet (rules: infra/config/organization.py).
    organization: Annotated[
        Organization | None, Rule(as_organization, organization_problems, ORGANIZATION_ALLOWED)
    ] = setting(
        "organization",
        None,
        (
            "one account and Region when null; set, the hub's stack in each of hubRegions of "
            "hubAccountId and a spoke in every account of spokeOrganizationalUnitIds (less the "
            "hub's) in each of spokeRegions, as a service-managed CloudFormation StackSet"
        ),
    )

    # Chat (infra/constructs/chat.py): a Slack or Microsoft Teams channel that Amazon Q
    # Developer in chat applications posts the topic's messages to; empty, no chat.
    slack_workspace_id: Annotated[
        str,
        Rule(
            as_str,
            chat.id_rule(chat.SLACK_WORKSPACE_ID, "a Slack workspace ID: capitals and digits"),
            "empty, or a Slack workspace ID (capitals and digits)",
        ),
    ] = setting(
        "slackWorkspaceId",
        "",
        (
            "the Slack workspace (team) ID, as the Amazon Q Developer in chat applications "
            "console shows it once the workspace is authorised there; with slackChannelId, "
            "the topic's messages are posted to that channel"
        ),
    )
    slack_channel_id: Annotated[
        str,
        Rule(
            as_str,
            chat.id_rule(chat.SLACK_CHANNEL_ID, "a Slack channel ID: letters and digits"),
            "empty, or a Slack channel ID (letters and digits)",
        ),
    ] = setting(
        "slackChannelId", "", "the Slack channel ID (its details show it), with slackWorkspaceId"
    )
    teams_team_id: Annotated[
        str,
        Rule(
            as_str,
            chat.id_rule(chat.TEAMS_TEAM_ID, "a Microsoft Teams team ID (a UUID)"),
            "empty, or a UUID",
        ),
    ] = setting(
        "teamsTeamId",
        "",
        (
            "the Microsoft Teams team ID; with teamsChannelId and teamsTenantId, the topic's "
            "messages are posted to that channel (the team is authorised once in the Amazon Q "
            "Developer in chat applications console)"
        ),
    )
    teams_channel_id: Annotated[
        str,
        Rule(
            as_str,
            chat.id_rule(
                chat.TEAMS_CHANNEL_ID,
                "a Microsoft Teams channel ID as its link holds it (URL-encoded: 19%3a...%40...)",
                chat.TEAMS_CHANNEL_ID_MAX,
            ),
            "empty, or a URL-encoded Teams channel ID (19%3a...%40thread.tacv2)",
        ),
    ] = setting("teamsChannelId", "", "the Microsoft Teams channel ID, URL-encoded as in its link")
    teams_tenant_id: Annotated[
        str,
        Rule(
            as_str,
            chat.id_rule(chat.TEAMS_TENANT_ID, "a Microsoft Teams tenant ID (a UUID)"),
            "empty, or a UUID",
        ),
    ] = setting("teamsTenantId", "", "the Microsoft Teams tenant ID, with teamsTeamId")

    @property
    def chat_configured(self) -> bool:
        """Whether a Slack or a Teams channel gets the topic's messages (then every e-mail is
        published with its chat form too)."""
        return bool(self.slack_channel_id or self.teams_channel_id)

    @model_validator(mode="after")
    def _chat_keys_agree(self) -> UpdaterConfig:
        problems = tuple(chat.chat_problems(self))
        if problems:
            raise broken(problems)
        return self

    @property
    def max_polls(self) -> int:
        """Status checks of one update before the workflow gives up on it."""
        return -(-self.max_update_hours * 60 // self.poll_interval_minutes)

    @property
    def distributes(self) -> bool:
        """Whether new images are copied or shared (infra/workflow/distribution.py)."""
        return bool(self.copy_to_regions or self.share_with_accounts)

    @model_validator(mode="after")
    def _keys_agree(self) -> UpdaterConfig:
        """Rules across keys, checked once every key passes its own.

        pollIntervalMinutes <= maxUpdateHours * 60 needs no check: the two ranges imply it.
        """
        problems = (
            *history_problems(self),
            *approval_problems(self),
            *distribution.distribution_problems(self),
            *distribution.history_problems(self),
        )
        if problems:
            raise broken(problems)
        return self
