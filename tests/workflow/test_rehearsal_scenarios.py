"""`make rehearse ARGS=<scenario>` for the scenarios that span several runs: what an admin
reading the rehearsal's output would check."""

from __future__ import annotations

import re

import pytest

from rehearsal import attacks
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
    # named after the schedule's fire time, not the machine's clock
    (fired,) = re.findall(r"^\d+: (\d{4})-(\d\d)-(\d\d) (\d\d):(\d\d) UTC", runs[0])
    assert built.startswith("SalesApps-" + "".join(fired[:3]) + "-" + "".join(fired[3:]))
    assert subjects(runs[1]) == [f"AppStream image ready: {built}"]
    assert "started by an earlier run" in runs[1]
    assert built not in "".join(subjects(runs[2]))
    assert "Images created: 0" in runs[1]
    assert "Images created: 0" in runs[2]


def progress_times(output: str) -> list[tuple[int, str]]:
    """(minutes since the schedule fired, line) for every progress line, as printed."""
    found = []
    for line in output.splitlines():
        match = re.match(r"^  \+(\d\d):(\d\d)  (.*)$", line)
        if match:
            found.append((int(match[1]) * 60 + int(match[2]), match[3]))
    return found


def test_a_batched_run_has_one_timeline(capsys: pytest.CaptureFixture[str]) -> None:
    # Given ten images, two at a time: later images wait for a free slot
    assert main(["many"]) == 0
    output = capsys.readouterr().out
    lines = progress_times(output)

    # Then the lines come in simulated-time order, later batches start late, and the total
    # is the last moment of the run
    assert [minutes for minutes, _ in lines] == sorted(minutes for minutes, _ in lines)
    (pool09_start,) = [m for m, line in lines if line.startswith("Pool09") and "available" in line]
    assert pool09_start > 60
    (total,) = re.findall(r"Execution: \w+ after (\d\d):(\d\d) h:min", output)
    assert int(total[0]) * 60 + int(total[1]) == lines[-1][0]


def test_quota_retries_show_their_waits(capsys: pytest.CaptureFixture[str]) -> None:
    # Given / When the images quota is full for the whole run
    assert main(["quota"]) == 0
    output = capsys.readouterr().out

    # Then each refused create appears at the time it was retried (10, 15, 22.5, 34 min apart)
    refused = [m for m, line in progress_times(output) if "UpdateQuotaExceeded" in line]
    assert refused == [0, 10, 25, 47, 81]


def test_the_default_rehearsal_shows_every_step_and_retention_runs(
    capsys: pytest.CaptureFixture[str],
) -> None:
    # Given / When the main job's rehearsal runs
    assert main([]) == 0
    output = capsys.readouterr().out
    # Then retention and the breaker show as steps, after the two-hour update, and both ran
    assert re.search(r"^  \+02:00  SalesApps +older images deleted: none$", output, re.M)
    assert re.search(
        r"^  \+02:00 +run recorded for the circuit breaker: RESET \(0 failed", output, re.M
    )
    assert "did not run" not in output


def test_a_listener_that_fails_is_the_rehearsals_error_not_a_functions() -> None:
    # Given a progress listener with a bug
    from datetime import timedelta

    from rehearsal.appstream import SimulatedAppStream
    from rehearsal.runner import Invocation, ListenerError, SimulatedClock, WorkflowRunner

    calls: list[str] = []

    def broken(invocation: Invocation, _: timedelta) -> None:
        calls.append(invocation.step)
        raise KeyError("subject")

    runner = WorkflowRunner({"imageNames": "ImgA"})
    clock = SimulatedClock()
    sim = SimulatedAppStream(clock=clock.now)
    sim.add_image("ImgA", updates_available=False)
    # When a run is rehearsed with it / Then the run still went as the functions decided
    # (every step ran), and the listener's error is raised to the caller afterwards
    with pytest.raises(ListenerError) as raised:
        runner.run(sim, clock, on_invocation=broken)
    assert isinstance(raised.value.__cause__, KeyError)
    assert calls == ["plan", "check", "breaker"]


def test_rollout_rehearsal_shows_canary_soak_approval_and_production_in_its_window(
    capsys: pytest.CaptureFixture[str],
) -> None:
    # Given / When
    assert main(["rollout"]) == 0
    output = capsys.readouterr().out

    # Then the whole path is there, in simulated time, in order
    steps = [
        r"\+02:00  SalesApps +roll-out planned: canary Sales-Canary; "
        r"production Sales-Prod-1, Sales-Prod-2",
        r"\+02:00  SalesApps +canary fleets now on SalesApps-\S+: Sales-Canary \(was SalesApps\)",
        r"\+26:00  SalesApps +canaries healthy after the soak",
        r"\+26:00  SalesApps +waiting for approval",
        r"\+29:00  SalesApps +\(meanwhile\) the admin ran: make run-now "
        r'ARGS="approve <execution> --image SalesApps" -> Approved the roll-out',
        r"production window starts \S+T22:00:00Z",
        r"SalesApps +production fleets now on SalesApps-\S+: Sales-Prod-1 \(was SalesApps\), "
        r"Sales-Prod-2 \(was SalesApps\)",
    ]
    positions = [re.search(step, output) for step in steps]
    assert all(positions), [s for s, p in zip(steps, positions, strict=True) if not p]
    assert [p.start() for p in positions if p] == sorted(p.start() for p in positions if p)
    assert [s.split(":")[0] for s in subjects(output)] == [
        "AppStream image ready",
        "AppStream canary fleets updated",
        "Approval needed",
        "AppStream production fleets updated",
    ]
    # and the fleet nobody tagged kept its image
    assert re.search(r"Fleets at the end: .*Training SalesApps$", output, flags=re.MULTILINE)


@pytest.mark.parametrize(
    ("scenario", "last_subject", "outcome"),
    [
        ("rollout-unhealthy", "AppStream canary UNHEALTHY, rolled back", "CANARY_ROLLED_BACK"),
        ("rollout-timeout", "AppStream roll-out approval timed out", "APPROVAL_TIMED_OUT"),
    ],
)
def test_rollout_rehearsals_that_leave_production_alone(
    capsys: pytest.CaptureFixture[str], scenario: str, last_subject: str, outcome: str
) -> None:
    assert main([scenario]) == 0
    output = capsys.readouterr().out

    assert subjects(output)[-1].startswith(last_subject)
    assert f"Roll-out of SalesApps: {outcome}" in output
    assert re.search(
        r"Fleets at the end: .*Sales-Prod-1 SalesApps; Sales-Prod-2 SalesApps;", output
    )


ACTS = [
    "a skipped canary holds production back",
    "a forged answer is ignored",
    "a fleet tagged for production after the approval is left alone",
    "a tampered rollback tag is refused",
    "a lost claim response still ends in exactly one e-mail",
]


def verdicts(output: str) -> list[tuple[str, str]]:
    """(act title, verdict line) for each act, in the order printed."""
    acts = re.findall(r"^===== act \d of 5: (.*?) =+$", output, flags=re.MULTILINE)
    lines = re.findall(r"^  Verdict: (.*)$", output, flags=re.MULTILINE)
    return list(zip(acts, lines, strict=True))


def test_rollout_attacks_rehearsal_keeps_each_promise_in_order(
    capsys: pytest.CaptureFixture[str],
) -> None:
    # Given / When the five attacks are rehearsed
    code = main(["rollout-attacks"])
    output = capsys.readouterr().out

    # Then the acts came in the order, each with its verdict computed from the run
    found = verdicts(output)
    assert len(found) == len(ACTS)
    assert all(title.startswith(act) for (title, _), act in zip(found, ACTS, strict=True))
    expected = [
        "production untouched: yes; HELD BACK e-mail: yes; nobody asked to approve: yes",
        "forged answer ignored: yes; IGNORED e-mail: yes; production on the new image in the "
        "end: yes; verified approver named: yes; claimed approver named nowhere: yes",
        "approved fleets updated: yes; late fleet left alone: yes; listed in the production "
        "e-mail: yes",
        "canary never put on the planted image: yes; refusal e-mailed with its reason: yes; "
        "run-now rollback exits 4: yes; production untouched: yes",
        "claim response lost and re-sent: yes; exactly one e-mail: yes; marked sent: yes",
    ]
    assert [line for _, line in found] == [f"{v} -> promise kept" for v in expected]
    assert "5 of 5 promises kept" in output
    assert code == 0


def test_rollout_attacks_exits_non_zero_when_a_promise_is_broken(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given an act whose run breaks one of its checks (no deployment needed to say so)
    def broken(*_: object) -> list[tuple[str, bool]]:
        return [("production untouched", False), ("HELD BACK e-mail", True)]

    monkeypatch.setattr(attacks, "WorkflowRunner", lambda context: None)
    monkeypatch.setattr(attacks, "ACTS", (("an act", broken),))

    # When
    code = main(["rollout-attacks"])

    # Then the verdict names the broken check and the command fails
    output = capsys.readouterr().out
    assert "Verdict: production untouched: NO; HELD BACK e-mail: yes -> PROMISE BROKEN" in output
    assert "0 of 1 promises kept; broken: act 1" in output
    assert code == 1
