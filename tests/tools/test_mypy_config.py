"""mypy reads only the aws-cdk-lib modules this code imports (pyproject.toml): a cold run then
takes seconds, not minutes. That stays true to the checks only while the list is complete: a
module imported but missing from it would be taken as Any, and calls into it go unchecked."""

from __future__ import annotations

import ast
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _mypy_config() -> dict[str, object]:
    config: dict[str, object] = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["mypy"]
    return config


def _followed_cdk_modules() -> set[str]:
    overrides = _mypy_config()["overrides"]
    assert isinstance(overrides, list)
    return {
        module
        for override in overrides
        if override.get("follow_imports") == "normal"
        for module in override["module"]
    }


def _checked_files() -> list[Path]:
    files = _mypy_config()["files"]
    assert isinstance(files, list)
    found: list[Path] = []
    for name in files:
        path = ROOT / name
        found += sorted(path.rglob("*.py")) if path.is_dir() else [path]
    return found


def _imported_cdk_modules(path: Path) -> set[str]:
    """Every aws_cdk module a file imports, `from aws_cdk import aws_sns` included."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names if alias.name.startswith("aws_cdk")}
        elif isinstance(node, ast.ImportFrom) and (node.module or "").startswith("aws_cdk"):
            module = str(node.module)
            found.add(module)
            if module == "aws_cdk":  # submodules imported by name: aws_sns, ...
                found |= {f"aws_cdk.{alias.name}" for alias in node.names if alias.name.islower()}
    return found


def test_every_cdk_module_the_code_imports_is_type_checked() -> None:
    # Given the files mypy checks
    imported = set().union(*(_imported_cdk_modules(path) for path in _checked_files()))
    # Then every aws_cdk module they import is read by mypy, not taken as Any
    assert imported, "the scan found no aws_cdk import: it is looking in the wrong place"
    missing = imported - _followed_cdk_modules()
    assert not missing, f"add to pyproject.toml's followed aws_cdk modules: {sorted(missing)}"


def test_the_rest_of_aws_cdk_lib_is_skipped_not_the_code() -> None:
    # Given the overrides
    overrides = _mypy_config()["overrides"]
    assert isinstance(overrides, list)
    skipped = {
        module
        for override in overrides
        if override.get("follow_imports") == "skip"
        for module in override["module"]
    }
    # Then only aws-cdk-lib's other modules are skipped
    assert skipped == {"aws_cdk.*"}
    # and strict mode still applies to the code
    assert _mypy_config()["strict"] is True
