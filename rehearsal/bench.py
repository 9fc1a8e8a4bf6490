"""`make bench`: the project's speed and size targets, measured (not asserted by tests).

- cold import of each handler module in a fresh interpreter, as a ratio to `import boto3`
  alone (median of several runs; target <= 1.25);
- each zipped Lambda asset, as `cdk synth` stages it (target <= 64 KiB each);
- one simulated two-hour update at the default poll interval: state transitions, Lambda
  invocations and AppStream calls, calls made while waiting (target 0), and how long after
  the image became AVAILABLE the e-mail was written (target <= one poll interval).
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
import zipfile
from datetime import timedelta
from pathlib import Path

os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")

ROOT = Path(__file__).resolve().parents[1]
HANDLERS = (
    *("plan", "check", "create", "poll", "report", "retain", "breaker"),
    *("rollout_plan", "rollout_fleets", "rollout_health", "rollout_approval"),
    *("rollout_window", "rollout_report", "rollout_verify", "approval_url"),
)
RUNS = 25
IMPORT_TARGET = 1.25
ASSET_TARGET_KIB = 64


def _import_seconds(statement: str) -> float:
    code = (
        "import time; started = time.perf_counter(); "
        f"{statement}; print(time.perf_counter() - started)"
    )
    environment = {
        **os.environ,
        "PYTHONPATH": str(ROOT / "lambdas"),
        "PYTHONDONTWRITEBYTECODE": "",
        "AWS_DEFAULT_REGION": "us-east-1",
        "POWERTOOLS_SERVICE_NAME": "bench",
    }
    output = subprocess.run(
        [sys.executable, "-c", code], env=environment, capture_output=True, text=True, check=True
    ).stdout
    return float(output.strip())


def cold_imports() -> list[tuple[str, float, float]]:
    """Median cold-import time of boto3 alone and of each handler, measured round-robin so
    that drift in machine load affects them all alike."""
    statements = {"import boto3 (baseline)": "import boto3"} | {
        f"image_updater.handlers.{h}": f"import image_updater.handlers.{h}" for h in HANDLERS
    }
    samples: dict[str, list[float]] = {name: [] for name in statements}
    for statement in statements.values():
        _import_seconds(statement)  # warm the file-system cache and the .pyc files
    for _ in range(RUNS):
        for name, statement in statements.items():
            samples[name].append(_import_seconds(statement))
    medians = {name: statistics.median(values) for name, values in samples.items()}
    baseline = medians["import boto3 (baseline)"]
    return [(name, seconds, seconds / baseline) for name, seconds in medians.items()]


def asset_sizes() -> dict[str, tuple[int, int]]:
    """Each Lambda asset `cdk synth` stages (one per function): its handler ->
    (zipped bytes, files)."""
    import aws_cdk as cdk

    from app import build_app

    sizes: dict[str, tuple[int, int]] = {}
    with tempfile.TemporaryDirectory() as outdir:
        app = cdk.App(outdir=outdir)
        build_app(app)
        app.synth()
        for asset in sorted(p for p in Path(outdir).glob("asset.*") if p.is_dir()):
            files = [p for p in asset.rglob("*") if p.is_file()]
            archive = Path(outdir) / f"{asset.name}.zip"
            with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as bundle:
                for path in files:
                    bundle.write(path, path.relative_to(asset))
            handlers = sorted(p.stem for p in (asset / "image_updater" / "handlers").glob("*.py"))
            label = ", ".join(h for h in handlers if h != "__init__")
            sizes[label] = (archive.stat().st_size, len(files))
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


def main() -> int:
    print(f"Cold import in a fresh interpreter (median of {RUNS} runs)")
    print(f"  {'module':<34} {'ms':>8} {'ratio':>7}  target <= {IMPORT_TARGET}")
    worst = 0.0
    for name, seconds, ratio in cold_imports():
        worst = max(worst, ratio)
        print(f"  {name:<34} {seconds * 1000:>8.1f} {ratio:>7.2f}")
    sizes = asset_sizes()
    print(f"\nLambda assets, zipped (target <= {ASSET_TARGET_KIB} KiB each)")
    for handlers, (zipped, files) in sizes.items():
        print(f"  {zipped / 1024:5.1f} KiB, {files} files: {handlers}")
    size = max(zipped for zipped, _ in sizes.values())
    print("\nOne simulated two-hour update, default poll interval")
    figures = simulated_update()
    for name, value in figures.items():
        print(f"  {name:<46} {value:g}")
    verdicts = {
        "cold import": worst <= IMPORT_TARGET,
        "asset size": size <= ASSET_TARGET_KIB * 1024,
        "one call per status check": figures["AppStream calls per status check"] <= 1.0 + 1e-9,
        "e-mail within one poll interval": figures["e-mail delay after AVAILABLE (simulated min)"]
        <= figures["poll interval (min)"],
    }
    print("\nTargets: " + ", ".join(f"{k} {'met' if v else 'MISSED'}" for k, v in verdicts.items()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
