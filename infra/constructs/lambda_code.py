"""What each function's asset holds: its handlers and the runtime modules they import, found by
reading the imports (not by a hand-kept list, which would drift). Each function gets an asset
of its own; the package keeps its one name, `image_updater`, in every one."""

from __future__ import annotations

import ast
from collections.abc import Iterable
from functools import cache
from pathlib import Path, PurePosixPath

PACKAGE = "image_updater"


def _module_file(root: Path, module: str) -> Path | None:
    """The file of `module` (a dotted name) under `root`, if it is one of ours."""
    base = root.joinpath(*module.split("."))
    for candidate in (base.with_suffix(".py"), base / "__init__.py"):
        if candidate.is_file():
            return candidate
    return None


def _imported_modules(path: Path) -> set[str]:
    """Every `image_updater` module `path` imports, at module level or inside functions
    (`from image_updater import events` names the module `image_updater.events`)."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names if alias.name.startswith(PACKAGE)}
        elif (
            isinstance(node, ast.ImportFrom)
            and node.level == 0
            and node.module
            and (node.module == PACKAGE or node.module.startswith(PACKAGE + "."))
        ):
            found.add(node.module)
            found |= {f"{node.module}.{alias.name}" for alias in node.names}
    return found


@cache
def runtime_files(root: Path, handlers: tuple[str, ...]) -> frozenset[str]:
    """Paths (relative to `root`, POSIX) of the files the handler modules need: each module
    they import, transitively, and the `__init__.py` of every package on the way."""
    pending = [f"{PACKAGE}.handlers.{handler}" for handler in handlers]
    seen: set[str] = set()
    files: set[str] = set()
    while pending:
        module = pending.pop()
        if module in seen:
            continue
        seen.add(module)
        path = _module_file(root, module)
        if path is None:  # a name imported from a module, not a module itself
            continue
        files.add(path.relative_to(root).as_posix())
        parts = module.split(".")
        pending += [".".join(parts[:end]) for end in range(1, len(parts))]
        pending += sorted(_imported_modules(path))
    return frozenset(files)


def excluded(root: Path, handlers: Iterable[str]) -> list[str]:
    """`Code.from_asset` exclude patterns: everything under `root` the handlers do not need,
    and bytecode caches.

    Said per folder the handlers need something from: `folder/*` leaves all of it out, then
    `!folder/name` takes back each file or folder they need; what `root` itself holds and they
    do not need is named. The CDK matches every pattern against every path it walks (with a
    pattern per file left out, about 0.15 s of a synth per function) and does not enter a
    folder left out. The asset hash digests the files the walk keeps, not the patterns."""
    needed = runtime_files(root, tuple(sorted(handlers)))
    kept = needed | {parent.as_posix() for path in needed for parent in PurePosixPath(path).parents}
    patterns = ["**/__pycache__", "**/*.pyc", "**/.mypy_cache"]
    patterns += sorted(
        path.name for path in root.iterdir() if path.name not in kept | {"__pycache__"}
    )
    for folder in sorted(kept - needed - {"."}):
        patterns.append(f"{folder}/*")
        patterns += [
            f"!{path}" for path in sorted(kept) if PurePosixPath(path).parent.as_posix() == folder
        ]
    return patterns
