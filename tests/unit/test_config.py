"""The configuration contract: cdk.json defaults, `-c key=value` strings, and every rule."""

from __future__ import annotations

import dataclasses
import json
import string
import zoneinfo
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from image_updater.domain import naming
from infra import config
from infra.config import ConfigError, UpdaterConfig, load_config

LONG_ROOT = "Img" + "x" * 90
TOO_LONG_EMAIL = "o@" + ".".join(["d" * 63] * 4) + ".com"  # each part valid, 261 in all


def problems_of(context: dict[str, Any]) -> tuple[str, ...]:
    with pytest.raises(ConfigError) as raised:
        load_config(context)
    return raised.value.problems


# --- defaults ------------------------------------------------------------------------------------


def test_defaults_come_from_cdk_json_and_are_valid() -> None:
    # Given the context in cdk.json
    defaults = json.loads(config.CDK_JSON.read_text())["context"]

    # When nothing overrides it
    loaded = load_config({})

    # Then every field holds cdk.json's value
    assert loaded.image_names == tuple(defaults["imageNames"])
    assert loaded.notification_emails == tuple(defaults["notificationEmails"])
    assert dict(loaded.new_image_tags) == defaults["newImageTags"]
    scalars = set(config.KEYS) - {"imageNames", "notificationEmails", "newImageTags"}
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

    assert list(config.KEY_DOCS) == list(config.KEYS)
    assert list(config.KEYS.values()) == fields
    assert all(doc and "\n" not in doc for doc in config.KEY_DOCS.values())


def test_a_key_absent_from_context_and_cdk_json_is_reported_missing(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    # Given a cdk.json without notifyNoUpdate
    partial = config.cdk_json_context()
    del partial["notifyNoUpdate"]
    cdk_json = tmp_path / "cdk.json"
    cdk_json.write_text(json.dumps({"context": partial}))
    monkeypatch.setattr(config, "CDK_JSON", cdk_json)

    # When the context does not set it either
    problems = problems_of({})

    # Then
    assert problems == (
        "notifyNoUpdate: missing (set it in cdk.json or with -c notifyNoUpdate=...)",
    )


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
        ("logRetentionDays", "365", 365),
    ],
)
def test_string_and_native_forms_parse(key: str, raw: object, expected: object) -> None:
    # When a key is given as cdk deploy -c would give it
    loaded = load_config({key: raw})

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
    ("newImageTags", {"Team!": "EUC"}, ["'Team!'", "may contain only"]),
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

ZONES = sorted(zoneinfo.available_timezones() | {"UTC"})
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
    minutes = draw(st.sampled_from(["0", "15", "*/30", "0,30", "5-10"]))
    hours = draw(st.sampled_from(["3", "*", "1-5", "*/6", "0,12"]))
    month = draw(st.sampled_from(["*", "JAN", "jan-jun", "1,7"]))
    year = draw(st.sampled_from(["*", "2026", "2026-2030"]))
    return f"cron({minutes} {hours} {day_of_month} {month} {day_of_week} {year})"


tag_maps = st.dictionaries(
    st.text(TAG_ALPHABET, min_size=1, max_size=128).filter(
        lambda key: naming.tag_problem(key, "") is None
    ),
    st.text(TAG_ALPHABET, max_size=256),
    max_size=config.NEW_IMAGE_TAGS_MAX,
)


def no_derived_roots(names: list[str]) -> bool:
    return not any(naming.is_derived_name(root, other) for root in names for other in names)


@st.composite
def valid_settings(draw: st.DrawFn) -> dict[str, object]:
    """A valid value for every key, as the config should hold it."""
    names = draw(image_name_lists.filter(no_derived_roots))
    return {
        "imageNames": tuple(names),
        "notificationEmails": tuple(
            draw(st.lists(emails, max_size=4, unique_by=str.lower)),
        ),
        "scheduleExpression": draw(st.one_of(rates, crons())),
        "scheduleTimezone": draw(st.sampled_from(ZONES)),
        "pollIntervalMinutes": draw(st.integers(1, 60)),
        "maxUpdateHours": draw(st.integers(1, 72)),
        "maxConcurrentUpdates": draw(st.integers(1, 20)),
        "notifyNoUpdate": draw(st.booleans()),
        "newImageTags": draw(tag_maps),
        "scheduleEnabled": draw(st.booleans()),
        "logRetentionDays": draw(st.sampled_from(config.LOG_RETENTION_DAYS)),
        "logExecutionData": draw(st.booleans()),
    }


def as_cli_string(value: object, draw: st.DrawFn) -> object:
    """How `cdk deploy -c key=value` could spell `value`."""
    if isinstance(value, bool):
        return draw(st.sampled_from([str(value).lower(), str(value), str(value).upper()]))
    if isinstance(value, int):
        return str(value)
    if isinstance(value, tuple):
        return draw(st.sampled_from([",".join(value), json.dumps(list(value))]))
    if isinstance(value, dict):
        return json.dumps(value)
    return value


@st.composite
def valid_contexts(draw: st.DrawFn) -> tuple[dict[str, object], dict[str, object]]:
    expected = draw(valid_settings())
    context = {
        key: as_cli_string(value, draw) if draw(st.booleans()) else value
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
        st.text(max_size=30).filter(lambda t: not t.strip().startswith(("rate(", "cron("))),
        st.integers(),
    ),
    "scheduleTimezone": st.one_of(
        st.text(max_size=30).filter(lambda zone: zone.strip() not in ZONES),
        st.integers(),
    ),
    "pollIntervalMinutes": out_of(config.POLL_INTERVAL_MINUTES),
    "maxUpdateHours": out_of(config.MAX_UPDATE_HOURS),
    "maxConcurrentUpdates": out_of(config.MAX_CONCURRENT_UPDATES),
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
        st.integers().filter(lambda days: days not in config.LOG_RETENTION_DAYS), NOT_INTEGERS
    ),
    "logExecutionData": NOT_BOOLEANS,
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
