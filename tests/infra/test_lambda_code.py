"""Each function's asset holds what its handler imports, and nothing else of the package."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import aws_cdk as cdk
import pytest

from app import build_app
from infra.config import cdk_json_feature_flags
from infra.constructs.lambda_code import excluded, runtime_files


@pytest.fixture(scope="module")
def cloud_assembly(tmp_path_factory: pytest.TempPathFactory) -> Path:
    outdir = tmp_path_factory.mktemp("cdk.out")
    app = cdk.App(
        outdir=str(outdir),
        context={**cdk_json_feature_flags(), "aws:cdk:enable-asset-metadata": True},
    )
    build_app(app)
    app.synth()
    return outdir


def _functions(outdir: Path) -> dict[str, tuple[str, Path]]:
    """Logical id -> (handler module, its staged asset directory)."""
    (template_file,) = outdir.glob("*.template.json")
    resources = json.loads(template_file.read_text())["Resources"]
    found = {}
    for logical_id, resource in resources.items():
        if resource["Type"] != "AWS::Lambda::Function":
            continue
        module = resource["Properties"]["Handler"].rsplit(".", 1)[0]
        found[logical_id] = (module, outdir / resource["Metadata"]["aws:asset:path"])
    return found


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
        code = "; ".join(f"import {module}" for module in sorted(modules))
        environment = {
            **{k: v for k, v in os.environ.items() if k != "PYTHONPATH"},
            "PYTHONPATH": str(asset),
            "AWS_DEFAULT_REGION": "us-east-1",
        }
        result = subprocess.run(
            [sys.executable, "-I", "-c", f"import sys; sys.path.insert(0, {str(asset)!r}); {code}"],
            cwd=asset,
            env=environment,
            capture_output=True,
            text=True,
            check=False,
        )

        # Then every one of them imports
        assert result.returncode == 0, (modules, result.stderr[-2000:])


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
            assert "image_updater/rollout/service.py" not in files, module


def test_imports_are_followed_wherever_they_are_written(tmp_path: Path) -> None:
    # Given a package whose handler imports a module inside a function, and a name from another
    package = tmp_path / "image_updater"
    (package / "handlers").mkdir(parents=True)
    for path in ("__init__.py", "handlers/__init__.py", "used.py", "unused.py", "named.py"):
        (package / path).write_text("")
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
    assert "image_updater/unused.py" in excluded(tmp_path, ["step"])
