"""`make bench`: the project's speed and size targets, measured (not asserted by tests).

- cold start as Lambda loads the code: each handler imported from its staged asset in a fresh
  interpreter, as a ratio to a process that only imports boto3 (target <= 1.25); and the poll
  handler's import plus first invocation, as a ratio to a bare boto3 program making the same
  one DescribeImages call against the same local endpoint (target <= 1.15). How each figure is
  taken is printed with it (`METHODS`);
- each zipped Lambda asset, as `cdk synth` stages it (target <= 64 KiB each);
- one simulated two-hour update at the default poll interval: state transitions, Lambda
  invocations and AppStream calls, calls made while waiting (target 0), and how long after
  the image became AVAILABLE the e-mail was written (target <= one poll interval).
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple

os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")

# A median of 21 proved too few on a shared 2-core VM: there one process's CPU time for the same
# import ranged from 251 to 534 ms, and one handler's ratio read 1.23, 1.30 and 1.24 in three
# runs of the same code (1.19 and 1.22 over 63 rounds). 41 rounds cut the median's spread by
# about 30% (the square root of 21/41) for twice the time (7.5 min on that VM).
SAMPLES = 41
# Frames the rounds' starting depths are spread over: each of `at_depth`'s frames takes about
# 120 bytes on 3.11 (the frame's header, two locals and a short stack), so 256 of them span
# nearly two of the interpreter's 16 KiB frame chunks.
DEPTH_SPAN = 256
IMPORT_TARGET = 1.25
INVOCATION_TARGET = 1.15
ASSET_TARGET_KIB = 64
PACKAGE = "image_updater"
FLOOR = "import boto3 (floor)"

METHODS = (
    "every sample is a fresh interpreter timed as a whole process (spawn to exit, by this process)",
    "each sample's program ends with os._exit(0), the floor's too: the interpreter's shutdown"
    " (finalizing modules, a last full collection) is no part of a Lambda cold start",
    "a handler is imported from its staged asset (synthesized once into a temporary directory;"
    " its own PYTHONPATH and working directory), never from lambdas/",
    "no bytecode for the project's modules: the assets hold no __pycache__ (checked before and"
    " after) and PYTHONDONTWRITEBYTECODE=1, so they compile from source as in Lambda's read-only"
    " code directory",
    "library bytecode is read, as in Lambda: boto3/botocore from the runtime, Powertools from its"
    " layer (AWS's layer ships compiled bytecode; its canary fails when the layer recompiles)",
    "each function's environment from the template (references as placeholders), fake"
    " credentials, no shared config or credentials files",
    "the floor is a process that only runs `import boto3`, same conditions, empty code directory",
    "poll's first invocation: a task whose image is still being built (one DescribeImages call,"
    " checked), against a local HTTP endpoint in this process (AWS_ENDPOINT_URL); the bare"
    " program makes the same call to the same endpoint",
    "round-robin (the floor, then each measure, in turns; one warm-up round), medians",
    f"each round starts its programs deeper in the stack, the same depth for every measure of"
    f" the round, spread over 0 to {DEPTH_SPAN - 1} frames: CPython 3.11 keeps frames in 16 KiB"
    " chunks, and a recursive parser whose calls straddle a chunk's end (re, compiling"
    " urllib3's URL patterns during boto3's import) pays an allocation per call; where that"
    " end falls depends on how deep the import starts (for one handler, one frame more moved"
    " urllib3.util.url's import from 48 to 16 ms), so no figure rests on where it happens to"
    " fall",
    "wall (the targeted figure) and, beside it, the process's own CPU time (user + system, from"
    " wait4), which a loaded machine hardly moves",
)


@dataclass(frozen=True)
class Function:
    """One Lambda function as `cdk synth` stages it."""

    module: str  # the handler module, e.g. image_updater.handlers.poll
    asset: Path  # its staged asset directory (what Lambda unpacks into /var/task)
    environment: dict[str, str]

    @property
    def name(self) -> str:
        return self.module.rsplit(".", 1)[-1]


# What the bench synthesizes: the hub as cdk.json configures it, then the functions only a
# distributing hub (copyToRegions, shareWithAccounts) or a spoke (hubAccountId) has.
CONFIGURATIONS: dict[str, dict[str, str]] = {
    "": {},
    "-distribution": {
        "copyToRegions": "eu-west-1",
        "shareWithAccounts": json.dumps(
            [{"accountId": "111122223333", "allowFleet": True, "allowImageBuilder": False}]
        ),
    },
    "-spoke": {"hubAccountId": "111122223333"},
}


def stage(outdir: Path) -> dict[str, Function]:
    """Synthesize each configuration once into `outdir` (the others beside it); each function
    by handler name, found through the template's `aws:asset:path` metadata, the first
    configuration's where two have it."""
    import aws_cdk as cdk

    from app import build_app

    found: dict[str, Function] = {}
    for suffix, context in CONFIGURATIONS.items():
        directory = outdir.with_name(outdir.name + suffix)
        app = cdk.App(
            outdir=str(directory), context={"aws:cdk:enable-asset-metadata": True, **context}
        )
        build_app(app)
        app.synth()
        for name, function in functions(directory).items():
            found.setdefault(name, function)
    return found


def functions(outdir: Path) -> dict[str, Function]:
    (template_file,) = outdir.glob("*.template.json")
    found: dict[str, Function] = {}
    for resource in json.loads(template_file.read_text())["Resources"].values():
        if resource["Type"] != "AWS::Lambda::Function":
            continue
        variables = resource["Properties"].get("Environment", {}).get("Variables", {})
        function = Function(
            module=resource["Properties"]["Handler"].rsplit(".", 1)[0],
            asset=outdir / resource["Metadata"]["aws:asset:path"],
            # A reference (a table's name, a topic's ARN) resolves at deploy: a placeholder.
            environment={
                k: v if isinstance(v, str) else f"bench-{k}" for k, v in variables.items()
            },
        )
        found[function.name] = function
    return found


def bytecode_in(directory: Path) -> list[Path]:
    """Bytecode caches in a code directory (Lambda's assets must ship none)."""
    return sorted(
        p for p in directory.rglob("*") if p.name == "__pycache__" or p.suffix in {".pyc", ".pyo"}
    )


def lambda_environment(code: Path, variables: Mapping[str, str] = {}) -> dict[str, str]:
    """What a process sees in Lambda, as far as it matters to start-up: only its code directory
    on the path, nothing of the repository, no bytecode written."""
    inherited = {k: os.environ[k] for k in ("PATH", "HOME", "LANG") if k in os.environ}
    return {
        **inherited,
        **variables,
        "PYTHONPATH": str(code),
        "PYTHONDONTWRITEBYTECODE": "1",
        "AWS_REGION": "us-east-1",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_ACCESS_KEY_ID": "bench",
        "AWS_SECRET_ACCESS_KEY": "bench",
        "AWS_SESSION_TOKEN": "bench",
        "AWS_CONFIG_FILE": os.devnull,
        "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
        "AWS_EC2_METADATA_DISABLED": "true",
        "AWS_LAMBDA_FUNCTION_NAME": "bench",
    }


class Timing(NamedTuple):
    wall: float  # seconds from spawn to exit, as the parent saw them (the figure targeted)
    cpu: float  # the process's own CPU seconds, user + system (hardly moved by load)
    # For a median: the quartiles of the samples' wall times (how noisy the machine was).
    spread: tuple[float, float] = (0.0, 0.0)


Measure = Callable[[int], Timing]  # one sample, its program started this many frames deep


def at_depth(program: str, depth: int) -> str:
    """`program`, run as a module's code `depth` frames deeper than the top of the stack."""
    return (
        "def _at(n, code):\n"
        "    if n:\n"
        "        return _at(n - 1, code)\n"
        "    exec(code, {'__name__': '__main__'})\n"
        f"_at({depth}, {program!r})\n"
    )


def process_timing(
    code: Path, program: str, *args: str, environment: Mapping[str, str] = {}, depth: int = 0
) -> Timing:
    """One fresh interpreter running `program` in code directory `code`, `depth` frames deep
    (`at_depth`), timed from spawn to exit. The program ends with os._exit: the interpreter's
    own shutdown (finalizing every module, a last full collection) is no part of a cold start,
    since Lambda keeps the process, and timing it would reward what only makes an exit
    cheaper."""
    with tempfile.TemporaryFile() as errors:
        started = time.perf_counter()
        process = subprocess.Popen(
            [
                sys.executable,
                "-s",
                "-c",
                at_depth(f"{program}\nimport os\nos._exit(0)", depth),
                *args,
            ],
            cwd=code,
            env=lambda_environment(code, environment),
            stdout=subprocess.DEVNULL,
            stderr=errors,
        )
        _, status, usage = os.wait4(process.pid, 0)
        wall = time.perf_counter() - started
        process.returncode = os.waitstatus_to_exitcode(status)
        if process.returncode != 0:
            errors.seek(0)
            raise RuntimeError(f"{program!r} failed in {code}:\n{errors.read()[-2000:]!r}")
    return Timing(wall, usage.ru_utime + usage.ru_stime)


# Prints where each of the project's modules came from and whether bytecode could be written.
WHERE_FROM = """
import importlib, json, sys
importlib.import_module(sys.argv[1])
print(json.dumps({
    "dont_write_bytecode": sys.dont_write_bytecode,
    "files": {name: getattr(module, "__file__", None) for name, module in sys.modules.items()
              if name.split(".")[0] == sys.argv[2]},
}))
"""


def imported_files(function: Function) -> dict[str, str]:
    """Import `function`'s handler as the bench does and return the project's modules it loaded
    (name -> file); refuse if any came from elsewhere than the asset or left bytecode behind."""
    if found := bytecode_in(function.asset):
        raise RuntimeError(f"the staged asset holds bytecode: {found[:3]}")
    result = subprocess.run(
        [sys.executable, "-s", "-c", WHERE_FROM, function.module, PACKAGE],
        cwd=function.asset,
        env=lambda_environment(function.asset, function.environment),
        capture_output=True,
        text=True,
        check=True,
    )
    report = json.loads(result.stdout.splitlines()[-1])
    files: dict[str, str] = report["files"]
    outside = {n: f for n, f in files.items() if not Path(f or "/").is_relative_to(function.asset)}
    if outside or not report["dont_write_bytecode"] or bytecode_in(function.asset):
        raise RuntimeError(f"{function.module} was not loaded as in Lambda: {outside or report}")
    return files


def depths(samples: int) -> list[int]:
    """Each recorded round's starting depth: evenly over 0 to DEPTH_SPAN - 1."""
    return [round_number * DEPTH_SPAN // samples for round_number in range(samples)]


def round_robin(measures: Mapping[str, Measure], samples: int) -> dict[str, Timing]:
    """Median timing of each measure (a callable given the round's stack depth), taken in
    turns so that drift in the machine's load affects them all alike; one unrecorded warm-up
    round first (file cache)."""
    taken: dict[str, list[Timing]] = {name: [] for name in measures}
    for round_number, depth in enumerate([0, *depths(samples)]):
        for name, measure in measures.items():
            timing = measure(depth)
            if round_number:
                taken[name].append(timing)
    return {name: _median(timings) for name, timings in taken.items()}


def _median(timings: list[Timing]) -> Timing:
    walls = [t.wall for t in timings]
    low, _, high = statistics.quantiles(walls, n=4) if len(walls) > 1 else walls * 3
    return Timing(statistics.median(walls), statistics.median(t.cpu for t in timings), (low, high))


def cold_imports(staged: Mapping[str, Function], samples: int) -> dict[str, Timing]:
    """Median timing of `import boto3` alone (FLOOR) and of each handler's import."""
    for function in staged.values():
        imported_files(function)

    def handler_import(function: Function) -> Measure:
        return lambda depth: process_timing(
            function.asset,
            f"import {function.module}",
            environment=function.environment,
            depth=depth,
        )

    with tempfile.TemporaryDirectory() as empty:
        measures: dict[str, Measure] = {
            FLOOR: lambda depth: process_timing(Path(empty), "import boto3", depth=depth),
            **{name: handler_import(function) for name, function in staged.items()},
        }
        return round_robin(measures, samples)
