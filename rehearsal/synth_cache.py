"""Synthesized templates kept on disk, shared by the test workers and by later test runs.

A synth costs seconds of CPU (jsii, the CDK, cdk-nag), and the suite asks for the same
configurations in every worker, run after run. A template is a function of the context, the
code it is synthesized from and the installed libraries, so its key digests all three: any
change to app.py, cdk.json, infra/, lambdas/ (the assets' contents), the synthesis in this
package, an installed distribution's version, the Python version or a CDK_/AWS_ environment
variable gives a new key, and so a fresh synth. Keys of other code are removed when the cache
is opened, so it holds one version of the code's templates.
"""

from __future__ import annotations

import fcntl
import hashlib
import importlib.metadata
import json
import os
import shutil
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import cache
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
# What a template is synthesized from: files, and every file under the folders.
SOURCES = (
    "app.py",
    "cdk.json",
    "infra",
    "lambdas",
    "rehearsal/template.py",
    "rehearsal/synth_cache.py",
)
_SKIPPED_PARTS = {"__pycache__", ".mypy_cache"}

Template = dict[str, Any]


def _source_files() -> Iterator[Path]:
    for name in SOURCES:
        path = ROOT / name
        if path.is_file():
            yield path
        else:
            yield from (
                found
                for found in path.rglob("*")
                if found.is_file()
                and found.suffix != ".pyc"
                and not _SKIPPED_PARTS & set(found.relative_to(ROOT).parts)
            )


@cache
def code_digest() -> str:
    """The code and libraries every template of this process is synthesized from."""
    digest = hashlib.sha256(sys.version.encode())
    for path in sorted(_source_files()):
        digest.update(path.relative_to(ROOT).as_posix().encode() + b"\0")
        digest.update(hashlib.sha256(path.read_bytes()).digest())
    versions = sorted(
        f"{dist.metadata['Name']}=={dist.version}" for dist in importlib.metadata.distributions()
    )
    digest.update("\n".join(versions).encode())
    return digest.hexdigest()[:24]


def key(context: dict[str, Any]) -> str:
    """The file name of `context`'s template, for the code of this process."""
    environment = {k: v for k, v in os.environ.items() if k.startswith(("CDK_", "AWS_"))}
    described = json.dumps([context, environment], sort_keys=True)
    return f"{code_digest()}-{hashlib.sha256(described.encode()).hexdigest()[:32]}"


class TemplateCache:
    """One directory of `<key>.json` templates. Workers that want the same template at the
    same time take its lock in turn: the first synthesizes, the others read its file."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        directory.mkdir(parents=True, exist_ok=True)
        current = code_digest()
        for stale in directory.iterdir():
            if stale.name.startswith(current):
                continue
            if stale.is_dir():
                shutil.rmtree(stale, ignore_errors=True)
            else:
                stale.unlink(missing_ok=True)

    def template(
        self,
        context: dict[str, Any],
        synthesize: Callable[[], Template],
        keep: Callable[[Template], bool] = lambda _: True,
    ) -> Template:
        """`context`'s product, kept from an earlier call or made now and kept if `keep`
        says so (a linter's failure is given back and made again on the next run)."""
        name = key(context)
        path = self.directory / f"{name}.json"
        with self._locked(self.directory / f"{name}.lock"):
            try:
                found: Template = json.loads(path.read_text(encoding="utf-8"))
                return found
            except (FileNotFoundError, json.JSONDecodeError):
                pass
            template = synthesize()
            if not keep(template):
                return template
            partial = path.with_suffix(f".{os.getpid()}.partial")
            partial.write_text(json.dumps(template), encoding="utf-8")
            partial.replace(path)
            return template

    def folder(
        self, context: dict[str, Any], synthesize: Callable[[Path], None], into: Path
    ) -> None:
        """`context`'s folder product (a cloud assembly, with its staged assets) written into
        `into`: copied from an earlier call, or made there now and kept."""
        name = key(context)
        kept = self.directory / f"{name}.d"
        with self._locked(self.directory / f"{name}.lock"):
            if kept.is_dir():
                shutil.copytree(kept, into, dirs_exist_ok=True)
                return
            synthesize(into)
            partial = self.directory / f"{name}.{os.getpid()}.partial"
            shutil.rmtree(partial, ignore_errors=True)
            shutil.copytree(into, partial)
            partial.replace(kept)

    @staticmethod
    @contextmanager
    def _locked(lock: Path) -> Iterator[None]:
        with lock.open("a") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)
