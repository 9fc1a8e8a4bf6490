"""The settings table (rehearsal/docs.py `config_table`) is rendered from the declaration."""

from __future__ import annotations

from infra.config import KEYS, SETTINGS
from rehearsal import docs


def table_rows() -> list[list[str]]:
    lines = docs.config_table().splitlines()
    assert lines[0] == "| key | type | default | allowed | meaning |"
    return [[cell.strip() for cell in line.strip("|").split(" | ")] for line in lines[2:]]


def test_the_table_lists_every_declared_key_once_in_order() -> None:
    # Given / When the table is rendered
    rows = table_rows()

    # Then one row per setting, in the declaration's order
    assert [row[0] for row in rows] == [f"`{key}`" for key in KEYS]


def test_every_row_has_a_type_a_default_a_rule_and_a_description() -> None:
    for key, kind, default, allowed, meaning in table_rows():
        kinds = ("integer", "boolean", "string", "list of strings", "object of strings")
        assert kind in (*kinds, "list of objects")
        assert default == "required" or (default.startswith("`") and default.endswith("`"))
        assert allowed, key
        assert meaning, f"{key} has no description"


def test_the_rows_come_from_the_declaration() -> None:
    rows = {row[0]: row for row in table_rows()}
    for setting in SETTINGS:
        _key, kind, _default, allowed, meaning = rows[f"`{setting.key}`"]
        assert (kind, allowed, meaning) == (setting.type, setting.allowed, setting.description)
    assert rows["`pollIntervalMinutes`"][1:4] == ["integer", "`10`", "1 to 60"]
    assert rows["`imageNames`"][2] == "required"
