"""`make rehearse ARGS=<scenario>` for the scenarios that span several runs: what an admin
reading the rehearsal's output would check."""

from __future__ import annotations

import re

import pytest

from rehearsal.__main__ import main

pytestmark = pytest.mark.workflow


def subjects(output: str) -> list[str]:
    return re.findall(r"^Subject: (.*)$", output, flags=re.MULTILINE)


def test_overlap_rehearsal_builds_one_image_and_sends_one_e_mail(
    capsys: pytest.CaptureFixture[str],
) -> None:
    # Given / When
    assert main(["overlap"]) == 0
    output = capsys.readouterr().out

    # Then the hand-started run's image is the one followed and announced, once
    (by_hand,) = re.findall(
        r"a run started by hand: check -> UPDATE, create -> FOLLOW (\S+)", output
    )
    assert subjects(output) == [f"AppStream image ready: {by_hand}"]
    assert "Images created: 1" in output


def test_outlive_rehearsal_reports_the_update_once_on_the_next_day(
    capsys: pytest.CaptureFixture[str],
) -> None:
    # Given / When
    assert main(["outlive"]) == 0
    output = capsys.readouterr().out

    # Then run 1 says it is still running, run 2 that it is ready, run 3 nothing about it
    runs = output.split("===== run ")[1:]
    assert len(runs) == 3
    (first,) = subjects(runs[0])
    assert first == "AppStream image update still running: SalesApps"
    (built,) = re.findall(r"New image:\s+(\S+)", runs[0])
    assert subjects(runs[1]) == [f"AppStream image ready: {built}"]
    assert "started by an earlier run" in runs[1]
    assert built not in "".join(subjects(runs[2]))
    assert "Images created: 0" in runs[1]
    assert "Images created: 0" in runs[2]
