"""`make bench`: measures and prints every target (see rehearsal/bench/__init__.py)."""

from __future__ import annotations

import os
import sys
import tempfile
import zipfile
from collections.abc import Mapping
from datetime import timedelta
from pathlib import Path

from rehearsal.bench import (
    ASSET_TARGET_KIB,
    FLOOR,
    IMPORT_TARGET,
    INVOCATION_TARGET,
    METHODS,
    SAMPLES,
    Function,
    Timing,
    cold_imports,
    stage,
)
from rehearsal.bench.invocation import poll_invocation


def asset_sizes(staged: Mapping[str, Function], workdir: Path) -> dict[str, tuple[int, int]]:
    """Each function's staged asset, zipped: handler -> (zipped bytes, files)."""
    sizes: dict[str, tuple[int, int]] = {}
    for name, function in staged.items():
        files = [p for p in function.asset.rglob("*") if p.is_file()]
        archive = workdir / f"{name}.zip"
        with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as bundle:
            for path in files:
                bundle.write(path, path.relative_to(function.asset))
        sizes[name] = (archive.stat().st_size, len(files))
    return sizes


def simulated_update() -> dict[str, float]:
    from rehearsal.appstream import SimulatedAppStream
    from rehearsal.runner import SimulatedClock, WorkflowRunner

    runner = WorkflowRunner({"imageNames": "BenchImage"})
    clock = SimulatedClock()
    sim = SimulatedAppStream(clock=clock.now)
    sim.add_image("BenchImage", updates_available=True)
    sim.script_update("BenchImage", duration=timedelta(hours=2))
    execution = runner.run(sim, clock)
    assert execution.status == "SUCCEEDED", execution.error

    polls = execution.invoked("poll")
    create = execution.invoked("create")[0]
    available_at = create.at + timedelta(hours=2)
    (report,) = execution.invoked("report")
    by_invocations = sum(i.appstream_calls for i in execution.invocations)
    return {
        "state transitions": len(execution.states),
        "Lambda invocations": len(execution.invocations),
        "AppStream calls": len(sim.calls),
        "status checks (polls)": len(polls),
        "AppStream calls per status check": sum(p.appstream_calls for p in polls) / len(polls),
        # Only Lambda invocations call AppStream; anything else happened while waiting.
        "AppStream calls while waiting": len(sim.calls) - by_invocations,
        "e-mail delay after AVAILABLE (simulated min)": (report.at - available_at).total_seconds()
        / 60,
        "poll interval (min)": runner.app.poll_interval_minutes,
    }


def _row(name: str, timing: Timing, floor: Timing) -> str:
    return (
        f"  {name:<34} {timing.wall * 1000:>8.1f} ms {timing.wall / floor.wall:>6.2f}"
        f"  {timing.cpu * 1000:>8.1f} ms {timing.cpu / floor.cpu:>6.2f}"
    )


def main(samples: int = SAMPLES) -> int:
    print(f"Machine load (1, 5, 15 min): {', '.join(f'{x:.2f}' for x in os.getloadavg())}")
    print("How the cold-start figures are taken:")
    for method in METHODS:
        print(f"  - {method}")
    with tempfile.TemporaryDirectory() as workdir:
        staged = stage(Path(workdir) / "cdk.out")
        imports = cold_imports(staged, samples)
        floor = imports.pop(FLOOR)
        print(f"\nCold import of each handler (median of {samples}; target <= {IMPORT_TARGET})")
        print(f"  {'':<34} {'wall':>8}    {'ratio':>6}  {'CPU':>8}    {'ratio':>6}")
        print(_row(FLOOR, floor, floor))
        worst = 0.0
        for name, timing in imports.items():
            worst = max(worst, timing.wall / floor.wall)
            print(_row(name, timing, floor))
        low, high = floor.spread
        print(
            f"  (the machine's noise: half of the floor's {samples} samples took between"
            f" {low * 1000:.0f} and {high * 1000:.0f} ms)"
        )
        invocation = poll_invocation(staged["poll"], samples)
        bare = invocation.pop("bare boto3 DescribeImages")
        poll = invocation["poll import + first invocation"]
        print(
            f"\nPoll's import + first invocation (median of {samples}; "
            f"target <= {INVOCATION_TARGET})"
        )
        print(_row("bare boto3 DescribeImages", bare, bare))
        print(_row("poll import + first invocation", poll, bare))
        sizes = asset_sizes(staged, Path(workdir))
    print(f"\nLambda assets, zipped (target <= {ASSET_TARGET_KIB} KiB each)")
    for handler, (zipped, files) in sizes.items():
        print(f"  {zipped / 1024:5.1f} KiB, {files} files: {handler}")
    size = max(zipped for zipped, _ in sizes.values())
    print("\nOne simulated two-hour update, default poll interval")
    figures = simulated_update()
    for name, value in figures.items():
        print(f"  {name:<46} {value:g}")
    verdicts = {
        "cold import": worst <= IMPORT_TARGET,
        "poll invocation": poll.wall / bare.wall <= INVOCATION_TARGET,
        "asset size": size <= ASSET_TARGET_KIB * 1024,
        "one call per status check": figures["AppStream calls per status check"] <= 1.0 + 1e-9,
        "e-mail within one poll interval": figures["e-mail delay after AVAILABLE (simulated min)"]
        <= figures["poll interval (min)"],
    }
    print("\nTargets: " + ", ".join(f"{k} {'met' if v else 'MISSED'}" for k, v in verdicts.items()))
    print(f"Machine load after (1, 5, 15 min): {', '.join(f'{x:.2f}' for x in os.getloadavg())}")
    return 0


if __name__ == "__main__":
    sys.exit(main(int(sys.argv[1]) if len(sys.argv) > 1 else SAMPLES))
