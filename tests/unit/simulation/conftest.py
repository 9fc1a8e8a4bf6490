"""The simulation's fixtures: one active simulation on a clock moved by hand, and a client."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from rehearsal.appstream import SimulatedAppStream
from tests.unit.simulation.support import ManualClock, new_client


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
def sim(clock: ManualClock) -> Iterator[SimulatedAppStream]:
    simulation = SimulatedAppStream(clock=clock)
    with simulation.active():
        yield simulation


@pytest.fixture
def client(sim: SimulatedAppStream) -> Any:
    return new_client()


@pytest.fixture
def prod(sim: SimulatedAppStream) -> str:
    """A running fleet "Prod" on image "Old", and an AVAILABLE image "New" of its platform."""
    sim.add_image("Old")
    sim.add_image("New")
    sim.add_fleet("Prod", image="Old")
    return "Prod"
