"""The README's generated parts match the code they describe."""

from __future__ import annotations

import re

from infra.config import KEYS, cdk_json_context
from rehearsal import docs


def test_readme_is_up_to_date_with_the_code() -> None:
    # Given the README as committed / When its generated sections are rendered again
    current = docs.README.read_text()
    # Then nothing changes (run `make docs` after changing configuration or e-mail text)
    assert docs.render(current) == current


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
