"""Reading a setting's raw value: a native JSON value (cdk.json) or a string (`-c key=value`).

Each reader returns the typed value or raises Unparsable, whose message is the rule the value
breaks (the key and the value are added by the caller).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from types import MappingProxyType

from image_updater.rollout.window import IMMEDIATELY

_INTEGER = re.compile(r"-?[0-9]+")


class Unparsable(ValueError):
    """The value is not of the key's type; its message is the rule."""


def as_int(raw: object) -> int:
    if isinstance(raw, bool):
        raise Unparsable("must be an integer, not a boolean")
    if isinstance(raw, int):
        return raw
    if isinstance(raw, float) and raw.is_integer():
        return int(raw)
    if isinstance(raw, str) and _INTEGER.fullmatch(raw.strip()):
        return int(raw.strip())
    raise Unparsable("must be an integer")


def as_bool(raw: object) -> bool:
    if isinstance(raw, bool):
        return raw
    if isinstance(raw, str) and raw.strip().lower() in ("true", "false"):
        return raw.strip().lower() == "true"
    raise Unparsable("must be true or false")


def as_str(raw: object) -> str:
    if isinstance(raw, str):
        return raw.strip()
    raise Unparsable("must be a string")


def as_str_list(raw: object) -> tuple[str, ...]:
    rule = "must be a list of strings: a JSON list or comma-separated"
    if isinstance(raw, str):
        if not raw.strip().startswith("["):
            return tuple(item.strip() for item in raw.split(",") if item.strip())
        try:
            raw = json.loads(raw)
        except json.JSONDecodeError:
            raise Unparsable(f"{rule} (invalid JSON)") from None
    if isinstance(raw, list | tuple) and all(isinstance(item, str) for item in raw):
        return tuple(raw)
    raise Unparsable(rule)


def as_window(raw: object) -> str:
    text = as_str(raw)
    return IMMEDIATELY if text.lower() == IMMEDIATELY else text


def as_tags(raw: object) -> Mapping[str, str]:
    rule = "must be a JSON object whose values are strings"
    if isinstance(raw, str):
        if not raw.strip():
            return MappingProxyType({})
        try:
            raw = json.loads(raw)
        except json.JSONDecodeError:
            raise Unparsable(f"{rule} (invalid JSON)") from None
    if isinstance(raw, Mapping) and all(
        isinstance(key, str) and isinstance(value, str) for key, value in raw.items()
    ):
        return MappingProxyType(dict(raw))
    raise Unparsable(rule)
