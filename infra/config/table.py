"""The settings table's rows, read from the one declaration (declaration.py): the docs'
table (rehearsal/docs.py), cdk.json's check and the context's key names come from here."""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import NamedTuple

from pydantic.fields import FieldInfo
from pydantic_core import PydanticUndefined

from infra.config.declaration import UpdaterConfig
from infra.config.distribution import Share
from infra.config.organization import Organization
from infra.config.rules import Rule


class Setting(NamedTuple):
    """One row of the settings table."""

    key: str  # the context key
    field: str  # UpdaterConfig's attribute
    type: str
    default: object  # as JSON would hold it; REQUIRED when the key must be set
    allowed: str
    description: str


REQUIRED = "(required)"
_TYPE_NAMES: Mapping[object, str] = {
    int: "integer",
    bool: "boolean",
    str: "string",
    tuple[str, ...]: "list of strings",
    tuple[Share, ...]: "list of objects",
    Mapping[str, str]: "object of strings",
    Organization | None: "object or null",
}


def _declared() -> tuple[Setting, ...]:
    rows = []
    # Pydantic sets __pydantic_fields__ on the class it builds; its stubs do not say so.
    fields: dict[str, FieldInfo] = UpdaterConfig.__pydantic_fields__  # type: ignore[attr-defined]
    for name, info in fields.items():
        (rule,) = (item for item in info.metadata if isinstance(item, Rule))
        default = info.get_default(call_default_factory=True)
        if isinstance(default, Mapping):
            default = dict(default)
        elif isinstance(default, tuple):  # a list of strings, or of shares (to_json)
            default = list(default)
        elif default is PydanticUndefined:
            default = REQUIRED
        assert info.alias is not None, name
        rows.append(
            Setting(
                key=info.alias,
                field=name,
                type=_TYPE_NAMES[info.annotation],
                default=default,
                allowed=rule.allowed,
                description=info.description or "",  # the table's test refuses ""
            )
        )
    return tuple(rows)


SETTINGS = _declared()
# Context key -> UpdaterConfig attribute, in the order of cdk.json and the settings table.
KEYS: Mapping[str, str] = MappingProxyType({row.key: row.field for row in SETTINGS})
