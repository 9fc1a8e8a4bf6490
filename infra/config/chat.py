"""The chat keys: a Slack channel (workspace and channel IDs) or a Microsoft Teams channel
(team, channel and tenant IDs) that Amazon Q Developer in chat applications (formerly AWS
Chatbot) posts the notification topic's messages to. Empty (the default): no chat.

Each ID is checked against the pattern CloudFormation checks it with
(AWS::Chatbot::SlackChannelConfiguration, AWS::Chatbot::MicrosoftTeamsChannelConfiguration), so a
typo stops the synth naming the key rather than failing the deploy half-way.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from infra.config.declaration import UpdaterConfig

SLACK_WORKSPACE_ID = re.compile(r"[0-9A-Z]{1,255}")
SLACK_CHANNEL_ID = re.compile(r"[A-Za-z0-9]{1,255}")
_UUID = r"[0-9A-Fa-f]{8}(?:-[0-9A-Fa-f]{4}){3}-[0-9A-Fa-f]{12}"
TEAMS_TEAM_ID = re.compile(_UUID)
TEAMS_TENANT_ID = re.compile(_UUID)
# A channel's ID as the Teams link to it holds it, URL-encoded: 19%3a...%40thread.tacv2
TEAMS_CHANNEL_ID = re.compile(
    r"[a-zA-Z0-9\-_=+/.,]*%3[aA][a-zA-Z0-9\-_=+/.,]*%40[a-zA-Z0-9\-_=+/.,]*"
)
TEAMS_CHANNEL_ID_MAX = 256

SLACK_KEYS = ("slackWorkspaceId", "slackChannelId")
TEAMS_KEYS = ("teamsTeamId", "teamsChannelId", "teamsTenantId")


def id_rule(
    pattern: re.Pattern[str], rule: str, max_length: int = 255
) -> Callable[[str], Iterator[str]]:
    """Empty, or an ID matching `pattern` (`rule` in words)."""

    def problems(value: str) -> Iterator[str]:
        if value and (len(value) > max_length or not pattern.fullmatch(value)):
            yield f"{value!r} must be {rule}"

    return problems


def chat_problems(config: UpdaterConfig) -> Iterator[str]:
    """A channel is named whole or not at all: half a Slack or Teams channel is a typo."""
    for keys, values in (
        (SLACK_KEYS, (config.slack_workspace_id, config.slack_channel_id)),
        (TEAMS_KEYS, (config.teams_team_id, config.teams_channel_id, config.teams_tenant_id)),
    ):
        unset = [key for key, value in zip(keys, values, strict=True) if not value]
        if unset and len(unset) < len(keys):
            yield (
                f"{', '.join(keys)}: set all of them or none ({', '.join(unset)} "
                f"{'is' if len(unset) == 1 else 'are'} empty)"
            )
