"""The synthesized-template cache (rehearsal/synth_cache.py): a template is reused only for the
same context, code, libraries and environment; otherwise the app is synthesized again."""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any

import pytest

from rehearsal import synth_cache
from rehearsal.synth_cache import TemplateCache


class Synths:
    """A stand-in synthesis that counts its calls."""

    def __init__(self) -> None:
        self.calls = 0

    def __call__(self, marker: str = "t") -> Any:
        def synthesize() -> dict[str, Any]:
            self.calls += 1
            return {"Resources": {marker: {"n": self.calls}}}

        return synthesize


def test_the_same_context_is_synthesized_once_and_read_back(tmp_path: Path) -> None:
    # Given a cache and a synthesis that counts its calls
    cache, synths = TemplateCache(tmp_path), Synths()
    # When the same context is asked for twice, the second time by another cache on the same
    # folder (another worker, or a later run)
    first = cache.template({"imageNames": "ImgA"}, synths())
    again = TemplateCache(tmp_path).template({"imageNames": "ImgA"}, synths())
    # Then it was synthesized once and read back equal
    assert synths.calls == 1
    assert again == first == {"Resources": {"t": {"n": 1}}}


def test_another_context_is_synthesized_anew(tmp_path: Path) -> None:
    cache, synths = TemplateCache(tmp_path), Synths()
    cache.template({"imageNames": "ImgA"}, synths())
    cache.template({"imageNames": "ImgB"}, synths())
    assert synths.calls == 2


def test_a_cdk_variable_is_part_of_the_key(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # Given a template synthesized without CDK_DEFAULT_REGION
    monkeypatch.delenv("CDK_DEFAULT_REGION", raising=False)
    cache, synths = TemplateCache(tmp_path), Synths()
    cache.template({}, synths())
    # When the CLI's Region is set (app.py reads it)
    monkeypatch.setenv("CDK_DEFAULT_REGION", "us-west-1")
    cache.template({}, synths())
    # Then that is another template
    assert synths.calls == 2


def test_a_change_to_the_code_synthesizes_again_and_drops_the_old_templates(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a template synthesized from the code as it is
    synths = Synths()
    TemplateCache(tmp_path).template({}, synths())
    # When a source file changes (here: the digest of one, as a different checkout would give)
    real = synth_cache.code_digest()
    monkeypatch.setattr(synth_cache, "code_digest", lambda: "0" * 24)
    cache = TemplateCache(tmp_path)
    # Then the old code's template is gone and the app is synthesized again
    assert not [path for path in tmp_path.iterdir() if path.name.startswith(real)]
    cache.template({}, synths())
    assert synths.calls == 2


def test_the_code_digest_covers_the_sources_the_template_is_built_from() -> None:
    files = {path.relative_to(synth_cache.ROOT).as_posix() for path in synth_cache._source_files()}
    assert {"app.py", "cdk.json", "infra/stack.py", "rehearsal/template.py"} <= files
    assert "lambdas/image_updater/handlers/poll.py" in files
    assert not [name for name in files if "__pycache__" in name or name.endswith(".pyc")]


def test_workers_asking_at_once_share_one_synthesis(tmp_path: Path) -> None:
    # Given a slow synthesis, and two workers asking for the same template at the same time
    synths = Synths()

    def slow() -> dict[str, Any]:
        time.sleep(0.3)
        return dict(synths()())

    results: list[Any] = []
    workers = [
        threading.Thread(target=lambda: results.append(TemplateCache(tmp_path).template({}, slow)))
        for _ in range(2)
    ]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    # Then the second waited for the first and read its template
    assert synths.calls == 1
    assert results[0] == results[1]


# --- app.py runs kept with the templates (tests/infra/conftest.py's app_py) -----------------


class AppRuns:
    """A stand-in for `python app.py`: counts its runs, writes a template naming its outdir."""

    def __init__(self) -> None:
        self.runs = 0

    def __call__(self, command: list[str], **kwargs: Any) -> Any:
        import subprocess

        self.runs += 1
        outdir = Path(kwargs["env"]["CDK_OUTDIR"])
        (outdir / "App.template.json").write_text(f'{{"run": {self.runs}, "at": "{outdir}"}}')
        return subprocess.CompletedProcess(command, 1, "", f"ERROR see {outdir}/report.json")


@pytest.fixture
def app_runs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> AppRuns:
    from rehearsal import template
    from tests.infra import conftest

    runs = AppRuns()
    monkeypatch.setattr(template, "_DISK", [TemplateCache(tmp_path / "kept")])
    monkeypatch.setattr(conftest.subprocess, "run", runs)
    monkeypatch.setattr(conftest, "node_version", lambda: "v20.0.0")
    return runs


def test_an_app_py_run_is_kept_and_given_back_in_its_new_outdir(
    tmp_path: Path, app_runs: AppRuns
) -> None:
    from tests.infra.conftest import app_py

    # Given app.py run once with a context, writing into one folder
    first_dir, second_dir = tmp_path / "a", tmp_path / "b"
    first_dir.mkdir()
    second_dir.mkdir()
    first = app_py({"imageNames": "ImgA"}, first_dir)
    # When the same run is asked for with another folder
    again = app_py({"imageNames": "ImgA"}, second_dir)
    # Then app.py ran once, and the result names the new folder, whose files are written
    assert app_runs.runs == 1
    assert first.returncode == again.returncode == 1
    assert again.stderr == f"ERROR see {second_dir}/report.json"
    assert (second_dir / "App.template.json").read_text() == (f'{{"run": 1, "at": "{second_dir}"}}')


def test_app_py_runs_again_for_another_context_environment_node_or_code(
    tmp_path: Path, app_runs: AppRuns, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tests.infra import conftest

    def run(context: dict[str, str], **environment: str) -> None:
        outdir = tmp_path / f"out{app_runs.runs}-{len(list(tmp_path.iterdir()))}"
        outdir.mkdir()
        conftest.app_py(context, outdir, **environment)

    run({"imageNames": "ImgA"})
    run({"imageNames": "ImgB"})
    assert app_runs.runs == 2
    run({"imageNames": "ImgA"}, CDK_DEFAULT_REGION="us-west-1")
    assert app_runs.runs == 3
    monkeypatch.setattr(conftest, "node_version", lambda: "v22.0.0")
    run({"imageNames": "ImgA"})
    assert app_runs.runs == 4
    monkeypatch.setattr(synth_cache, "code_digest", lambda: "another-version-of-the-code")
    run({"imageNames": "ImgA"})
    assert app_runs.runs == 5
    monkeypatch.setenv("JSII_RUNTIME", "another-node")
    run({"imageNames": "ImgA"})
    assert app_runs.runs == 6
    # ...and a run already kept is not run again
    run({"imageNames": "ImgA"})
    assert app_runs.runs == 6


def test_a_folder_is_made_once_and_copied_into_each_later_outdir(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a cloud assembly's stand-in: a folder with a file in a subfolder
    made: list[Path] = []

    def synthesize(into: Path) -> None:
        made.append(into)
        (into / "asset.1").mkdir(parents=True)
        (into / "asset.1" / "index.py").write_text(f"made in {into.name}")

    # When two outdirs (two tests, or a later run) ask for the same context
    TemplateCache(tmp_path / "kept").folder({"assembly": 1}, synthesize, tmp_path / "first")
    TemplateCache(tmp_path / "kept").folder({"assembly": 1}, synthesize, tmp_path / "second")
    # Then it was made once, and the second outdir holds the same files
    assert made == [tmp_path / "first"]
    assert (tmp_path / "second" / "asset.1" / "index.py").read_text() == "made in first"
    # And another context is made anew
    TemplateCache(tmp_path / "kept").folder({"assembly": 2}, synthesize, tmp_path / "third")
    assert made == [tmp_path / "first", tmp_path / "third"]
    # And a folder of other code is removed when the cache is opened
    monkeypatch.setattr(synth_cache, "code_digest", lambda: "another-version-of-the-code")
    TemplateCache(tmp_path / "kept")
    assert not [p for p in (tmp_path / "kept").iterdir() if p.suffix == ".d"]
