"""The rules of the settings that are not schedules: names, addresses, numbers, tags.

Each rule yields "<offending value> <rule>", one line per problem; the caller adds the key.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator, Mapping
from functools import cache
from importlib import resources

from image_updater.domain import naming

IMAGE_NAMES_MAX = 25
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
EMAIL_PATTERN = _EMAIL.pattern  # also the StackSet spokes' parameters' AllowedPattern
# CloudWatch alarm names are UTF-8 without ASCII control characters.
_ASCII_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def image_names_problems(names: tuple[str, ...]) -> Iterator[str]:
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


def email_problems(emails: tuple[str, ...]) -> Iterator[str]:
    for email in emails:
        if len(email) > EMAIL_MAX or not _EMAIL.fullmatch(email):
            yield f"{email!r} must be an e-mail address like name@example.com"
    # SNS would send twice to addresses that differ only in case.
    yield from _duplicates(emails, fold_case=True)


def alarm_names_problems(names: tuple[str, ...]) -> Iterator[str]:
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


def account_ids_problems(accounts: tuple[str, ...]) -> Iterator[str]:
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


def timezone_problems(zone: str) -> Iterator[str]:
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


def within(bounds: range) -> Callable[[int], Iterator[str]]:
    def problems(number: int) -> Iterator[str]:
        if number not in bounds:
            yield f"{number!r} must be between {bounds.start} and {bounds.stop - 1}"

    return problems


def tags_problems(tags: Mapping[str, str]) -> Iterator[str]:
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


def retention_problems(days: int) -> Iterator[str]:
    if days not in LOG_RETENTION_DAYS:
        allowed = ", ".join(map(str, LOG_RETENTION_DAYS))
        yield f"{days!r} must be one of CloudWatch Logs' retention periods: {allowed}"


def no_problems(_value: object) -> Iterator[str]:
    return iter(())
