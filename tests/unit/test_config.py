"""The configuration contract: cdk.json defaults, `-c key=value` strings, and every rule."""

from __future__ import annotations

import dataclasses
import itertools
import json
import string
from importlib import resources
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from image_updater.domain import naming
from image_updater.rollout.window import WindowError, parse_window
from infra import config
from infra.config import ConfigError, UpdaterConfig, context, history, load_config, values
from infra.config.distribution import Share
from infra.config.rules import Rule
from infra.config.table import SETTINGS
from tests.unit.test_organization_config import INVALID_ORGANIZATIONS

LONG_ROOT = "Img" + "x" * 90
TOO_LONG_EMAIL = "o@" + ".".join(["d" * 63] * 4) + ".com"  # each part valid, 261 in all


def problems_of(context: dict[str, Any]) -> tuple[str, ...]:
    with pytest.raises(ConfigError) as raised:
        load_config(context)
    return raised.value.problems


# --- defaults ------------------------------------------------------------------------------------


def test_defaults_come_from_cdk_json_and_are_valid() -> None:
    # Given the context in cdk.json
    defaults = json.loads(context.CDK_JSON.read_text())["context"]

    # When nothing overrides it
    loaded = load_config({})

    # Then every field holds cdk.json's value
    assert loaded.image_names == tuple(defaults["imageNames"])
    assert loaded.notification_emails == tuple(defaults["notificationEmails"])
    assert dict(loaded.new_image_tags) == defaults["newImageTags"]
    assert loaded.canary_alarm_names == tuple(defaults["canaryAlarmNames"])
    assert loaded.rollback_image_accounts == tuple(defaults["rollbackImageAccounts"])
    assert loaded.approvers == tuple(defaults["approvers"])
    assert loaded.copy_to_regions == tuple(defaults["copyToRegions"])
    assert [s.to_json() for s in loaded.share_with_accounts] == defaults["shareWithAccounts"]
    lists = {"imageNames", "notificationEmails", "newImageTags", "canaryAlarmNames", "approvers"}
    lists |= {"rollbackImageAccounts", "copyToRegions", "shareWithAccounts"}
    scalars = set(config.KEYS) - lists
    for key in scalars:
        assert getattr(loaded, config.KEYS[key]) == defaults[key], key


def test_cdk_json_has_a_default_for_every_key_and_keeps_feature_flags_apart() -> None:
    # Given / When cdk.json is read
    defaults = config.cdk_json_context()
    flags = config.cdk_json_feature_flags()

    # Then the configuration keys and the feature flags do not mix
    assert list(defaults) == list(config.KEYS)
    assert flags["@aws-cdk/core:checkSecretUsage"] is True
    assert not set(flags) & set(config.KEYS)


def test_keys_docs_and_fields_describe_the_same_settings() -> None:
    fields = [f.name for f in dataclasses.fields(UpdaterConfig)]
    key_docs = {row.key: row.description for row in SETTINGS}

    assert list(key_docs) == list(config.KEYS)
    assert list(config.KEYS.values()) == fields
    assert all(doc and "\n" not in doc for doc in key_docs.values())


def test_cdk_json_holds_the_declared_defaults() -> None:
    # Given cdk.json's settings and the declaration
    in_cdk_json = config.cdk_json_context()

    # When each is read as a configuration
    loaded = load_config({})
    declared = {row.key: row.default for row in SETTINGS}

    # Then cdk.json sets every key to its declared default, and the one key without a default
    # (the images: nothing sensible to guess) to its example
    assert [row.key for row in SETTINGS if row.default == "(required)"] == ["imageNames"]
    for row in SETTINGS:
        if row.default != "(required)":
            assert in_cdk_json[row.key] == declared[row.key], row.key
            assert getattr(loaded, row.field) == getattr(
                load_config({row.key: declared[row.key]}), row.field
            ), row.key


def test_every_setting_has_one_rule_and_integer_ranges_say_their_bounds() -> None:
    for name, info in UpdaterConfig.__pydantic_fields__.items():
        (rule,) = [item for item in info.metadata if isinstance(item, Rule)]
        if rule.bounds is not None:
            assert rule.allowed == f"{rule.bounds.start} to {rule.bounds.stop - 1}", name


def test_a_key_absent_from_context_and_cdk_json_is_reported_missing(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    # Given a cdk.json without imageNames, the one key the declaration has no default for
    partial = config.cdk_json_context()
    del partial["imageNames"]
    cdk_json = tmp_path / "cdk.json"
    cdk_json.write_text(json.dumps({"context": partial}))
    monkeypatch.setattr(context, "CDK_JSON", cdk_json)

    # When the context does not set it either
    problems = problems_of({})

    # Then
    assert problems == ("imageNames: missing (set it in cdk.json or with -c imageNames=...)",)


def test_a_key_absent_from_context_and_cdk_json_takes_its_declared_default(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    # Given a cdk.json without notifyNoUpdate and keepImages
    partial = config.cdk_json_context()
    del partial["notifyNoUpdate"], partial["keepImages"]
    cdk_json = tmp_path / "cdk.json"
    cdk_json.write_text(json.dumps({"context": partial}))
    monkeypatch.setattr(context, "CDK_JSON", cdk_json)

    # When the context does not set them either
    loaded = load_config({})

    # Then the declaration's defaults apply
    assert loaded.notify_no_update is False
    assert loaded.keep_images == 2


def test_reads_a_cdk_app_context() -> None:
    # Given an App whose context holds -c style strings
    import aws_cdk as cdk

    app = cdk.App(context={"imageNames": "ImgA,ImgB", "pollIntervalMinutes": "5"})

    # When
    loaded = load_config(app.node.try_get_context)

    # Then the overrides apply and the rest comes from cdk.json
    assert loaded.image_names == ("ImgA", "ImgB")
    assert loaded.poll_interval_minutes == 5
    assert loaded.max_update_hours == config.cdk_json_context()["maxUpdateHours"]


def test_max_polls_covers_the_whole_update_window() -> None:
    twelve_hours = dataclasses.replace(
        load_config({}), max_update_hours=12, poll_interval_minutes=10
    )
    one_hour = dataclasses.replace(twelve_hours, max_update_hours=1, poll_interval_minutes=7)

    assert twelve_hours.max_polls == 72
    assert one_hour.max_polls == 9


def test_config_is_immutable_and_hashable() -> None:
    # Given the same tags spelled two ways, and other tags
    loaded = load_config({"newImageTags": {"Team": "EUC"}})
    same = load_config({"newImageTags": '{"Team": "EUC"}'})
    other = load_config({"newImageTags": {"Team": "Ops"}})

    # When / Then equal configs hash equal, tags still count for equality, nothing can change
    assert loaded == same
    assert hash(loaded) == hash(same)
    assert loaded != other
    assert len({loaded, same, other}) == 2
    with pytest.raises(TypeError):
        loaded.new_image_tags["Team"] = "Other"  # type: ignore[index]
    with pytest.raises(dataclasses.FrozenInstanceError):
        loaded.image_names = ()  # type: ignore[misc]


# --- -c key=value string forms -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("key", "raw", "expected"),
    [
        ("imageNames", "ImgA,ImgB", ("ImgA", "ImgB")),
        ("imageNames", " ImgA , ,ImgB, ", ("ImgA", "ImgB")),
        ("imageNames", '["ImgA", "ImgB"]', ("ImgA", "ImgB")),
        ("imageNames", ["ImgA"], ("ImgA",)),
        (
            "notificationEmails",
            "ops@example.com,it@example.org",
            ("ops@example.com", "it@example.org"),
        ),
        ("notificationEmails", '["ops@example.com"]', ("ops@example.com",)),
        ("notificationEmails", "", ()),
        ("scheduleExpression", "rate(1 day)", "rate(1 day)"),
        ("scheduleExpression", "cron(30 2 ? * MON-FRI *)", "cron(30 2 ? * MON-FRI *)"),
        ("scheduleTimezone", "Europe/Paris", "Europe/Paris"),
        ("scheduleTimezone", " Asia/Tokyo ", "Asia/Tokyo"),
        ("pollIntervalMinutes", "10", 10),
        ("pollIntervalMinutes", " 15 ", 15),
        ("maxUpdateHours", 24.0, 24),
        ("maxConcurrentUpdates", "3", 3),
        ("notifyNoUpdate", "true", True),
        ("notifyNoUpdate", "TRUE", True),
        ("scheduleEnabled", "false", False),
        ("scheduleEnabled", "False", False),
        ("logExecutionData", True, True),
        ("keepImages", "0", 0),
        ("maxConsecutiveFailedRuns", "0", 0),
        ("maxConsecutiveFailedRuns", " 10 ", 10),
        ("maxConsecutiveFailedRuns", 3.0, 3),
        ("logRetentionDays", "365", 365),
        ("canarySoakHours", "0", 0),
        ("canarySoakHours", " 168 ", 168),
        ("canarySoakHours", 48.0, 48),
        ("canaryAlarmNames", "FleetErrors, Capacity low ,", ("FleetErrors", "Capacity low")),
        ("canaryAlarmNames", '["a,b", " padded "]', ("a,b", " padded ")),
        ("canaryAlarmNames", ["FleetErrors"], ("FleetErrors",)),
        ("canaryAlarmNames", "", ()),
        ("canaryAlarmNames", ["a" * 255], ("a" * 255,)),
        (
            "canaryAlarmNames",
            [f"Alarm{i}" for i in range(100)],
            tuple(f"Alarm{i}" for i in range(100)),
        ),
        ("canaryAlarmNames", ["Fleet", "fleet"], ("Fleet", "fleet")),  # names are case-sensitive
        ("requireApproval", "false", False),
        ("requireApproval", " TRUE ", True),
        ("requireApproval", False, False),
        ("approvalTimeoutHours", "1", 1),
        ("approvalTimeoutHours", "720", 720),
        ("rolloutWindow", "Immediately", "immediately"),
        ("rolloutWindow", " IMMEDIATELY ", "immediately"),
        ("rolloutWindow", "cron(0 22 ? * SAT *)", "cron(0 22 ? * SAT *)"),
        ("rolloutWindow", " cron(30 1 * * ? *) ", "cron(30 1 * * ? *)"),
    ],
)
def test_string_and_native_forms_parse(key: str, raw: object, expected: object) -> None:
    # When a key is given as cdk deploy -c would give it (execution data is logged only
    # without approvals: infra/approvers.py)
    context = {key: raw, **({"requireApproval": False} if key == "logExecutionData" else {})}
    loaded = load_config(context)

    # Then
    assert getattr(loaded, config.KEYS[key]) == expected


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ('{"Team": "EUC", "CostCenter": "1234"}', {"Team": "EUC", "CostCenter": "1234"}),
        ({"Team": "EUC"}, {"Team": "EUC"}),
        ("", {}),
        ("{}", {}),
    ],
)
def test_new_image_tags_parse(raw: object, expected: dict[str, str]) -> None:
    assert dict(load_config({"newImageTags": raw}).new_image_tags) == expected


# --- every rule ----------------------------------------------------------------------------------

REJECTED = [
    # (key, raw value, fragments the message must contain besides the key)
    ("imageNames", [], ["[]", "at least one image"]),
    ("imageNames", "", ["at least one image"]),
    ("imageNames", "AWSBase", ["'AWSBase'", "must not start with 'AWS' (reserved by AWS)"]),
    ("imageNames", "AmazonImg", ["'AmazonImg'", "'Amazon'"]),
    ("imageNames", "AppStreamImg", ["'AppStreamImg'", "'AppStream'"]),
    ("imageNames", ["My Image"], ["'My Image'", "letters, digits"]),
    ("imageNames", ["-Image"], ["'-Image'", "starting with a letter or digit"]),
    ("imageNames", ["I" * 102], ["'" + "I" * 102 + "'", "1 to 101"]),
    ("imageNames", "ImgA,ImgA", ["'ImgA'", "more than once"]),
    ("imageNames", [f"Img{i}" for i in range(26)], ["26 names", "at most 25"]),
    ("imageNames", [LONG_ROOT + "A", LONG_ROOT + "B"], [LONG_ROOT + "A", "prefix"]),
    ("imageNames", "Base,Base-20260101-030000", ["'Base-20260101-030000'", "derives from 'Base'"]),
    ("imageNames", 5, ["5", "list of strings"]),
    ("imageNames", '["ImgA", 1]', ["'[\"ImgA\", 1]'", "list of strings"]),
    ("imageNames", "[ImgA", ["'[ImgA'", "invalid JSON"]),
    ("notificationEmails", "ops.example.com", ["'ops.example.com'", "e-mail address"]),
    ("notificationEmails", ["ops team@example.com"], ["'ops team@example.com'", "e-mail"]),
    ("notificationEmails", ["ops@example"], ["'ops@example'", "e-mail"]),
    ("notificationEmails", ["a@b@example.com"], ["'a@b@example.com'", "e-mail"]),
    (
        "notificationEmails",
        [TOO_LONG_EMAIL],
        [TOO_LONG_EMAIL[:20], "e-mail"],
    ),
    (
        "notificationEmails",
        "ops@example.com,OPS@example.com",
        ["'OPS@example.com'", "more than once"],
    ),
    (
        "scheduleExpression",
        "rate(30 minutes)",
        ["'rate(30 minutes)'", "at least 1 hour", "previous one"],
    ),
    ("scheduleExpression", "rate(1 minute)", ["'rate(1 minute)'", "at least 1 hour"]),
    ("scheduleExpression", "rate(1 hours)", ["'rate(1 hours)'", "'hour'"]),
    ("scheduleExpression", "rate(2 day)", ["'rate(2 day)'", "'days'"]),
    ("scheduleExpression", "rate(0 hours)", ["'rate(0 hours)'", "positive"]),
    ("scheduleExpression", "rate(2 weeks)", ["'rate(2 weeks)'", "minute(s), hour(s) or day(s)"]),
    ("scheduleExpression", "rate(-1 days)", ["'rate(-1 days)'", "must be 'rate(N unit)'"]),
    ("scheduleExpression", "cron(0 3 * * ?)", ["'cron(0 3 * * ?)'", "6 fields", "not 5"]),
    ("scheduleExpression", "cron(0 3 * * MON *)", ["'cron(0 3 * * MON *)'", "exactly one"]),
    ("scheduleExpression", "cron(0 3 ? * ? *)", ["'cron(0 3 ? * ? *)'", "exactly one"]),
    ("scheduleExpression", "cron(0 H ? * MON *)", ["'cron(0 H ? * MON *)'", "hours field: 'H'"]),
    ("scheduleExpression", "cron(? 3 ? * MON *)", ["minutes field: '?'"]),
    ("scheduleExpression", "cron(0 3 ? JANX MON *)", ["month field: 'JANX'"]),
    ("scheduleExpression", "cron(0 3 ? * MON/2 *)", ["day-of-week field: 'MON/2'"]),
    ("scheduleExpression", "cron(0 3 1W * ? 20#6)", ["year field: '20#6'"]),
    ("scheduleExpression", "daily", ["'daily'", "must be 'rate(N unit)'"]),
    ("scheduleExpression", 3, ["3", "must be a string"]),
    ("scheduleTimezone", "Mars/Olympus_Mons", ["'Mars/Olympus_Mons'", "IANA time zone"]),
    ("scheduleTimezone", "CEST", ["'CEST'", "IANA"]),
    # Entries of a zoneinfo directory that are not time zones of the tz database.
    ("scheduleTimezone", "localtime", ["'localtime'", "IANA time zone"]),
    ("scheduleTimezone", "Factory", ["'Factory'", "IANA time zone"]),
    ("scheduleTimezone", "posixrules", ["'posixrules'", "IANA time zone"]),
    ("scheduleTimezone", "posix/Europe/Paris", ["'posix/Europe/Paris'", "IANA time zone"]),
    ("scheduleTimezone", "right/UTC", ["'right/UTC'", "IANA time zone"]),
    ("pollIntervalMinutes", 0, ["0", "between 1 and 60"]),
    ("pollIntervalMinutes", "61", ["61", "between 1 and 60"]),
    ("pollIntervalMinutes", "abc", ["'abc'", "must be an integer"]),
    ("pollIntervalMinutes", "10.0", ["'10.0'", "must be an integer"]),
    ("pollIntervalMinutes", 7.5, ["7.5", "must be an integer"]),
    ("pollIntervalMinutes", True, ["True", "not a boolean"]),
    ("maxUpdateHours", 0, ["0", "between 1 and 72"]),
    ("maxUpdateHours", "73", ["73", "between 1 and 72"]),
    ("maxConcurrentUpdates", -1, ["-1", "between 1 and 20"]),
    ("maxConcurrentUpdates", 21, ["21", "between 1 and 20"]),
    ("notifyNoUpdate", "yes", ["'yes'", "true or false"]),
    ("notifyNoUpdate", 1, ["1", "true or false"]),
    ("scheduleEnabled", "off", ["'off'", "true or false"]),
    ("logExecutionData", 0, ["0", "true or false"]),
    ("newImageTags", {"aws:owner": "me"}, ["'aws:owner'", "must not start with 'aws:'"]),
    ("newImageTags", {"Team!": "EUC"}, ["'Team!'", "may contain", "only letters"]),
    ("newImageTags", {"Team": "EUC;"}, ["'EUC;'", "may contain only"]),
    ("newImageTags", {"Team": "v" * 257}, ["'Team'", "at most 256"]),
    ("newImageTags", {naming.LINEAGE_ROOT_TAG: "x"}, [naming.LINEAGE_ROOT_TAG, "reserved"]),
    ("newImageTags", '{"Team": {"Name": "EUC"}}', ['{"Name": "EUC"}', "values are strings"]),
    ("newImageTags", {"Team": ["EUC"]}, ["['EUC']", "values are strings"]),
    ("newImageTags", {"Count": 5}, ["'Count': 5", "values are strings"]),
    ("newImageTags", '["Team"]', ["'[\"Team\"]'", "JSON object"]),
    ("newImageTags", "{Team: EUC}", ["'{Team: EUC}'", "invalid JSON"]),
    ("newImageTags", {f"T{i}": "v" for i in range(49)}, ["49 tags", "at most 48"]),
    ("logRetentionDays", 2, ["2", "retention periods", "3653"]),
    ("logRetentionDays", "forever", ["'forever'", "must be an integer"]),
    ("maxConsecutiveFailedRuns", 11, ["11", "between 0 and 10"]),
    ("maxConsecutiveFailedRuns", "-1", ["-1", "between 0 and 10"]),
    ("maxConsecutiveFailedRuns", "three", ["'three'", "must be an integer"]),
    ("maxConsecutiveFailedRuns", False, ["False", "not a boolean"]),
    ("canarySoakHours", 169, ["169", "between 0 and 168"]),
    ("canarySoakHours", "-1", ["-1", "between 0 and 168"]),
    ("canarySoakHours", "1.5", ["'1.5'", "must be an integer"]),
    ("canarySoakHours", True, ["True", "not a boolean"]),
    (
        "canaryAlarmNames",
        [f"Alarm{i}" for i in range(101)],
        ["101 names, at most 100 allowed (DescribeAlarms takes at most 100 AlarmNames)"],
    ),
    (
        "canaryAlarmNames",
        ["a" * 256],
        ["'" + "a" * 256 + "'", "must be a CloudWatch alarm name: 1 to 255 UTF-8 characters"],
    ),
    ("canaryAlarmNames", '[""]', ["'' must be a CloudWatch alarm name"]),
    ("canaryAlarmNames", ["Fleet\nErrors"], ["'Fleet\\nErrors'", "no control characters"]),
    ("canaryAlarmNames", ["Fleet\x00"], ["'Fleet\\x00'", "no control characters"]),
    ("canaryAlarmNames", ["Del\x7f"], ["'Del\\x7f'", "no control characters"]),
    ("canaryAlarmNames", '["Half \\ud800"]', ["'Half \\ud800'", "UTF-8"]),
    ("canaryAlarmNames", "FleetErrors,FleetErrors", ["'FleetErrors' is listed more than once"]),
    ("canaryAlarmNames", 5, ["5", "list of strings"]),
    ("rollbackImageAccounts", "12345", ["'12345' must be an AWS account ID: 12 digits"]),
    ("rollbackImageAccounts", ["1234567890123"], ["'1234567890123'", "12 digits"]),
    ("rollbackImageAccounts", "111122223333,111122223333", ["listed more than once"]),
    ("canaryAlarmNames", '["Alarm", 2]', ["list of strings"]),
    ("requireApproval", "yes", ["'yes'", "true or false"]),
    ("requireApproval", 1, ["1", "true or false"]),
    ("approvalTimeoutHours", 0, ["0", "between 1 and 720"]),
    ("approvalTimeoutHours", "721", ["721", "between 1 and 720"]),
    ("approvalTimeoutHours", "3 days", ["'3 days'", "must be an integer"]),
    (
        "rolloutWindow",
        "weekends",
        [
            "'weekends' must be 'immediately' or "
            "'cron(minutes hours day-of-month month day-of-week year)'"
        ],
    ),
    ("rolloutWindow", "rate(1 day)", ["'rate(1 day)' must be 'immediately' or 'cron("]),
    ("rolloutWindow", "CRON(0 3 * * ? *)", ["must be 'immediately' or 'cron("]),
    ("rolloutWindow", "", ["'' must be 'immediately'"]),
    ("rolloutWindow", True, ["True", "must be a string"]),
    ("rolloutWindow", "cron(0 3 * * ?)", ["'cron(0 3 * * ?)' must have 6 fields", "not 5"]),
    ("rolloutWindow", "cron(0 3 * * * *)", ["'?' in exactly one of day-of-month and day-of-week"]),
    (
        "rolloutWindow",
        "cron(0 24 * * ? *)",
        ["has '24' in its hours field: 24 must be between 0 and 23"],
    ),
    ("rolloutWindow", "cron(0 3 ? * MON/2 *)", ["characters not allowed in its day-of-week field"]),
    (
        "rolloutWindow",
        "cron(0 3 ? DEC-JAN * *)",
        ["'DEC-JAN' in its month field", "from the lower"],
    ),
    (
        "rolloutWindow",
        "cron(0 3 * * ? 2200)",
        ["'2200' in its year field", "between 1970 and 2199"],
    ),
]


@pytest.mark.parametrize(("key", "raw", "fragments"), REJECTED)
def test_each_rule_rejects_with_key_value_and_rule(
    key: str, raw: object, fragments: list[str]
) -> None:
    # When one key holds a bad value
    problems = problems_of({key: raw})

    # Then only that key is reported, naming the value and the rule
    assert problems
    assert all(problem.startswith(f"{key}: ") for problem in problems)
    message = "\n".join(problems)
    for fragment in fragments:
        assert fragment in message


@pytest.mark.parametrize(("key", "raw", "fragments"), REJECTED[::4])
def test_no_problem_is_told_in_pydantic_s_words(
    key: str, raw: object, fragments: list[str]
) -> None:
    # The declaration is Pydantic (infra/config/declaration.py); its messages never show.
    message = "\n".join(problems_of({key: raw}))
    assert "pydantic" not in message.lower()
    assert "validation error" not in message.lower()
    assert "Input should" not in message and "Value error" not in message


# --- cron: run spacing and field values ----------------------------------------------------------


@pytest.mark.parametrize(
    ("expression", "gap"),
    [
        ("cron(* * * * ? *)", "1 minute apart"),
        ("cron(*/5 * * * ? *)", "5 minutes apart"),
        ("cron(0,30 3 ? * MON *)", "30 minutes apart"),
        ("cron(0/20 9-17 ? * MON-FRI *)", "20 minutes apart"),
        # 00:10, 00:50, 23:10, 23:50: 40 minutes within a day, 20 from 23:50 to the next 00:10
        ("cron(10,50 0,23 * * ? *)", "20 minutes apart"),
    ],
)
def test_cron_runs_closer_than_an_hour_are_refused_naming_the_smallest_gap(
    expression: str, gap: str
) -> None:
    # Given a cron expression whose closest runs are `gap` apart
    context = {"scheduleExpression": expression}

    # When
    problems = problems_of(context)

    # Then the same minimum as rate() applies, and the message says how close the runs come
    assert len(problems) == 1
    assert problems[0].startswith(f"scheduleExpression: {expression!r}")
    assert gap in problems[0]
    assert "at least 1 hour" in problems[0]


@pytest.mark.parametrize(
    ("expression", "fragments"),
    [
        ("cron(99 3 * * ? *)", ["'99' in its minutes field", "between 0 and 59"]),
        ("cron(0 24 * * ? *)", ["'24' in its hours field", "between 0 and 23"]),
        ("cron(0 3 32 * ? *)", ["'32' in its day-of-month field", "between 1 and 31"]),
        ("cron(0 3 0 * ? *)", ["'0' in its day-of-month field", "between 1 and 31"]),
        ("cron(0 3 * 13 ? *)", ["'13' in its month field", "between 1 and 12", "JAN"]),
        ("cron(0 3 * 0 ? *)", ["'0' in its month field", "between 1 and 12"]),
        ("cron(0 3 ? * 8 *)", ["'8' in its day-of-week field", "between 1 and 7", "SUN"]),
        ("cron(0 3 ? * 0 *)", ["'0' in its day-of-week field", "between 1 and 7"]),
        ("cron(0 3 * * ? 1969)", ["'1969' in its year field", "between 1970 and 2199"]),
        ("cron(0 3 * * ? 2200)", ["'2200' in its year field", "between 1970 and 2199"]),
        # every value of a list, a range, an increment
        ("cron(0 3,25 * * ? *)", ["'25' in its hours field", "25 must be between 0 and 23"]),
        ("cron(0 3 ? * 2-9 *)", ["'2-9' in its day-of-week field", "9 must be between 1 and 7"]),
        ("cron(0 3 * * ? 2026-2300)", ["'2026-2300'", "2300 must be between 1970 and 2199"]),
        ("cron(0 5-3 * * ? *)", ["'5-3' in its hours field", "from the lower value"]),
        ("cron(0 3 ? * SAT-MON *)", ["'SAT-MON'", "from the lower value"]),
        ("cron(0 3 ? DEC-JAN * *)", ["'DEC-JAN' in its month field", "from the lower value"]),
        ("cron(0/0 3 * * ? *)", ["'0/0' in its minutes field", "increment 0", "at least 1"]),
        ("cron(60/5 3 * * ? *)", ["'60/5' in its minutes field", "60 must be between 0 and 59"]),
        ("cron(0 3 */0 * ? *)", ["'*/0' in its day-of-month field", "at least 1"]),
        ("cron(0 3 1-40/2 * ? *)", ["'1-40/2'", "40 must be between 1 and 31"]),
        ("cron(0 3,,4 * * ? *)", ["'' in its hours field", "must be a number"]),
        ("cron(0 3 * 1-JAN-3 ? *)", ["'1-JAN-3' in its month field", "must be a number"]),
        # the L, W and # forms
        ("cron(0 3 32W * ? *)", ["'32W' in its day-of-month field", "between 1 and 31"]),
        ("cron(0 3 0W * ? *)", ["'0W'", "between 1 and 31"]),
        ("cron(0 3 L-31 * ? *)", ["'L-31'", "between 1 and 30"]),
        ("cron(0 3 ? * 9L *)", ["'9L' in its day-of-week field", "between 1 and 7"]),
        ("cron(0 3 ? * 8#2 *)", ["'8#2' in its day-of-week field", "between 1 and 7"]),
        ("cron(0 3 ? * 2#6 *)", ["'2#6' in its day-of-week field", "#6", "between 1 and 5"]),
        ("cron(0 3 ? * 2#0 *)", ["'2#0'", "between 1 and 5"]),
        ("cron(0 3 ? * 2#1,6#3 *)", ["'2#1' in its day-of-week field", "only value"]),
        ("cron(0 3 L,15 * ? *)", ["'L' in its day-of-month field", "only value"]),
        ("cron(0 3 15W,20 * ? *)", ["'15W'", "only value"]),
        ("cron(0 3 ?,1 * ? *)", ["'?' in its day-of-month field", "only value"]),
        ("cron(0 3 L/2 * ? *)", ["'L/2' in its day-of-month field", "must be a number"]),
    ],
)
def test_cron_values_outside_their_field_or_form_are_refused(
    expression: str, fragments: list[str]
) -> None:
    # When the schedule holds a value EventBridge Scheduler would refuse
    problems = problems_of({"scheduleExpression": expression})

    # Then the message names the key, the expression, the offending value and the rule
    assert problems
    assert all(problem.startswith(f"scheduleExpression: {expression!r}") for problem in problems)
    message = "\n".join(problems)
    for fragment in fragments:
        assert fragment in message


@pytest.mark.parametrize(
    "expression",
    [
        "cron(0 3 L * ? *)",
        "cron(0 3 LW * ? *)",
        "cron(0 3 15W * ? *)",
        "cron(0 3 L-3 * ? *)",
        "cron(0 3 1-31/2 * ? *)",
        "cron(0 3 1/10 JAN/3 ? 2026/2)",
        "cron(0 3 31 dec ? 2199)",
        "cron(59 23 1 1 ? 1970)",
        "cron(0 3 ? * L *)",
        "cron(0 3 ? * 6L *)",
        "cron(0 3 ? * 2#1 *)",
        "cron(0 3 ? * MON#5 *)",
        "cron(0 3 ? * SUN,MON-FRI,7 *)",
        "cron(0 0-23 * * ? *)",
        "cron(55 3,4 * * ? *)",  # 03:55 and 04:55: an hour apart, as close as rate() may go
        "cron(45/30 */2 * * ? *)",
        "cron(0 22/3 * * ? *)",
    ],
)
def test_every_documented_cron_form_within_its_bounds_is_accepted(expression: str) -> None:
    # When / Then the expression loads as written
    assert load_config({"scheduleExpression": expression}).schedule_expression == expression


# --- rolloutWindow: the schedule's cron grammar, without run spacing and the L, W and # forms -----

UNSUPPORTED = "the L, W and # forms are not supported here: list the days instead"


@pytest.mark.parametrize(
    ("expression", "item", "field"),
    [
        ("cron(0 3 L * ? *)", "L", "day-of-month"),
        ("cron(0 3 LW * ? *)", "LW", "day-of-month"),
        ("cron(0 3 L-3 * ? *)", "L-3", "day-of-month"),
        ("cron(0 3 15W * ? *)", "15W", "day-of-month"),
        ("cron(0 3 1,L * ? *)", "L", "day-of-month"),
        ("cron(0 3 ? * L *)", "L", "day-of-week"),
        ("cron(0 3 ? * 6L *)", "6L", "day-of-week"),
        ("cron(0 3 ? * fril *)", "fril", "day-of-week"),
        ("cron(0 3 ? * 2#1 *)", "2#1", "day-of-week"),
        ("cron(0 3 ? * MON#5 *)", "MON#5", "day-of-week"),
        ("cron(0 3 ? * SUN,2#1 *)", "2#1", "day-of-week"),
        # out of bounds too: the form is what is refused
        ("cron(0 3 32W * ? *)", "32W", "day-of-month"),
        ("cron(0 3 ? * 2#6 *)", "2#6", "day-of-week"),
    ],
)
def test_rollout_window_refuses_the_l_w_and_hash_forms_naming_them(
    expression: str, item: str, field: str
) -> None:
    # Given a form the schedule accepts (or would check the bounds of)
    # When it is the roll-out window
    problems = problems_of({"rolloutWindow": expression})

    # Then the key, the expression, the item and what to do instead
    assert problems == (
        f"rolloutWindow: {expression!r} has {item!r} in its {field} field: {UNSUPPORTED}",
    )


@pytest.mark.parametrize(
    "expression",
    [
        "cron(* * * * ? *)",  # every minute: no spacing rule for a window
        "cron(*/5 9-17 ? * MON-FRI *)",
        "cron(0,30 22 ? * sat,SUN *)",
        "cron(0 2 1,15 * ? *)",
        "cron(0 2 29 2 ? *)",
        "cron(0 3 1/10 JAN/3 ? 2026/2)",
        "cron(59 23 31 dec ? 2199)",
        "cron(0 0 ? * WED *)",  # W, but of a weekday name
        "cron(0 3 ? * 1-7 1970-2199)",
    ],
)
def test_rollout_window_takes_the_rest_of_the_grammar_at_any_spacing(expression: str) -> None:
    # When / Then it loads as written, and the Lambda-side evaluator parses it
    assert load_config({"rolloutWindow": expression}).rollout_window == expression
    assert parse_window(expression) is not None


def test_rollout_window_problems_are_reported_together_in_field_order() -> None:
    # Given two bad fields
    expression = "cron(61 3 L * ? *)"

    # When / Then each is reported
    assert problems_of({"rolloutWindow": expression}) == (
        f"rolloutWindow: {expression!r} has '61' in its minutes field: 61 must be between 0 and 59",
        f"rolloutWindow: {expression!r} has 'L' in its day-of-month field: {UNSUPPORTED}",
    )


def test_the_schedule_still_takes_the_l_w_and_hash_forms_and_the_window_not_the_spacing() -> None:
    # Given the same expressions for both keys
    forms = "cron(0 3 ? * 6L *)"
    dense = "cron(*/5 * * * ? *)"

    # When / Then each key keeps its own rules
    assert load_config({"scheduleExpression": forms}).schedule_expression == forms
    assert problems_of({"rolloutWindow": forms})
    assert load_config({"rolloutWindow": dense}).rollout_window == dense
    assert problems_of({"scheduleExpression": dense})


WINDOW_TOKENS = [
    *("*", "?", "", "0", "1", "5", "7", "12", "23", "29", "31", "59", "60", "1970", "2026"),
    *("2199", "2200", "JAN", "dec", "Jul", "MON", "sun", "WED", "fri", "L", "LW", "L-3", "15W"),
    *("W", "6L", "2#1", "MON#2", "#", "*/5", "5/10", "1-5", "5-1", "MON-FRI", "JAN-MAR"),
    *("1-7/2", "*/0", "*/a", "a", "1-", "-1", "1--2", "00", "\u0661", "\u017fun", "fr\u0131"),
    *("MON/2", "*/2", "2/3", "?/2", "L/2", "1#", "W5", "15w", "l", "6l", "*-5"),
]
window_field = st.lists(st.sampled_from(WINDOW_TOKENS), min_size=1, max_size=2).map(",".join)


@st.composite
def window_expressions(draw: st.DrawFn) -> str:
    """A valid window, often with one field (or the field count) broken, so that each rule is
    met on its own, including by expressions that are valid but for one item."""
    fields = draw(window_crons())[len("cron(") : -1].split(" ")
    broken = draw(st.integers(0, 7))  # 0-5: that field; 6: the count; 7: none
    if broken < len(fields):
        fields[broken] = draw(window_field)
    elif broken == len(fields):
        fields = fields[:-1] if draw(st.booleans()) else [*fields, "*"]
    return f"cron({' '.join(fields)})"


@settings(max_examples=400, deadline=None)
@given(window_expressions())
def test_the_synth_accepts_exactly_the_windows_the_lambda_evaluator_parses(
    expression: str,
) -> None:
    # Given any expression, valid or not
    try:
        loaded: str | None = load_config({"rolloutWindow": expression}).rollout_window
    except ConfigError as error:
        assert all(problem.startswith("rolloutWindow: ") for problem in error.problems)
        loaded = None
    try:
        window = parse_window(expression)
    except WindowError:
        window = None

    # Then both accept it or both refuse it: nothing deploys that the Lambda cannot read
    assert (loaded is None) == (window is None)
    if window is not None:
        assert window.expression == loaded


def smallest_gap_by_enumeration(minutes: set[int], hours: set[int]) -> int:
    """Every run of two whole days, every day firing: the closest two of them."""
    runs = sorted(
        day * 1440 + hour * 60 + minute for day in (0, 1) for hour in hours for minute in minutes
    )
    return min(later - earlier for earlier, later in itertools.pairwise(runs))


@settings(max_examples=200, deadline=None)
@given(
    st.sets(st.integers(0, 59), min_size=1, max_size=4),
    st.sets(st.integers(0, 23), min_size=1, max_size=6),
)
def test_cron_spacing_agrees_with_enumerating_two_days_of_runs(
    minutes: set[int], hours: set[int]
) -> None:
    # Given the runs of a cron expression, enumerated
    expression = f"cron({','.join(map(str, minutes))} {','.join(map(str, hours))} * * ? *)"
    gap = smallest_gap_by_enumeration(minutes, hours)

    # When
    try:
        load_config({"scheduleExpression": expression})
        problems: tuple[str, ...] = ()
    except ConfigError as error:
        problems = error.problems

    # Then it is refused exactly when two runs come closer than an hour, saying how close
    if gap < 60:
        assert len(problems) == 1
        assert f" {gap} minute" in problems[0]
    else:
        assert problems == ()


@pytest.mark.parametrize(
    "zone", ["UTC", "Europe/Paris", "America/Argentina/Buenos_Aires", "Etc/GMT+5", "US/Eastern"]
)
def test_tz_database_zones_and_their_links_are_accepted(zone: str) -> None:
    # When / Then canonical zones and the tz database's backward-compatible links both load
    assert load_config({"scheduleTimezone": zone}).schedule_timezone == zone


def test_only_an_empty_notification_list_draws_a_warning() -> None:
    # Given the same settings without and with an address
    approvers = "arn:aws:iam::111122223333:role/Approvers"
    silent = load_config({"notificationEmails": "", "approvers": approvers})
    heard = load_config({"notificationEmails": "ops@example.com", "approvers": approvers})

    # When
    warned, quiet = config.config_warnings(silent), config.config_warnings(heard)

    # Then one warning names the key, both ways to set it, and the confirmation step
    (message,) = warned.values()
    assert message.startswith("notificationEmails is empty")
    assert "-c notificationEmails=a@example.com" in message and "cdk.json" in message
    assert "confirm" in message
    assert quiet == {}


def test_several_problems_are_reported_together_in_key_order() -> None:
    # Given three bad keys, listed out of order
    context = {"logRetentionDays": 2, "imageNames": "AWSBase", "pollIntervalMinutes": "0"}

    # When
    with pytest.raises(ConfigError) as raised:
        load_config(context)

    # Then one error lists all of them, one per line, in the order of KEYS
    lines = str(raised.value).splitlines()
    assert [line.split(":")[0] for line in lines] == [
        "imageNames",
        "pollIntervalMinutes",
        "logRetentionDays",
    ]
    assert isinstance(raised.value, ValueError)


# --- properties ----------------------------------------------------------------------------------


def tz_database_names() -> list[str]:
    """Zone and Link names in the tz database's own source (tzdata.zi), but its placeholder."""
    source = resources.files("tzdata").joinpath("zoneinfo", "tzdata.zi").read_text("utf-8")
    names: set[str] = set()
    for line in source.splitlines():
        fields = line.split()
        if fields[:1] == ["Z"]:  # Z name offset rules format [until]
            names.add(fields[1])
        elif fields[:1] == ["L"]:  # L target name
            names.add(fields[2])
    return sorted(names - {"Factory"})


ZONES = tz_database_names()
TAG_ALPHABET = st.characters(categories=("L", "N", "Zs"), include_characters="_.:/=+-@")

image_names = st.from_regex(naming.IMAGE_NAME_PATTERN, fullmatch=True).filter(
    lambda name: naming.image_name_problem(name) is None
)
image_name_lists = st.lists(image_names, min_size=1, max_size=5, unique_by=naming.lineage_prefix)
emails = st.builds(
    "{}@{}.{}".format,
    st.from_regex(r"[a-z0-9][a-z0-9._+-]{0,15}", fullmatch=True),
    st.from_regex(r"[a-z0-9](?:[a-z0-9-]{0,10}[a-z0-9])?", fullmatch=True),
    st.from_regex(r"[a-z]{2,6}", fullmatch=True),
)


def rate(count: int, unit: str) -> str:
    return f"rate({count} {unit if count == 1 else unit + 's'})"


rates = st.one_of(
    st.integers(60, 100_000).map(lambda n: rate(n, "minute")),
    st.integers(1, 1_000).map(lambda n: rate(n, "hour")),
    st.integers(1, 1_000).map(lambda n: rate(n, "day")),
)
# Exactly one of day-of-month and day-of-week is '?'.
CRON_DAYS = [("?", "*"), ("?", "MON-FRI"), ("?", "sun"), ("?", "2#1"), ("?", "6L"), ("1", "?")]
CRON_DAYS += [("L", "?"), ("15W", "?"), ("*/2", "?"), ("1,15", "?")]


@st.composite
def crons(draw: st.DrawFn) -> str:
    day_of_month, day_of_week = draw(st.sampled_from(CRON_DAYS))
    # Runs at least an hour apart: one minute of the hour, however it is spelled.
    minutes = draw(st.sampled_from(["0", "15", "59", "45/30", "10-10", "20-59/40"]))
    hours = draw(st.sampled_from(["3", "*", "1-5", "*/6", "0,12", "22/3", "0-23"]))
    month = draw(st.sampled_from(["*", "JAN", "jan-jun", "1,7"]))
    year = draw(st.sampled_from(["*", "2026", "2026-2030"]))
    return f"cron({minutes} {hours} {day_of_month} {month} {day_of_week} {year})"


tag_maps = st.dictionaries(
    st.text(TAG_ALPHABET, min_size=1, max_size=128).filter(
        lambda key: naming.tag_problem(key, "") is None
    ),
    st.text(TAG_ALPHABET, max_size=256),
    max_size=values.NEW_IMAGE_TAGS_MAX,
)


def no_derived_roots(names: list[str]) -> bool:
    return not any(naming.is_derived_name(root, other) for root in names for other in names)


@st.composite
def valid_settings(draw: st.DrawFn) -> dict[str, object]:
    """A valid value for every key, as the config should hold it."""
    names = draw(image_name_lists.filter(no_derived_roots))
    poll_minutes = draw(st.integers(1, 60))
    # Within the execution history quota (worked out independently of the implementation:
    # 9 events per status check plus 150 per image, 200 per roll-out and 50 per run, at most
    # 25,000).
    # Copies (to at most 3 Regions, with at most 5 images) add 80 events per image and 380
    # per Region of each image (36 copy checks of 9 events, and the steps around them).
    copies = (
        tuple(draw(st.lists(st.sampled_from(COPY_REGIONS), max_size=3, unique=True)))
        if len(names) <= 5
        else ()
    )
    per_image_budget = (25_000 - 50) // len(names) - 150 - 200 - 80 - 380 * len(copies)
    most_hours = min(72, per_image_budget // 9 * poll_minutes // 60)
    hours = draw(st.integers(1, max(1, most_hours)))
    require_approval = draw(st.booleans())
    return {
        "imageNames": tuple(names),
        "notificationEmails": tuple(
            draw(st.lists(emails, max_size=4, unique_by=str.lower)),
        ),
        "scheduleExpression": draw(st.one_of(rates, crons())),
        "scheduleTimezone": draw(st.sampled_from(ZONES)),
        "pollIntervalMinutes": poll_minutes,
        "maxUpdateHours": hours,
        "maxConcurrentUpdates": draw(st.integers(1, 20)),
        "notifyNoUpdate": draw(st.booleans()),
        "newImageTags": draw(tag_maps),
        "scheduleEnabled": draw(st.booleans()),
        "logRetentionDays": draw(st.sampled_from(values.LOG_RETENTION_DAYS)),
        # With approvals, execution data is never logged (the task token would be).
        "logExecutionData": draw(st.booleans()) and not require_approval,
        "keepImages": draw(st.integers(0, 5)),
        "maxConsecutiveFailedRuns": draw(st.integers(0, 10)),
        "canarySoakHours": draw(st.integers(0, 168)),
        "canaryAlarmNames": tuple(draw(st.lists(alarm_names, max_size=5, unique=True))),
        "requireApproval": require_approval,
        "approvalTimeoutHours": draw(st.integers(1, 720)),
        "rolloutWindow": draw(st.just("immediately") | window_crons()),
        "allowUntestedProduction": draw(st.booleans()),
        "rollbackImageAccounts": tuple(
            draw(st.lists(st.from_regex(r"[0-9]{12}", fullmatch=True), max_size=3, unique=True))
        ),
        "approvers": tuple(draw(st.lists(approver_arns, max_size=4, unique=True))),
        "hubAccountId": draw(st.just("") | st.from_regex(r"[0-9]{12}", fullmatch=True)),
        "copyToRegions": copies,
        "shareWithAccounts": tuple(
            draw(st.lists(shares(copies), max_size=4, unique_by=lambda s: s.account_id))
        ),
        "maxPatchAgeDays": draw(st.integers(0, 365)),
        # Organisations have their own round trip (tests/unit/test_organization_config.py).
        "organization": None,
        **draw(chat_keys()),
    }


uuids = st.uuids().map(str)


@st.composite
def chat_keys(draw: st.DrawFn) -> dict[str, str]:
    """No chat, a Slack channel or a Teams channel (or both), each named whole."""
    slack = draw(st.booleans())
    teams = draw(st.booleans())
    return {
        "slackWorkspaceId": draw(st.from_regex(r"[0-9A-Z]{1,20}", fullmatch=True)) if slack else "",
        "slackChannelId": draw(st.from_regex(r"[A-Za-z0-9]{1,20}", fullmatch=True))
        if slack
        else "",
        "teamsTeamId": draw(uuids) if teams else "",
        "teamsChannelId": draw(
            st.from_regex(r"19%3[aA][a-zA-Z0-9_.-]{1,40}%40thread\.tacv2", fullmatch=True)
        )
        if teams
        else "",
        "teamsTenantId": draw(uuids) if teams else "",
    }


def shares(copies: tuple[str, ...]) -> st.SearchStrategy[Share]:
    """Accounts to share with, in every Region or in some of the copies' Regions."""
    regions = st.none() | (
        st.lists(st.sampled_from(copies), min_size=1, unique=True).map(tuple)
        if copies
        else st.none()
    )
    return st.builds(
        Share,
        st.from_regex(r"\A[0-9]{12}\Z"),
        st.booleans(),
        st.booleans(),
        regions,
    ).filter(lambda share: share.allow_fleet or share.allow_image_builder)


approver_arns = st.builds(
    "arn:{}:iam::{}:{}/{}{}".format,
    st.just("aws"),
    st.from_regex(r"\A[0-9]{12}\Z"),
    st.sampled_from(["role", "user"]),
    st.sampled_from(["", "team/", "a/b/"]),
    st.from_regex(r"\A[A-Za-z0-9+=.@_-]{1,40}\Z"),
)


# Alarm names the comma-separated form can spell too: no commas, no surrounding spaces, not JSON.
alarm_names = (
    st.text(
        st.characters(categories=("L", "N", "P", "S", "Zs"), exclude_characters=",["),
        min_size=1,
        max_size=40,
    )
    .map(str.strip)
    .filter(bool)
)


@st.composite
def window_crons(draw: st.DrawFn) -> str:
    """Roll-out windows: any spacing, the days listed (no L, W or #)."""
    day_of_month, day_of_week = draw(
        st.sampled_from([("?", "*"), ("?", "MON-FRI"), ("?", "sat,SUN"), ("*", "?"), ("1,15", "?")])
    )
    minutes = draw(st.sampled_from(["0", "*", "*/5", "0,30", "10-20", "45/5"]))
    hours = draw(st.sampled_from(["3", "*", "22", "0-5", "*/6"]))
    month = draw(st.sampled_from(["*", "JAN", "jan-jun", "1,7"]))
    year = draw(st.sampled_from(["*", "2026", "2026-2030"]))
    return f"cron({minutes} {hours} {day_of_month} {month} {day_of_week} {year})"


def as_cli_string(value: object, draw: st.DrawFn) -> object:
    """How `cdk deploy -c key=value` could spell `value`."""
    if isinstance(value, tuple) and value and isinstance(value[0], Share):
        return json.dumps([share.to_json() for share in value])
    if value == "immediately":
        return draw(st.sampled_from(["immediately", "IMMEDIATELY", " Immediately "]))
    if isinstance(value, bool):
        return draw(st.sampled_from([str(value).lower(), str(value), str(value).upper()]))
    if isinstance(value, int):
        return str(value)
    if isinstance(value, tuple):
        return draw(st.sampled_from([",".join(value), json.dumps(list(value))]))
    if isinstance(value, dict):
        return json.dumps(value)
    return value


def as_native(value: object) -> object:
    """How cdk.json holds `value` (shares as JSON objects)."""
    if isinstance(value, tuple) and value and isinstance(value[0], Share):
        return [share.to_json() for share in value]
    return value


@st.composite
def valid_contexts(draw: st.DrawFn) -> tuple[dict[str, object], dict[str, object]]:
    expected = draw(valid_settings())
    context = {
        key: as_cli_string(value, draw) if draw(st.booleans()) else as_native(value)
        for key, value in expected.items()
    }
    return context, expected


@settings(max_examples=60, deadline=None)
@given(valid_contexts())
def test_any_valid_configuration_loads_and_round_trips(
    drawn: tuple[dict[str, object], dict[str, object]],
) -> None:
    # Given a valid configuration, some values spelled as -c strings
    context, expected = drawn

    # When
    loaded = load_config(context)

    # Then every value comes back as drawn
    for key, field_name in config.KEYS.items():
        value = getattr(loaded, field_name)
        assert (dict(value) if key == "newImageTags" else value) == expected[key], key
    assert loaded.poll_interval_minutes <= loaded.max_update_hours * 60
    window = loaded.max_update_hours * 60
    assert (loaded.max_polls - 1) * loaded.poll_interval_minutes < window
    assert loaded.max_polls * loaded.poll_interval_minutes >= window


COPY_REGIONS = ("eu-west-1", "eu-central-1", "ap-northeast-1", "us-west-2")


def out_of(bounds: range) -> st.SearchStrategy[object]:
    outside = st.integers(max_value=bounds.start - 1) | st.integers(min_value=bounds.stop)
    return st.one_of(outside, outside.map(str), NOT_INTEGERS)


NOT_INTEGERS: st.SearchStrategy[object] = st.one_of(
    st.booleans(),
    st.floats().filter(lambda number: not number.is_integer()),
    st.text(string.ascii_letters + " .", min_size=1),
    st.lists(st.integers(), max_size=2),
)
NOT_BOOLEANS: st.SearchStrategy[object] = st.one_of(
    st.integers(),
    st.floats(allow_nan=False),
    st.text().filter(lambda text: text.strip().lower() not in ("true", "false")),
    st.lists(st.booleans(), max_size=2),
)


def with_bad_character(name: str, bad: str) -> str:
    return name[:1] + bad + name[1:]


INVALID: dict[str, st.SearchStrategy[object]] = {
    "imageNames": st.one_of(
        st.just([]),
        st.builds(str.__add__, st.sampled_from(naming.RESERVED_NAME_PREFIXES), image_names),
        st.builds(with_bad_character, image_names, st.sampled_from(" !#$%&()[]{}~")).map(
            lambda name: [name]
        ),
        image_names.map(lambda name: [name, name]),
        st.integers(26, 40).map(lambda n: [f"Img{i}" for i in range(n)]),
        st.text("xyz", min_size=1).map(lambda tail: [LONG_ROOT + "A" + tail, LONG_ROOT + "B"]),
        st.lists(st.integers(), min_size=1),
    ),
    "notificationEmails": st.one_of(
        emails.map(lambda email: [email.replace("@", "")]),
        emails.map(lambda email: [email.replace("@", " @")]),
        emails.map(lambda email: [email.replace("@", "@@")]),
        emails.map(lambda email: [email.rpartition(".")[0]]),
        emails.map(lambda email: [email, email.upper()]),
        emails.map(lambda email: ["x" * 250 + email]),
        st.integers(),
    ),
    "scheduleExpression": st.one_of(
        st.integers(2, 59).map(lambda n: f"rate({n} minutes)"),
        st.integers(2, 99).map(lambda n: f"rate({n} hour)"),
        st.sampled_from(["rate(1 hours)", "rate(1 days)", "rate(0 days)", "rate(3 weeks)"]),
        st.integers(1, 9).filter(lambda n: n != 6).map(lambda n: f"cron({' '.join(['1'] * n)})"),
        st.sampled_from(["1 *", "? ?", "* *", "1 MON"]).map(lambda d: f"cron(0 3 {d} * *)"),
        st.sampled_from(["X", "?", "$", "1;2"]).map(lambda bad: f"cron(0 {bad} ? * MON *)"),
        st.integers(1, 59).map(lambda step: f"cron(*/{step} * * * ? *)"),
        st.sampled_from(["0,30", "0-5", "*", "10/15"]).map(lambda m: f"cron({m} 3 ? * MON *)"),
        st.integers(60, 999).map(lambda n: f"cron({n} 3 * * ? *)"),
        st.integers(24, 99).map(lambda n: f"cron(0 {n} * * ? *)"),
        st.sampled_from([0, *range(32, 99)]).map(lambda n: f"cron(0 3 {n} * ? *)"),
        st.sampled_from([0, *range(13, 99)]).map(lambda n: f"cron(0 3 ? {n} MON *)"),
        st.sampled_from([0, *range(8, 99)]).map(lambda n: f"cron(0 3 ? * {n} *)"),
        st.one_of(st.integers(0, 1969), st.integers(2200, 9999)).map(
            lambda year: f"cron(0 3 * * ? {year})"
        ),
        st.text(max_size=30).filter(lambda t: not t.strip().startswith(("rate(", "cron("))),
        st.integers(),
    ),
    "scheduleTimezone": st.one_of(
        st.text(max_size=30).filter(lambda zone: zone.strip() not in ZONES),
        st.sampled_from(["localtime", "Factory", "posixrules"]),
        st.sampled_from(ZONES).flatmap(
            lambda zone: st.sampled_from([f"posix/{zone}", f"right/{zone}"])
        ),
        st.integers(),
    ),
    "pollIntervalMinutes": out_of(range(1, 61)),
    "maxUpdateHours": out_of(range(1, 73)),
    "maxConcurrentUpdates": out_of(range(1, 21)),
    "notifyNoUpdate": NOT_BOOLEANS,
    "newImageTags": st.one_of(
        st.text(TAG_ALPHABET, max_size=20).map(lambda key: {"aws:" + key: "v"}),
        st.sampled_from("!#$%&;<>?").map(lambda bad: {"Team" + bad: "v"}),
        st.sampled_from(naming.RESERVED_TAG_KEYS).map(lambda key: {key: "v"}),
        st.integers(257, 400).map(lambda n: {"Team": "v" * n}),
        st.one_of(st.integers(), st.lists(st.text()), st.dictionaries(st.text(), st.text())).map(
            lambda nested: {"Team": nested}
        ),
        st.integers(49, 60).map(lambda n: {f"T{i}": "v" for i in range(n)}),
        st.lists(st.text(), max_size=3).map(json.dumps),
        st.just("{not json"),
        st.integers(),
    ),
    "scheduleEnabled": NOT_BOOLEANS,
    "logRetentionDays": st.one_of(
        st.integers().filter(lambda days: days not in values.LOG_RETENTION_DAYS), NOT_INTEGERS
    ),
    "logExecutionData": NOT_BOOLEANS,
    "keepImages": st.one_of(st.integers(max_value=-1), st.integers(min_value=6)),
    "maxConsecutiveFailedRuns": out_of(range(11)),
    "canarySoakHours": out_of(range(169)),
    "canaryAlarmNames": st.one_of(
        st.just([""]),
        st.integers(256, 400).map(lambda n: ["a" * n]),
        st.builds(
            with_bad_character, alarm_names, st.sampled_from([*map(chr, range(32)), "\x7f"])
        ).map(lambda name: [name]),
        alarm_names.map(lambda name: [name, name]),
        st.integers(101, 150).map(lambda n: [f"Alarm{i}" for i in range(n)]),
        st.lists(st.integers(), min_size=1),
        st.integers(),
    ),
    "requireApproval": NOT_BOOLEANS,
    "approvalTimeoutHours": out_of(range(1, 721)),
    "rolloutWindow": st.one_of(
        st.sampled_from(["L", "LW", "L-2", "10W"]).map(lambda d: f"cron(0 3 {d} * ? *)"),
        st.sampled_from(["L", "6L", "2#1", "FRI#3"]).map(lambda d: f"cron(0 3 ? * {d} *)"),
        st.integers(1, 9).filter(lambda n: n != 6).map(lambda n: f"cron({' '.join(['1'] * n)})"),
        st.sampled_from(["1 *", "? ?", "* *", "1 MON"]).map(lambda d: f"cron(0 3 {d} * *)"),
        st.integers(60, 999).map(lambda n: f"cron({n} 3 * * ? *)"),
        st.sampled_from([0, *range(13, 99)]).map(lambda n: f"cron(0 3 ? {n} MON *)"),
        st.text(max_size=30).filter(
            lambda t: not t.strip().startswith("cron(") and t.strip().lower() != "immediately"
        ),
        st.integers(),
    ),
    "allowUntestedProduction": NOT_BOOLEANS,
    "rollbackImageAccounts": st.one_of(
        st.from_regex(r"[0-9]{1,11}|[0-9]{13,14}", fullmatch=True).map(lambda a: [a]),
        st.sampled_from(["12345678901a", "arn:aws:iam::123456789012:root", "١٢٣٤٥٦٧٨٩٠١٢"]).map(
            lambda a: [a]
        ),
        st.just(["123456789012", "123456789012"]),
        st.integers(),
    ),
    "approvers": st.one_of(
        st.sampled_from(
            [
                ["arn:aws:iam::111122223333:group/Admins"],
                ["arn:aws:sts::111122223333:assumed-role/Admins/alice"],
                ["arn:aws:iam::1111:role/Admins"],
                ["arn:aws:iam::111122223333:root"],
                ["arn:aws:iam::111122223333:role/Admins", "arn:aws:iam::111122223333:role/Admins"],
                ["arn:aws:iam::111122223333:role/A", "arn:aws-cn:iam::111122223333:role/B"],
            ]
        ),
        st.integers(11, 20).map(
            lambda n: [f"arn:aws:iam::111122223333:role/R{i}" for i in range(n)]
        ),
        st.text(string.ascii_letters, min_size=1).filter(lambda t: not t.startswith("arn")),
        st.lists(st.integers(), min_size=1),
        st.integers(),
    ),
    "hubAccountId": st.one_of(
        st.from_regex(r"[0-9]{1,11}|[0-9]{13,14}", fullmatch=True),
        st.sampled_from(["12345678901a", "arn:aws:iam::123456789012:root", "١٢٣٤٥٦٧٨٩٠١٢"]),
        st.integers(),
        st.lists(st.just("123456789012"), min_size=1),
    ),
    "copyToRegions": st.one_of(
        st.sampled_from([["mars-north-1"], ["cn-north-1"], ["eu-west-1", "eu-west-1"]]),
        st.lists(st.integers(), min_size=1),
        st.integers(),
    ),
    "shareWithAccounts": st.one_of(
        st.from_regex(r"[0-9]{1,11}|[0-9]{13,14}", fullmatch=True).map(
            lambda a: [{"accountId": a}]
        ),
        st.just([{"accountId": "123456789012"}, {"accountId": "123456789012"}]),
        st.just([{"accountId": "123456789012", "regions": ["eu-west-1", "eu-west-2"]}]),
        st.just([{"accountId": "123456789012", "allowFleet": False}]),
        st.integers(101, 120).map(lambda n: [{"accountId": f"{i:012d}"} for i in range(n)]),
        st.lists(st.integers(), min_size=1),
        st.integers(),
    ),
    "maxPatchAgeDays": out_of(range(366)),
    "organization": INVALID_ORGANIZATIONS,
    # Each chat ID alone is also half a channel: the error names the key either way.
    "slackWorkspaceId": st.one_of(
        st.sampled_from(["t0123abc", "T0123-ABC", "T" * 256, "T 1"]), st.integers()
    ),
    "slackChannelId": st.one_of(st.sampled_from(["C-0456", "#general", "C" * 256]), st.integers()),
    "teamsTeamId": st.one_of(
        st.sampled_from(["not-a-uuid", "1b4e28ba2fa111d2883f0016d3cca427"]), st.integers()
    ),
    "teamsChannelId": st.one_of(
        st.sampled_from(["19:abc@thread.tacv2", "abc", "19%3a" + "a" * 260 + "%40t"]),
        st.integers(),
    ),
    "teamsTenantId": st.one_of(
        st.sampled_from(["tenant", "{1b4e28ba-2fa1-11d2-883f-0016d3cca427}"]), st.integers()
    ),
}


def invalid_pairs() -> st.SearchStrategy[tuple[str, object]]:
    return st.sampled_from(list(INVALID)).flatmap(lambda key: st.tuples(st.just(key), INVALID[key]))


@settings(max_examples=300, deadline=None)
@given(invalid_pairs())
def test_any_single_invalid_value_is_reported_under_its_key(pair: tuple[str, object]) -> None:
    # Given a valid configuration but for one key
    key, raw = pair

    # When
    problems = problems_of({key: raw})

    # Then the error names that key, and only that key
    assert problems
    assert all(problem.startswith(f"{key}: ") for problem in problems)


def test_every_key_has_invalid_values_to_draw_from() -> None:
    assert list(INVALID) == list(config.KEYS)


# --- the execution history quota ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("context", "events"),
    [
        # one image checked every minute for 72 hours: 4,320 status checks
        # (50 + 4,320 x 9 + 150 + 200 for its roll-out)
        ({"imageNames": "ImgA", "pollIntervalMinutes": "1", "maxUpdateHours": "72"}, 39_280),
        # 25 images every 5 minutes for 24 hours: 288 status checks each
        (
            {
                "imageNames": ",".join(f"Img{i:02d}" for i in range(25)),
                "pollIntervalMinutes": "5",
                "maxUpdateHours": "24",
            },
            73_600,  # 50 + 25 x (288 x 9 + 150 + 200)
        ),
    ],
    ids=["one-image-every-minute", "25-images-every-5-minutes"],
)
def test_a_run_that_could_outgrow_the_history_quota_is_refused_with_the_arithmetic(
    context: dict[str, Any], events: int
) -> None:
    # Given / When
    (problem,) = problems_of(context)

    # Then the message names the keys, the figure, the limit and how it was reached
    assert problem.startswith("maxUpdateHours, pollIntervalMinutes, imageNames:")
    assert f"{events:,} history events" in problem
    assert "limit of 25,000 per execution" in problem
    assert "x 9 events" in problem


@pytest.mark.parametrize(
    "context",
    [
        {},  # cdk.json's defaults
        {"imageNames": ",".join(f"Img{i:02d}" for i in range(25))},  # 25 x 72 checks
        {"imageNames": "ImgA", "pollIntervalMinutes": "3", "maxUpdateHours": "72"},
    ],
    ids=["defaults", "25-images-default-polling", "one-image-72-hours"],
)
def test_configurations_within_the_history_quota_are_accepted(context: dict[str, Any]) -> None:
    # Given / When
    loaded = load_config(context)

    # Then
    assert history.history_events(loaded) <= history.HISTORY_EVENTS_MAX


# --- keys that are not settings ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("key", "hint"),
    [
        ("imageName", "did you mean imageNames?"),
        ("pollInterval", "did you mean pollIntervalMinutes?"),
        ("IMAGENAMES", "did you mean imageNames?"),
        ("notification-emails", "did you mean notificationEmails?"),
        ("timezone", "did you mean scheduleTimezone?"),
        ("colour", "the settings are imageNames, notificationEmails, scheduleExpression"),
    ],
)
def test_an_unknown_key_is_named_with_the_closest_setting_or_all_of_them(
    key: str, hint: str
) -> None:
    # When / Then
    (problem,) = context.unknown_key_problems([key])
    assert problem.startswith(f"{key}: unknown key, {hint}")


@pytest.mark.parametrize(
    "key",
    [
        "@aws-cdk/core:newStyleStackSynthesis",
        "@aws-cdk-containers/ecs-service-extensions:enableDefaultLogDriver",
        "aws:cdk:enable-path-metadata",
        "aws:cdk:bundling-stacks",
        "acknowledged-issue-numbers",
        "cli-telemetry",
        "availability-zones:account=123456789012:region=us-east-1",
        "ssm:account=123456789012:parameterName=/a/b:region=us-east-1",
    ],
)
def test_the_cdk_s_own_keys_are_not_settings_and_pass(key: str) -> None:
    assert context.is_cdk_context_key(key)
    assert context.unknown_key_problems([key, *config.KEYS]) == []


@pytest.mark.parametrize("key", ["aws:imageNames", "ssm", "cdk-imageNames", "imageNames:x"])
def test_keys_that_only_look_like_the_cdk_s_are_unknown(key: str) -> None:
    assert not context.is_cdk_context_key(key)
    assert len(context.unknown_key_problems([key])) == 1


def test_unknown_keys_come_before_bad_values_in_one_error() -> None:
    # Given a misspelled key beside a bad value
    context = {"maxUpdateHour": "5", "pollIntervalMinutes": "0"}

    # When
    with pytest.raises(ConfigError) as raised:
        config.load_app_config(context)

    # Then both, the unknown key first (it explains why the default applied)
    assert raised.value.problems == (
        "maxUpdateHour: unknown key, did you mean maxUpdateHours?",
        "pollIntervalMinutes: 0 must be between 1 and 60",
    )


def test_a_context_of_settings_and_cdk_keys_loads() -> None:
    context = {**config.cdk_json_feature_flags(), "aws:cdk:version-reporting": True}
    assert config.load_app_config(context) == load_config({})
