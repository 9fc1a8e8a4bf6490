"""The simulated account the run-now status tests share (tests/tools/status_account.py)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from tests.tools.status_account import Account


@pytest.fixture
def account(monkeypatch: pytest.MonkeyPatch) -> Iterator[Account]:
    # Imported here: the other tools tests never load the simulation and moto.
    from tests.tools.status_account import simulated_account

    with simulated_account(monkeypatch) as simulated:
        yield simulated
