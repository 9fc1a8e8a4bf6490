"""How a setting is declared: its Rule (read the raw value, check it, say the rule in the
settings table's words) and `setting(...)` (context key, default, description). Every problem
travels as one PydanticCustomError per key, turned back into lines by infra/config/loading.py."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable, Mapping
from types import MappingProxyType
from typing import Any

from pydantic import Field, GetCoreSchemaHandler
from pydantic_core import PydanticCustomError, core_schema

from infra.config import values
from infra.config.parsing import Unparsable, as_bool, as_int, as_str_list

# The error type every problem travels in; its context holds the problem lines.
PROBLEMS = "updater_config"


def broken(problems: Iterable[str]) -> PydanticCustomError:
    """The problems of one key (or of one cross-key rule), each a line of the ConfigError."""
    return PydanticCustomError(PROBLEMS, "the configuration breaks a rule", {"problems": problems})


@dataclasses.dataclass(frozen=True)
class Rule:
    """How a setting's raw value is read (`parse`) and checked (`check`), as Annotated metadata.

    A value that cannot be read is one problem, "<value> <rule>", and is not checked further;
    `check` yields every other problem. `allowed` is the rule in the settings table's words.
    """

    parse: Callable[[object], Any]
    check: Callable[[Any], Iterable[str]]
    allowed: str
    bounds: range | None = None  # an integer setting's range

    def __get_pydantic_core_schema__(
        self, source: Any, handler: GetCoreSchemaHandler
    ) -> core_schema.CoreSchema:
        return core_schema.no_info_plain_validator_function(self.validate)

    def validate(self, raw: object) -> Any:
        try:
            value = self.parse(raw)
        except Unparsable as rule:
            raise broken((f"{raw!r} {rule}",)) from None
        problems = tuple(self.check(value))
        if problems:
            raise broken(problems)
        return value


def between(low: int, high: int) -> Rule:
    bounds = range(low, high + 1)
    return Rule(as_int, values.within(bounds), f"{low} to {high}", bounds)


def names(check: Callable[[tuple[str, ...]], Iterable[str]], allowed: str) -> Rule:
    """A list of strings: a JSON list or comma-separated."""
    return Rule(as_str_list, check, allowed)


Names = tuple[str, ...]
FLAG = Rule(as_bool, values.no_problems, "true or false")


def setting(key: str, default: object, doc: str) -> Any:
    """A field's context key, default (none: the key must be set) and table description.

    A mapping default is kept read-only and left out of the hash (a mapping proxy is not
    hashable; equal configurations still hash equal).
    """
    if isinstance(default, Mapping):
        frozen = dict(default)
        field = Field(
            default_factory=lambda: MappingProxyType(dict(frozen)), alias=key, description=doc
        )
        return dataclasses.field(default=field, hash=False)
    return Field(default, alias=key, description=doc)
