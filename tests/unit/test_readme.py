"""The generated parts of the README and of the docs/ pages match the code they describe."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from infra.config import KEYS, cdk_json_context
from rehearsal import docs


@pytest.mark.parametrize("page", list(docs.PAGES), ids=lambda page: page.name)
def test_readme_is_up_to_date_with_the_code(page: Path) -> None:
    # Given the README or a docs/ page as committed / When its generated sections are rendered again
    current = page.read_text(encoding="utf-8")
    # Then nothing changes (run `make docs` after changing configuration or e-mail text)
    assert docs.render(current, docs.PAGES[page]) == current


def test_the_check_fails_on_a_page_out_of_date(monkeypatch: pytest.MonkeyPatch) -> None:
    # Given a configuration table that no longer matches the configuration page
    monkeypatch.setitem(
        docs.PAGES, docs.CONFIGURATION_PAGE, {"config-table": lambda: "| `stale` | - | - |"}
    )
    # When the pages are checked / Then the check fails
    assert docs.main(["--check"]) == 1


def test_the_front_page_settings_are_rows_of_the_configuration_table() -> None:
    main = docs.main_settings().split("\n")
    keys = re.findall(r"^\| `(\w+)` \|", "\n".join(main), flags=re.MULTILINE)
    assert keys == list(docs.MAIN_SETTINGS)
    assert set(main) <= set(docs.config_table().split("\n"))


def test_configuration_table_lists_every_key_with_its_cdk_json_default() -> None:
    table = docs.config_table()
    keys = re.findall(r"^\| `(\w+)` \|", table, flags=re.MULTILINE)
    assert keys == list(KEYS)
    assert set(cdk_json_context()) == set(KEYS)


def test_sample_emails_come_from_the_message_code() -> None:
    samples = docs.sample_emails()
    assert "Subject: AppStream image ready: SalesApps-20261201-030000" in samples
    assert "INTERNAL_SERVICE_ERROR: The temporary image builder stopped unexpectedly." in samples
    assert "outcome=REJECTED" in samples
