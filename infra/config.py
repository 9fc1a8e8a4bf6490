"""The updater's configuration: read from CDK context, checked before anything is synthesized.

Defaults live only in cdk.json. The CDK CLI merges them into the app's context, but code that
builds an App in-process (tests, tools) never sees cdk.json, so `load_config` falls back to it
itself. Values given with `cdk deploy -c key=value` arrive as strings and are parsed here.
"""

from __future__ import annotations

import difflib
import itertools
import json
import re
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from functools import cache
from importlib import resources
from pathlib import Path
from types import MappingProxyType
from typing import Any, NamedTuple

from image_updater.domain import naming
from image_updater.rollout.window import (
    CRON_FIELDS,
    FIELD_NAMES,
    IMMEDIATELY,
    UNSUPPORTED_FORMS,
    WindowError,
    cron_item,
    cron_value,
    unsupported_form,
)
from infra import approvers
from infra.firing import never_firing_problems

CDK_JSON = Path(__file__).resolve().parent.parent / "cdk.json"

# Context key -> UpdaterConfig field, in the order of cdk.json and the README's table.
KEYS: Mapping[str, str] = MappingProxyType(
    {
        "imageNames": "image_names",
        "notificationEmails": "notification_emails",
        "scheduleExpression": "schedule_expression",
        "scheduleTimezone": "schedule_timezone",
        "pollIntervalMinutes": "poll_interval_minutes",
        "maxUpdateHours": "max_update_hours",
        "maxConcurrentUpdates": "max_concurrent_updates",
        "notifyNoUpdate": "notify_no_update",
        "newImageTags": "new_image_tags",
        "scheduleEnabled": "schedule_enabled",
        "logRetentionDays": "log_retention_days",
        "logExecutionData": "log_execution_data",
        "keepImages": "keep_images",
        "maxConsecutiveFailedRuns": "max_consecutive_failed_runs",
        "canarySoakHours": "canary_soak_hours",
        "canaryAlarmNames": "canary_alarm_names",
        "requireApproval": "require_approval",
        "approvalTimeoutHours": "approval_timeout_hours",
        "rolloutWindow": "rollout_window",
        "allowUntestedProduction": "allow_untested_production",
        "rollbackImageAccounts": "rollback_image_accounts",
        "approvers": "approvers",
    }
)

KEY_DOCS: dict[str, str] = {
    "imageNames": "images to keep updated (the roots of their lineages)",
    "notificationEmails": "addresses subscribed to the notification topic",
    "scheduleExpression": "EventBridge Scheduler `cron(...)` or `rate(...)` expression",
    "scheduleTimezone": "IANA time zone of the schedule",
    "pollIntervalMinutes": "minutes between status checks of an update (1 to 60)",
    "maxUpdateHours": "give up on an update (and say so) after this many hours (1 to 72)",
    "maxConcurrentUpdates": "images updated at the same time (AppStream quota; 1 to 20)",
    "notifyNoUpdate": "also e-mail when no update was available",
    "newImageTags": "extra tags for every new image (JSON object of strings)",
    "scheduleEnabled": "whether the schedule starts runs (false pauses it)",
    "logRetentionDays": "days CloudWatch Logs keeps the functions' and workflow's logs",
    "logExecutionData": "include state input and output in the workflow's logs",
    "keepImages": (
        "AVAILABLE images the updater built that it keeps per lineage; older ones are deleted "
        "after each update that settles (ready or failed) unless protected "
        "(0 to 5; 0 never deletes)"
    ),
    "maxConsecutiveFailedRuns": (
        "scheduled runs failing in a row that pause the schedule (one e-mail; resume with "
        '`make run-now ARGS="--resume-schedule"`; 0 to 10; 0 never pauses)'
    ),
    "canarySoakHours": (
        "hours canary fleets run the new image before their health check (0 to 168; "
        "0 checks at once)"
    ),
    "canaryAlarmNames": (
        "CloudWatch alarms that must be OK after the soak (a missing alarm or INSUFFICIENT_DATA "
        "counts as unhealthy; at most 100)"
    ),
    "requireApproval": (
        'wait for an approver\'s yes (`make run-now ARGS="approve <execution> --image <root>"`, '
        "one of `approvers`) before production fleets get the image"
    ),
    "approvalTimeoutHours": (
        "hours an approval is waited for; then production is left as it was (1 to 720)"
    ),
    "rolloutWindow": (
        "when production fleets may get the image: `immediately`, or the start times of a "
        "`cron(...)` expression in scheduleTimezone (no L, W or # forms)"
    ),
    "allowUntestedProduction": (
        "with no canary fleet tagged and requireApproval=false, production fleets still get "
        "each new image, untested (default: held back with an e-mail)"
    ),
    "rollbackImageAccounts": (
        "AWS account IDs whose images shared with this account fleets may be put on (a "
        "rollback to a shared image); UpdateFleet is otherwise limited to this account's "
        "images and AWS's public ones"
    ),
    "approvers": (
        "IAM role or user ARNs who may approve or reject a roll-out (through the approval "
        "function's IAM-authenticated URL; a role covers its sessions; at most 10; empty: "
        "nobody can approve)"
    ),
}

IMAGE_NAMES_MAX = 25
POLL_INTERVAL_MINUTES = range(1, 61)
MAX_UPDATE_HOURS = range(1, 73)
MAX_CONCURRENT_UPDATES = range(1, 21)
KEEP_IMAGES = range(6)
MAX_CONSECUTIVE_FAILED_RUNS = range(11)
CANARY_SOAK_HOURS = range(169)
APPROVAL_TIMEOUT_HOURS = range(1, 721)
# DescribeAlarms takes at most 100 AlarmNames; each name is 1 to 255 characters.
CANARY_ALARM_NAMES_MAX = 100
ALARM_NAME_LENGTH = range(1, 256)
NEW_IMAGE_TAGS_MAX = naming.TAGS_MAX - len(naming.RESERVED_TAG_KEYS)
# The values CloudWatch Logs accepts for a log group's retention.
LOG_RETENTION_DAYS = (
    *(1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731),
    *(1096, 1827, 2192, 2557, 2922, 3288, 3653),
)
EMAIL_MAX = 254

_EMAIL = re.compile(
    r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~.-]{1,64}"
    r"@(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z]{2,63}"
)
_INTEGER = re.compile(r"-?[0-9]+")
# CloudWatch alarm names are UTF-8 without ASCII control characters.
_ASCII_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_RATE = re.compile(r"rate\((?P<count>[0-9]+) (?P<unit>[a-z]+)\)")
_RATE_UNIT_MINUTES = {"minute": 1, "hour": 60, "day": 24 * 60}
_CRON = re.compile(r"cron\((?P<fields>.*)\)")
_MONTHS = "|".join(CRON_FIELDS["month"].names)
_WEEKDAYS = "|".join(CRON_FIELDS["day-of-week"].names)
# EventBridge Scheduler's cron: which wildcards each field accepts.
_CRON_FIELDS = {
    "minutes": re.compile(r"[0-9,*/-]+"),
    "hours": re.compile(r"[0-9,*/-]+"),
    "day-of-month": re.compile(r"[0-9,*/?LW-]+"),
    "month": re.compile(rf"(?:[0-9,*/-]|{_MONTHS})+", re.IGNORECASE),
    "day-of-week": re.compile(rf"(?:[0-9,*?L#-]|{_WEEKDAYS})+", re.IGNORECASE),
    "year": re.compile(r"[0-9,*/-]+"),
}

# The values each field takes and their grammar (`*`, `v`, `a-b`, `/step`, lists) are shared
# with the roll-out window's evaluator in Lambda: image_updater.rollout.window.

# The forms that name no fixed values and must be their field's only value: '?' (any day);
# day-of-month L (last day), LW (last weekday), L-n (n days before the last; undocumented, but
# AWS support confirms it is intended), nW (weekday nearest day n); day-of-week L (Saturday),
# dL (the month's last weekday d), d#n (its nth weekday d).
_CRON_SPECIALS: Mapping[str, re.Pattern[str]] = MappingProxyType(
    {
        "day-of-month": re.compile(r"\?|LW?|L-(?P<before_last>[0-9]+)|(?P<day>[0-9]+)W"),
        "day-of-week": re.compile(
            rf"\?|L|(?P<day>[0-9]+|{_WEEKDAYS})(?:L|#(?P<nth>[0-9]+))", re.IGNORECASE
        ),
    }
)
_CRON_BEFORE_LAST = range(1, 31)
_CRON_NTH_WEEKDAY = range(1, 6)
_MINUTES_PER_DAY = 24 * 60
# Runs closer than this overlap: rate() and cron() alike.
_MIN_RUN_SPACING_MINUTES = 60


class ConfigError(ValueError):
    """Every problem found in the configuration, one line each, in the order of KEYS."""

    def __init__(self, problems: Iterable[str]) -> None:
        self.problems = tuple(problems)
        super().__init__("\n".join(self.problems))


@dataclass(frozen=True)
class UpdaterConfig:
    image_names: tuple[str, ...]
    notification_emails: tuple[str, ...]
    schedule_expression: str
    schedule_timezone: str
    poll_interval_minutes: int
    max_update_hours: int
    max_concurrent_updates: int
    notify_no_update: bool
    # A read-only MappingProxyType. Mapping proxies are not hashable, so the tags are left out of
    # the hash (equal configs still hash equal); pass dict(...) of it to JSON or to CDK.
    new_image_tags: Mapping[str, str] = field(hash=False)
    schedule_enabled: bool
    log_retention_days: int
    log_execution_data: bool
    keep_images: int
    max_consecutive_failed_runs: int
    canary_soak_hours: int
    canary_alarm_names: tuple[str, ...]
    require_approval: bool
    approval_timeout_hours: int
    rollout_window: str  # IMMEDIATELY or a cron(...) expression in schedule_timezone
    allow_untested_production: bool
    rollback_image_accounts: tuple[str, ...]
    approvers: tuple[str, ...] = ()  # IAM role or user ARNs (infra/approvers.py)

    @property
    def max_polls(self) -> int:
        """Status checks of one update before the workflow gives up on it."""
        return -(-self.max_update_hours * 60 // self.poll_interval_minutes)


def config_warnings(config: UpdaterConfig) -> dict[str, str]:
    """Valid settings that are probably a mistake: warning id -> message, for the synth to show."""
    warnings: dict[str, str] = {}
    if not config.notification_emails:
        warnings["AppStreamImageUpdater:notificationEmailsEmpty"] = (
            "notificationEmails is empty: no one is subscribed to the notification topic, so "
            "nobody learns of new images or failed updates. Add an address with "
            "-c notificationEmails=a@example.com or in cdk.json's context, then confirm the "
            "subscription from the e-mail SNS sends: nothing is delivered until it is confirmed."
        )
    warnings.update(approvers.approval_warnings(config))
    return warnings


def cdk_json_context() -> dict[str, Any]:
    """The configuration defaults in cdk.json (its context without the feature flags)."""
    return {key: value for key, value in _cdk_json_full_context().items() if key in KEYS}


def cdk_json_feature_flags() -> dict[str, Any]:
    """cdk.json's feature flags, for apps built in-process to synthesize as the CLI would."""
    return {key: value for key, value in _cdk_json_full_context().items() if key not in KEYS}


def _cdk_json_full_context() -> dict[str, Any]:
    if not CDK_JSON.exists():
        return {}
    context: dict[str, Any] = json.loads(CDK_JSON.read_text(encoding="utf-8")).get("context", {})
    return context


def load_config(context: Mapping[str, Any] | Callable[[str], Any]) -> UpdaterConfig:
    """Parse and check the configuration; `context` is a mapping or `app.node.try_get_context`.

    Keys the context lacks (None) take their value from cdk.json. Raises ConfigError listing
    every problem, so one synth shows all of them.
    """
    lookup = context.get if isinstance(context, Mapping) else context
    defaults = cdk_json_context()
    values: dict[str, Any] = {}
    problems: list[str] = []
    for key, reader in _READERS.items():
        raw = lookup(key)
        if raw is None:
            raw = defaults.get(key)
        if raw is None:
            problems.append(f"{key}: missing (set it in cdk.json or with -c {key}=...)")
            continue
        try:
            value = reader.parse(raw)
        except _Unparsable as rule:
            problems.append(f"{key}: {raw!r} {rule}")
            continue
        found = list(reader.check(value))
        problems.extend(f"{key}: {problem}" for problem in found)
        values[KEYS[key]] = value
    if problems:
        raise ConfigError(problems)
    # pollIntervalMinutes <= maxUpdateHours * 60 needs no check: the two ranges imply it.
    config = UpdaterConfig(**values)
    problems.extend(_history_problems(config))
    problems.extend(approvers.approval_problems(config))
    if problems:
        raise ConfigError(problems)
    return config


# --- keys that are not settings -----------------------------------------------------------------

# Context keys that belong to the CDK, not to this app: feature flags (`@aws-cdk/...`), the
# settings the CLI passes to every app (`aws:cdk:enable-path-metadata`, `aws:cdk:bundling-stacks`,
# ...), the CLI's own records in cdk.context.json (`cdk acknowledge`, `cdk cli-telemetry`) and
# cached lookups, keyed `<provider>:<query>` (aws-cdk-lib's cloud_assembly_schema.ContextProvider).
CDK_KEY_PREFIXES = ("@", "aws:cdk:")
CDK_CLI_KEYS = frozenset({"acknowledged-issue-numbers", "cli-telemetry"})
CDK_LOOKUP_PROVIDERS = frozenset(
    {
        *("ami", "availability-zones", "hosted-zone", "ssm", "vpc-provider"),
        *("endpoint-service-availability-zones", "load-balancer", "load-balancer-listener"),
        *("security-group", "key-provider", "cc-api-provider", "plugin"),
    }
)


def is_cdk_context_key(key: str) -> bool:
    """Whether a context key is the CDK's own (the CLI and aws-cdk-lib read it, not this app)."""
    provider, colon, _query = key.partition(":")
    return (
        key.startswith(CDK_KEY_PREFIXES)
        or key in CDK_CLI_KEYS
        or bool(colon and provider in CDK_LOOKUP_PROVIDERS)
    )


def unknown_key_problems(keys: Iterable[str]) -> list[str]:
    """One problem per context key that is neither a setting nor the CDK's, naming the closest.

    Without this a misspelled key (`-c imageName=Foo`) is ignored and the stack deploys with
    cdk.json's value instead.
    """
    folded = {known.casefold(): known for known in KEYS}
    problems = []
    for key in keys:
        if key in KEYS or is_cdk_context_key(key):
            continue
        close = difflib.get_close_matches(key.casefold(), folded, n=1)
        hint = (
            f"did you mean {folded[close[0]]}?" if close else f"the settings are {', '.join(KEYS)}"
        )
        problems.append(f"{key}: unknown key, {hint}")
    return problems


def load_app_config(context: Mapping[str, Any], now: datetime | None = None) -> UpdaterConfig:
    """`load_config` for an app's whole context (`app.node.get_all_context()`).

    Also refuses unknown keys; their problems come first, then the values' (one synth shows all).
    And cron expressions that no longer fire (infra/firing.py): that depends on the day the
    synth runs (`now`), so it is checked here rather than among load_config's timeless rules.
    """
    unknown = unknown_key_problems(context)
    try:
        config = load_config(context)
    except ConfigError as error:
        raise ConfigError([*unknown, *error.problems]) from None
    never = list(
        never_firing_problems(
            config.schedule_expression, config.rollout_window, config.schedule_timezone, now
        )
    )
    if unknown or never:
        raise ConfigError([*unknown, *never])
    return config


# Step Functions keeps at most 25,000 events in one execution's history; past that the run
# fails outright, without the per-image e-mails. Measured on the synthesized workflow: a
# status check is 9 events (Wait 2, Lambda task 5, Choice 2); everything else an image's
# branch does, with a margin for retries, stays under 150; the run's own steps under 50.
HISTORY_EVENTS_MAX = 25_000
EVENTS_PER_STATUS_CHECK = 9
EVENTS_PER_IMAGE = 150
EVENTS_PER_RUN = 50
# An image's roll-out to fleets (canary, soak, approval, window, production): 83 events measured
# on the whole path (`make rehearse ARGS=rollout`); the margin covers about 30 retries of its
# steps (about four events each). The soak, the approval and the window are single waits.
# (25 images at the default polling fit exactly: 25 x (72 x 9 + 150 + 200) + 50 = 25,000.)
EVENTS_PER_ROLLOUT = 200


def history_events(config: UpdaterConfig) -> int:
    """The most history events one run of this configuration can need."""
    per_image = EVENTS_PER_STATUS_CHECK * config.max_polls + EVENTS_PER_IMAGE + EVENTS_PER_ROLLOUT
    return EVENTS_PER_RUN + len(config.image_names) * per_image


def _history_problems(config: UpdaterConfig) -> Iterator[str]:
    needed = history_events(config)
    if needed <= HISTORY_EVENTS_MAX:
        return
    images = len(config.image_names)
    yield (
        "maxUpdateHours, pollIntervalMinutes, imageNames: one run could need "
        f"{needed:,} history events, over Step Functions' limit of {HISTORY_EVENTS_MAX:,} "
        f"per execution ({images} image{'s' if images > 1 else ''} x "
        f"({config.max_polls} status checks (maxUpdateHours {config.max_update_hours} x 60 / "
        f"pollIntervalMinutes {config.poll_interval_minutes}) x {EVENTS_PER_STATUS_CHECK} "
        f"events + {EVENTS_PER_IMAGE + EVENTS_PER_ROLLOUT}) + {EVENTS_PER_RUN}); the run "
        "would fail without "
        "e-mailing its images. Check less often (raise pollIntervalMinutes), wait less "
        "(lower maxUpdateHours)."
    )


# --- parsing: native JSON values (cdk.json) or strings (-c key=value) ---------------------------


class _Unparsable(ValueError):
    """The value is not of the key's type; its message is the rule."""


def _as_int(raw: object) -> int:
    if isinstance(raw, bool):
        raise _Unparsable("must be an integer, not a boolean")
    if isinstance(raw, int):
        return raw
    if isinstance(raw, float) and raw.is_integer():
        return int(raw)
    if isinstance(raw, str) and _INTEGER.fullmatch(raw.strip()):
        return int(raw.strip())
    raise _Unparsable("must be an integer")


def _as_bool(raw: object) -> bool:
    if isinstance(raw, bool):
        return raw
    if isinstance(raw, str) and raw.strip().lower() in ("true", "false"):
        return raw.strip().lower() == "true"
    raise _Unparsable("must be true or false")


def _as_str(raw: object) -> str:
    if isinstance(raw, str):
        return raw.strip()
    raise _Unparsable("must be a string")


def _as_str_list(raw: object) -> tuple[str, ...]:
    rule = "must be a list of strings: a JSON list or comma-separated"
    if isinstance(raw, str):
        if not raw.strip().startswith("["):
            return tuple(item.strip() for item in raw.split(",") if item.strip())
        try:
            raw = json.loads(raw)
        except json.JSONDecodeError:
            raise _Unparsable(f"{rule} (invalid JSON)") from None
    if isinstance(raw, list | tuple) and all(isinstance(item, str) for item in raw):
        return tuple(raw)
    raise _Unparsable(rule)


def _as_window(raw: object) -> str:
    text = _as_str(raw)
    return IMMEDIATELY if text.lower() == IMMEDIATELY else text


def _as_tags(raw: object) -> Mapping[str, str]:
    rule = "must be a JSON object whose values are strings"
    if isinstance(raw, str):
        if not raw.strip():
            return MappingProxyType({})
        try:
            raw = json.loads(raw)
        except json.JSONDecodeError:
            raise _Unparsable(f"{rule} (invalid JSON)") from None
    if isinstance(raw, Mapping) and all(
        isinstance(key, str) and isinstance(value, str) for key, value in raw.items()
    ):
        return MappingProxyType(dict(raw))
    raise _Unparsable(rule)


# --- rules: each yields "<offending value> <rule>" -----------------------------------------------


def _image_names_problems(names: tuple[str, ...]) -> Iterator[str]:
    if not names:
        yield f"{list(names)!r} must name at least one image"
    if len(names) > IMAGE_NAMES_MAX:
        yield f"{len(names)} names, at most {IMAGE_NAMES_MAX} allowed"
    for name in names:
        problem = naming.image_name_problem(name)
        if problem:
            yield f"{name!r} {problem}"
    yield from _duplicates(names)
    valid = [name for name in dict.fromkeys(names) if naming.image_name_problem(name) is None]
    yield from _lineage_overlaps(valid)


def _duplicates(items: Iterable[str], *, fold_case: bool = False) -> Iterator[str]:
    seen: set[str] = set()
    for item in items:
        identity = item.lower() if fold_case else item
        if identity in seen:
            yield f"{item!r} is listed more than once"
        seen.add(identity)


def _lineage_overlaps(roots: list[str]) -> Iterator[str]:
    # Lineages are told apart by derived names; two roots must never claim the same names.
    for index, root in enumerate(roots):
        for other in roots[index + 1 :]:
            if naming.lineage_prefix(root) == naming.lineage_prefix(other):
                prefix = naming.lineage_prefix(root)
                yield f"{root!r} and {other!r} share the new-image name prefix {prefix!r}"
        for other in roots:
            if naming.is_derived_name(other, root):
                yield f"{root!r} is a name the updater derives from {other!r}"


def _email_problems(emails: tuple[str, ...]) -> Iterator[str]:
    for email in emails:
        if len(email) > EMAIL_MAX or not _EMAIL.fullmatch(email):
            yield f"{email!r} must be an e-mail address like name@example.com"
    # SNS would send twice to addresses that differ only in case.
    yield from _duplicates(emails, fold_case=True)


def _schedule_problems(expression: str) -> Iterator[str]:
    rate = _RATE.fullmatch(expression)
    cron = _CRON.fullmatch(expression)
    if rate:
        yield from _rate_problems(expression, int(rate["count"]), rate["unit"])
    elif cron:
        yield from _cron_problems(expression, cron["fields"].split(" "), for_schedule=True)
    else:
        yield f"{expression!r} must be 'rate(N unit)' or 'cron(minutes hours dom month dow year)'"


def _rate_problems(expression: str, count: int, unit: str) -> Iterator[str]:
    singular = unit.removesuffix("s")
    if singular not in _RATE_UNIT_MINUTES:
        yield f"{expression!r} unit must be minute(s), hour(s) or day(s)"
    elif count < 1:
        yield f"{expression!r} must count a positive number of {unit}"
    elif (unit == singular) != (count == 1):
        expected = singular if count == 1 else singular + "s"
        yield f"{expression!r} must say {expected!r} for {count}"
    elif count * _RATE_UNIT_MINUTES[singular] < _MIN_RUN_SPACING_MINUTES:
        yield (
            f"{expression!r} must be at least 1 hour apart: a run would start before "
            "the previous one has checked in on its images"
        )


def _cron_problems(expression: str, fields: list[str], *, for_schedule: bool) -> Iterator[str]:
    """The schedule's checks, or (for_schedule False) a roll-out window's: no run spacing, and
    none of the L, W and # forms, which the window's evaluator in Lambda does not implement."""
    if len(fields) != len(FIELD_NAMES):
        layout = " ".join(FIELD_NAMES)
        yield f"{expression!r} must have 6 fields ({layout}), not {len(fields)}"
        return
    cron = dict(zip(FIELD_NAMES, fields, strict=True))
    if (cron["day-of-month"] == "?") == (cron["day-of-week"] == "?"):
        yield f"{expression!r} must have '?' in exactly one of day-of-month and day-of-week"
    selected: dict[str, frozenset[int]] = {}
    for name, value in cron.items():
        if not _CRON_FIELDS[name].fullmatch(value):
            yield f"{expression!r} has characters not allowed in its {name} field: {value!r}"
            continue
        values, problems = _cron_field(name, value, special_forms=for_schedule)
        yield from (f"{expression!r} {problem}" for problem in problems)
        if not problems:
            selected[name] = values
    if for_schedule and "minutes" in selected and "hours" in selected:
        gap = _smallest_cron_gap(selected["minutes"], selected["hours"])
        if gap < _MIN_RUN_SPACING_MINUTES:
            yield (
                f"{expression!r} starts runs {gap} minute{'s' if gap != 1 else ''} apart; they "
                "must be at least 1 hour apart: a run would start before the previous one has "
                "checked in on its images"
            )


def _cron_field(
    name: str, text: str, *, special_forms: bool
) -> tuple[frozenset[int], tuple[str, ...]]:
    """The values a cron field selects, and a problem for each comma-separated item."""
    items = text.split(",")
    values: set[int] = set()
    problems: list[str] = []
    for item in items:
        try:
            values.update(
                _cron_item(name, item, alone=len(items) == 1, special_forms=special_forms)
            )
        except WindowError as rule:
            problems.append(f"has {item!r} in its {name} field: {rule}")
    return frozenset(values), tuple(problems)


def _cron_item(name: str, item: str, *, alone: bool, special_forms: bool) -> range:
    """The values one item selects: `*`, `v`, `a-b`, each optionally `/step`, or a special.

    Raises WindowError (the shared grammar's error) naming the rule the item breaks.
    """
    if not special_forms and unsupported_form(name, item):
        raise WindowError(UNSUPPORTED_FORMS)
    special = _CRON_SPECIALS[name].fullmatch(item) if name in _CRON_SPECIALS else None
    if not special:
        return cron_item(name, item)
    if not alone:
        raise WindowError("'?', 'L', 'W' and '#' forms must be the field's only value")
    found = special.groupdict()
    if found.get("day") is not None:
        cron_value(CRON_FIELDS[name], found["day"])
    if found.get("before_last") is not None:
        before_last = int(found["before_last"])
        if before_last not in _CRON_BEFORE_LAST:
            most = _CRON_BEFORE_LAST.stop - 1
            raise WindowError(
                f"L-{before_last}: days before the month's last must be between 1 and {most}"
            )
    if found.get("nth") is not None:
        nth = int(found["nth"])
        if nth not in _CRON_NTH_WEEKDAY:
            most = _CRON_NTH_WEEKDAY.stop - 1
            raise WindowError(
                f"#{nth}: the weekday's occurrence in the month must be between 1 and {most}"
            )
    return range(0)  # these select days; only minutes and hours are counted


def _smallest_cron_gap(minutes: frozenset[int], hours: frozenset[int]) -> int:
    """Minutes between the two closest runs of a cron expression with these minutes and hours.

    The day fields can only remove runs, so they widen gaps, except that the last run of one
    day is followed by the first of the next: assume every day fires and count that wrap too.
    """
    runs = sorted(hour * 60 + minute for hour in hours for minute in minutes)
    wrap = runs[0] + _MINUTES_PER_DAY - runs[-1]
    return min([wrap, *(later - earlier for earlier, later in itertools.pairwise(runs))])


def _rollout_window_problems(expression: str) -> Iterator[str]:
    if expression == IMMEDIATELY:
        return
    cron = _CRON.fullmatch(expression)
    if cron:
        yield from _cron_problems(expression, cron["fields"].split(" "), for_schedule=False)
    else:
        layout = " ".join(FIELD_NAMES)
        yield f"{expression!r} must be {IMMEDIATELY!r} or 'cron({layout})'"


def _alarm_names_problems(names: tuple[str, ...]) -> Iterator[str]:
    if len(names) > CANARY_ALARM_NAMES_MAX:
        yield (
            f"{len(names)} names, at most {CANARY_ALARM_NAMES_MAX} allowed "
            f"(DescribeAlarms takes at most {CANARY_ALARM_NAMES_MAX} AlarmNames)"
        )
    for name in names:
        if len(name) not in ALARM_NAME_LENGTH or not _is_utf8(name) or _ASCII_CONTROL.search(name):
            yield (
                f"{name!r} must be a CloudWatch alarm name: 1 to 255 UTF-8 characters, "
                "no control characters"
            )
    yield from _duplicates(names)


_ACCOUNT_ID = re.compile(r"[0-9]{12}")


def _account_ids_problems(accounts: tuple[str, ...]) -> Iterator[str]:
    for account in accounts:
        if not _ACCOUNT_ID.fullmatch(account):
            yield f"{account!r} must be an AWS account ID: 12 digits"
    yield from _duplicates(accounts)


def _is_utf8(text: str) -> bool:
    # A JSON string may hold a lone surrogate (\ud800), which no UTF-8 name can.
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _timezone_problems(zone: str) -> Iterator[str]:
    if zone not in _known_timezones():
        yield f"{zone!r} must be an IANA time zone name such as 'Europe/Paris' or 'UTC'"


@cache
def _known_timezones() -> frozenset[str]:
    """The tz database's Zone and Link names (canonical zones and their backward links).

    Read from the pinned `tzdata` package's own list rather than zoneinfo.available_timezones(),
    which lists whatever files the machine's zoneinfo directories hold: `localtime` (a link to
    the machine's own setting) and, depending on the system, more that are not zones. The
    synth must not accept a name on one machine and refuse it on another. `Factory` is in the
    tz database but is its placeholder for "zone unknown" (abbreviation -00), not a place.
    """
    names = resources.files("tzdata").joinpath("zones").read_text(encoding="utf-8").split()
    return frozenset(names) - {"Factory"}


def _within(bounds: range) -> Callable[[int], Iterator[str]]:
    def problems(number: int) -> Iterator[str]:
        if number not in bounds:
            yield f"{number!r} must be between {bounds.start} and {bounds.stop - 1}"

    return problems


def _tags_problems(tags: Mapping[str, str]) -> Iterator[str]:
    if len(tags) > NEW_IMAGE_TAGS_MAX:
        yield (
            f"{len(tags)} tags, at most {NEW_IMAGE_TAGS_MAX} allowed "
            f"(AppStream's {naming.TAGS_MAX} less the updater's own)"
        )
    for key, value in tags.items():
        problem = naming.tag_problem(key, value)
        if problem:
            pair = {key: value}
            yield f"{pair!r}: {problem}"


def _retention_problems(days: int) -> Iterator[str]:
    if days not in LOG_RETENTION_DAYS:
        allowed = ", ".join(map(str, LOG_RETENTION_DAYS))
        yield f"{days!r} must be one of CloudWatch Logs' retention periods: {allowed}"


def _no_problems(_value: object) -> Iterator[str]:
    return iter(())


class _Reader(NamedTuple):
    parse: Callable[[object], Any]
    check: Callable[[Any], Iterable[str]]


_READERS: dict[str, _Reader] = {
    "imageNames": _Reader(_as_str_list, _image_names_problems),
    "notificationEmails": _Reader(_as_str_list, _email_problems),
    "scheduleExpression": _Reader(_as_str, _schedule_problems),
    "scheduleTimezone": _Reader(_as_str, _timezone_problems),
    "pollIntervalMinutes": _Reader(_as_int, _within(POLL_INTERVAL_MINUTES)),
    "maxUpdateHours": _Reader(_as_int, _within(MAX_UPDATE_HOURS)),
    "maxConcurrentUpdates": _Reader(_as_int, _within(MAX_CONCURRENT_UPDATES)),
    "notifyNoUpdate": _Reader(_as_bool, _no_problems),
    "newImageTags": _Reader(_as_tags, _tags_problems),
    "scheduleEnabled": _Reader(_as_bool, _no_problems),
    "logRetentionDays": _Reader(_as_int, _retention_problems),
    "logExecutionData": _Reader(_as_bool, _no_problems),
    "keepImages": _Reader(_as_int, _within(KEEP_IMAGES)),
    "maxConsecutiveFailedRuns": _Reader(_as_int, _within(MAX_CONSECUTIVE_FAILED_RUNS)),
    "canarySoakHours": _Reader(_as_int, _within(CANARY_SOAK_HOURS)),
    "canaryAlarmNames": _Reader(_as_str_list, _alarm_names_problems),
    "requireApproval": _Reader(_as_bool, _no_problems),
    "approvalTimeoutHours": _Reader(_as_int, _within(APPROVAL_TIMEOUT_HOURS)),
    "approvers": _Reader(_as_str_list, approvers.approvers_problems),
    "rolloutWindow": _Reader(_as_window, _rollout_window_problems),
    "allowUntestedProduction": _Reader(_as_bool, _no_problems),
    "rollbackImageAccounts": _Reader(_as_str_list, _account_ids_problems),
}
