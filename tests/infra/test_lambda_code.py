"""Each function's asset holds what its handler imports, and nothing else of the package."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import aws_cdk as cdk
import pytest

from infra.config import cdk_json_feature_flags
from infra.constructs.lambda_code import excluded, runtime_files
from rehearsal import bench
from rehearsal.bench import invocation
from rehearsal.template import assembly_in, template_json


@pytest.fixture(scope="module")
def cloud_assembly(tmp_path_factory: pytest.TempPathFactory) -> Path:
    outdir = tmp_path_factory.mktemp("cdk.out")
    assembly_in(outdir, {**cdk_json_feature_flags(), "aws:cdk:enable-asset-metadata": True})
    return outdir


def _functions(outdir: Path) -> dict[str, tuple[str, Path]]:
    """Handler name -> (handler module, its staged asset directory), as the bench finds them."""
    return {name: (f.module, f.asset) for name, f in bench.functions(outdir).items()}


def test_every_handler_imports_from_its_own_asset_alone(cloud_assembly: Path) -> None:
    # Given each function's staged asset, and nothing of the repository on the path
    functions = _functions(cloud_assembly)
    assert len(functions) == 15
    by_asset: dict[Path, list[str]] = {}
    for module, asset in functions.values():
        by_asset.setdefault(asset, []).append(module)
    assert len(by_asset) == len(functions)  # one asset per function

    # When each asset's handlers are imported in a fresh interpreter that sees only the asset
    # (and the installed libraries, as the Powertools layer and the runtime provide them)
    for asset, modules in by_asset.items():
        result = import_alone(asset, modules)

        # Then every one of them imports
        assert result.returncode == 0, (modules, result.stderr[-2000:])


def import_alone(asset: Path, modules: list[str]) -> subprocess.CompletedProcess[str]:
    """Import `modules` in a fresh interpreter that sees only `asset` (and the installed
    libraries, as the Powertools layer and the runtime provide them)."""
    code = "; ".join(f"import {module}" for module in sorted(modules))
    environment = {
        **{k: v for k, v in os.environ.items() if k != "PYTHONPATH"},
        "PYTHONPATH": str(asset),
        "AWS_DEFAULT_REGION": "us-east-1",
    }
    return subprocess.run(
        # -B: Lambda's code directory is read-only (and the bench's tests below need the
        # assets as staged, with no bytecode)
        [
            *(sys.executable, "-I", "-B", "-c"),
            f"import sys; sys.path.insert(0, {str(asset)!r}); {code}",
        ],
        cwd=asset,
        env=environment,
        capture_output=True,
        text=True,
        check=False,
    )


def _rollout(module: str) -> bool:
    return "rollout_" in module or module.endswith(".approval_url")


def test_an_asset_holds_only_what_its_handler_imports(cloud_assembly: Path) -> None:
    for module, asset in _functions(cloud_assembly).values():
        files = {p.relative_to(asset).as_posix() for p in asset.rglob("*.py")}
        handlers = {f for f in files if f.startswith("image_updater/handlers/")}
        # its own handler, and no other function's
        own = "image_updater/" + module.split(".", 1)[1].replace(".", "/") + ".py"
        assert handlers - {"image_updater/handlers/__init__.py"} == {own}, module
        # the roll-out cannot delete images or pause schedules; the update never changes fleets
        if _rollout(module):
            assert "image_updater/retention/service.py" not in files, module
            assert "image_updater/scheduler.py" not in files, module
        else:
            assert "image_updater/rollout/fleets.py" not in files, module


def test_an_asset_holds_exactly_the_files_its_handler_needs(cloud_assembly: Path) -> None:
    # The exclude patterns leave out folders whole and take files back: the staged asset is
    # exactly the modules the handler imports, with every folder on the way
    lambdas = Path(__file__).resolve().parents[2] / "lambdas"
    for name, (_module, asset) in _functions(cloud_assembly).items():
        staged = {p.relative_to(asset).as_posix() for p in asset.rglob("*") if p.is_file()}
        assert staged == set(runtime_files(lambdas, (name,))), name
        folders = {p.relative_to(asset).as_posix() for p in asset.rglob("*") if p.is_dir()}
        assert folders == {str(Path(f).parent) for f in staged} - {"."}, name


# The roll-out's steps and their rules: each step's function holds its own alone (Lambda keeps
# no bytecode: every line a function imports is compiled again at each cold start).
ROLLOUT_STEP_MODULES = {"plan.py", "fleets.py", "rollback.py", "health.py"}
ROLLOUT_RULES = {"policy.py", "health_policy.py"}
ROLLOUT_STEPS = {
    "rollout_plan": {"plan.py", "policy.py"},
    "rollout_fleets": {"fleets.py", "rollback.py", "policy.py"},
    "rollout_health": {"health.py", "health_policy.py"},
}


def test_each_rollout_step_function_holds_its_own_step_alone(cloud_assembly: Path) -> None:
    functions = _functions(cloud_assembly)
    for name, own in ROLLOUT_STEPS.items():
        _module, asset = functions[name]
        held = {path.name for path in (asset / "image_updater" / "rollout").glob("*.py")}
        assert held & (ROLLOUT_STEP_MODULES | ROLLOUT_RULES) == own, name


def test_imports_are_followed_wherever_they_are_written(tmp_path: Path) -> None:
    # Given a package whose handler imports a module inside a function, and a name from another
    package = tmp_path / "image_updater"
    (package / "handlers").mkdir(parents=True)
    (package / "unused").mkdir()
    (package / "__pycache__").mkdir()
    for path in (
        "__init__.py",
        "handlers/__init__.py",
        "used.py",
        "unused.py",
        "named.py",
        "unused/__init__.py",
        "__pycache__/used.cpython-311.pyc",
    ):
        (package / path).write_text("")
    (tmp_path / "README.md").write_text("")
    (package / "handlers" / "step.py").write_text(
        "from image_updater.named import thing\n"
        "def handler(event, context):\n"
        "    from image_updater import used\n"
    )

    # When
    files = runtime_files(tmp_path, ("step",))

    # Then
    assert files == {
        "image_updater/__init__.py",
        "image_updater/handlers/__init__.py",
        "image_updater/handlers/step.py",
        "image_updater/named.py",
        "image_updater/used.py",
    }
    # And the CDK, copying the folder with the exclude patterns as it stages an asset, keeps
    # exactly those files
    staged = tmp_path.parent / f"{tmp_path.name}.staged"
    cdk.FileSystem.copy_directory(
        str(tmp_path), str(staged), cdk.CopyOptions(exclude=excluded(tmp_path, ["step"]))
    )
    assert {p.relative_to(staged).as_posix() for p in staged.rglob("*") if p.is_file()} == files


def test_the_asset_hash_is_the_one_a_pattern_per_left_out_file_gives() -> None:
    # The patterns name folders and take files back; the CDK's fingerprint (the asset hash)
    # digests the files kept, so it is the one a pattern per left-out file gave
    lambdas = Path(__file__).resolve().parents[2] / "lambdas"
    every_file = sorted(
        p.relative_to(lambdas).as_posix()
        for p in lambdas.rglob("*")
        if p.is_file() and "__pycache__" not in p.parts
    )
    for handler in ("check", "rollout_fleets", "distribute", "spoke_claim"):
        needed = runtime_files(lambdas, (handler,))
        one_per_file = ["**/__pycache__", "**/*.pyc", *(f for f in every_file if f not in needed)]
        assert cdk.FileSystem.fingerprint(
            str(lambdas), exclude=excluded(lambdas, [handler])
        ) == cdk.FileSystem.fingerprint(str(lambdas), exclude=one_per_file), handler


# --- how `make bench` loads a handler: as Lambda does ------------------------------------------


def test_the_staged_assets_ship_no_bytecode(cloud_assembly: Path, tmp_path: Path) -> None:
    # Given every staged asset / Then none holds a bytecode cache
    assert all(bench.bytecode_in(f.asset) == [] for f in bench.functions(cloud_assembly).values())
    # and one would be found however deep it is
    (tmp_path / "image_updater" / "domain" / "__pycache__").mkdir(parents=True)
    assert bench.bytecode_in(tmp_path) == [tmp_path / "image_updater" / "domain" / "__pycache__"]


def test_the_bench_imports_a_handler_from_its_staged_asset(cloud_assembly: Path) -> None:
    # Given the poll function as staged
    poll = bench.functions(cloud_assembly)["poll"]

    # When the bench imports it as it measures it
    files = bench.imported_files(poll)

    # Then every module of the package came from the asset (none from lambdas/), and nothing
    # was compiled into it
    assert files["image_updater.handlers.poll"] == str(
        poll.asset / "image_updater" / "handlers" / "poll.py"
    )
    assert all(Path(file).is_relative_to(poll.asset) for file in files.values())
    assert bench.bytecode_in(poll.asset) == []


def test_the_fleet_steps_import_leaves_the_images_adapter_to_production(
    cloud_assembly: Path,
) -> None:
    # Given the fleet step as staged (its asset holds the images adapter: production reads
    # images, is a newer one out?)
    fleets = bench.functions(cloud_assembly)["rollout_fleets"]
    assert (fleets.asset / "image_updater" / "integrations" / "appstream" / "images.py").is_file()

    # When it is imported as Lambda imports it
    files = bench.imported_files(fleets)

    # Then neither the images adapter nor its naming rules were loaded: the canaries' actions,
    # which never read images, do not pay for them at cold start
    assert "image_updater.handlers.rollout_fleets" in files
    assert "image_updater.integrations.appstream.images" not in files
    assert "image_updater.domain.naming" not in files


def test_the_bench_refuses_an_asset_with_bytecode(cloud_assembly: Path, tmp_path: Path) -> None:
    # Given a copy of the poll asset that ships a bytecode cache
    poll = bench.functions(cloud_assembly)["poll"]
    copy = shutil.copytree(poll.asset, tmp_path / "asset")
    (copy / "image_updater" / "__pycache__").mkdir()

    # When / Then the bench does not measure it
    with pytest.raises(RuntimeError, match="bytecode"):
        bench.imported_files(bench.Function(poll.module, copy, poll.environment))


def test_the_bench_times_poll_with_its_one_describe_images_call(cloud_assembly: Path) -> None:
    # Given the poll function as staged and the bench's local endpoint
    poll = bench.functions(cloud_assembly)["poll"]

    # When both programs run once (each run checks it made exactly one DescribeImages call)
    medians = invocation.poll_invocation(poll, samples=1)

    # Then both were timed
    assert set(medians) == {"bare boto3 DescribeImages", "poll import + first invocation"}
    assert all(timing.wall > 0 and timing.cpu > 0 for timing in medians.values())


def test_a_bench_sample_ends_before_the_interpreters_shutdown(tmp_path: Path) -> None:
    # Given a program whose shutdown would leave a trace (an atexit hook writing a file)
    trace = tmp_path / "shut-down"
    program = f"import atexit, pathlib; atexit.register(pathlib.Path({str(trace)!r}).touch)"

    # When the bench times it
    timing = bench.process_timing(tmp_path, program)

    # Then it was timed, and the interpreter's shutdown (no part of a Lambda cold start) never ran
    assert timing.wall > 0
    assert not trace.exists()


def test_a_bench_sample_runs_its_program_as_deep_as_its_round_says(tmp_path: Path) -> None:
    # Given a program that writes how deep in the stack it runs, with its argument
    found = tmp_path / "depth"
    program = (
        "import sys, pathlib\n"
        "frame, depth = sys._getframe(), 0\n"
        "while frame.f_back is not None:\n"
        "    frame, depth = frame.f_back, depth + 1\n"
        f"pathlib.Path({str(found)!r}).write_text(f'{{depth}} {{sys.argv[1]}} {{__name__}}')"
    )

    # When the bench times it at the top, then 40 frames deeper
    seen = []
    for depth in (0, 40):
        bench.process_timing(tmp_path, program, "given", depth=depth)
        seen.append(found.read_text().split())

    # Then it ran 40 frames deeper, as the main module, with its arguments
    (top, top_arg, top_name), (deeper, deeper_arg, deeper_name) = seen
    assert int(deeper) - int(top) == 40
    assert top_arg == deeper_arg == "given" and top_name == deeper_name == "__main__"


def test_the_rounds_start_their_programs_over_more_than_a_frame_chunk() -> None:
    # Given the bench's rounds / Then their depths are spread evenly over the span, each round
    # giving every measure the same depth (after an unrecorded warm-up at the top)
    assert bench.depths(4) == [0, 64, 128, 192]
    assert len(set(bench.depths(bench.SAMPLES))) == bench.SAMPLES
    assert max(bench.depths(bench.SAMPLES)) < bench.DEPTH_SPAN
    given: dict[str, list[int]] = {"a": [], "b": []}
    medians = bench.round_robin(
        {
            name: lambda depth, name=name: (
                given[name].append(depth) or bench.Timing(float(depth), 1.0)
            )
            for name in given
        },
        samples=4,
    )
    assert given["a"] == given["b"] == [0, 0, 64, 128, 192]
    # And each measure's figure is its samples' median, with their quartiles as its spread
    assert medians["a"] == bench.Timing(96.0, 1.0, spread=(16.0, 176.0))


def test_a_handlers_import_leaves_its_objects_out_of_the_collectors_way() -> None:
    # Given a fresh interpreter that imports the poll handler as Lambda does
    program = (
        "import gc, image_updater.handlers.poll; "
        "print(gc.get_freeze_count(), len(gc.get_objects()))"
    )
    result = subprocess.run(
        [sys.executable, "-B", "-c", program],
        env={**os.environ, "PYTHONPATH": str(Path(__file__).parents[2] / "lambdas")},
        capture_output=True,
        text=True,
        check=True,
    )

    # Then what the import created is frozen (gc.freeze): the first invocation's collections
    # do not walk it; only what was made after the handler was wrapped is left to them
    frozen, tracked = map(int, result.stdout.split())
    assert frozen > 10 * tracked


def test_the_bench_times_every_handler_some_configuration_deploys() -> None:
    # Given every handler module / When the bench's configurations are synthesized
    handlers = Path(__file__).resolve().parents[2] / "lambdas" / "image_updater" / "handlers"
    timed: set[str] = set()
    for context in bench.CONFIGURATIONS.values():
        template = template_json({**cdk_json_feature_flags(), **context})
        timed |= {
            resource["Properties"]["Handler"].split(".")[-2]
            for resource in template["Resources"].values()
            if resource["Type"] == "AWS::Lambda::Function"
        }
    # Then the bench stages (and times) a function of each
    assert timed == {path.stem for path in handlers.glob("*.py")} - {"__init__"}
