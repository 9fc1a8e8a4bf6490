"""Every test runs without the network: a client that misses the simulation or moto (say, one
created from a boto3 session older than moto's hooks) fails its test instead of reaching AWS,
even where the code under test catches the error (botocore wraps it as HTTPClientError, which
the product reports as "unreachable"): every attempt is recorded and fails the test at its end.
Loopback stays open; subprocesses (make, cdk) are not affected."""

from __future__ import annotations

import ipaddress
import socket
from typing import Any

import botocore.session
import pytest

from rehearsal import template


class NetworkBlocked(RuntimeError):
    """Not an OSError on purpose: no SDK or HTTP library retries it or turns it into a
    connection error that the product would report as "AWS unreachable"."""


_getaddrinfo = socket.getaddrinfo
_connect = socket.socket.connect
_LOCAL_NAMES = {"localhost", "127.0.0.1", "::1", ""}
# What tests tried to reach, since the current test began.
attempts: list[str] = []


def _is_local(host: Any) -> bool:
    if host is None or str(host) in _LOCAL_NAMES:
        return True
    try:
        return ipaddress.ip_address(str(host)).is_loopback
    except ValueError:
        return False


def _guarded_getaddrinfo(host: Any, *args: Any, **kwargs: Any) -> Any:
    if not _is_local(host):
        attempts.append(str(host))
        raise NetworkBlocked(f"a test tried to resolve {host!r}: tests run offline")
    return _getaddrinfo(host, *args, **kwargs)


def _guarded_connect(self: socket.socket, address: Any) -> None:
    if self.family in (socket.AF_INET, socket.AF_INET6) and not _is_local(address[0]):
        attempts.append(str(address[0]))
        raise NetworkBlocked(f"a test tried to connect to {address!r}: tests run offline")
    _connect(self, address)


# The files whose tests synthesize in-process beyond the kept templates (an app built and
# synthesized, or read for its annotations, on each run). A process's first such synth costs
# about 8 s of CPU (node loads aws-cdk-lib and cdk-nag), the later ones under 2 s: with
# `--dist loadfile` these files would each go to either worker, and both would pay it. They
# form one scope, so one worker runs them all (tests/unit/test_scheduling.py keeps the list
# whole: every file that calls build_app is in it).
IN_PROCESS_SYNTHS = frozenset(
    {
        "tests/infra/test_app.py",
        "tests/infra/test_approval.py",
        "tests/infra/test_deploy_limits.py",
        "tests/infra/test_distribution_home.py",
        "tests/infra/test_organization.py",
        "tests/infra/test_layer.py",
        "tests/infra/test_stack.py",
        "tests/unit/test_regions.py",
    }
)
IN_PROCESS_SYNTHS_SCOPE = "in-process synths"


def scope_of(nodeid: str) -> str:
    """The scope a test is scheduled with: its file, or the in-process synths' scope."""
    path = nodeid.split("::", 1)[0]
    return IN_PROCESS_SYNTHS_SCOPE if path in IN_PROCESS_SYNTHS else path


def pytest_xdist_make_scheduler(config: pytest.Config, log: Any) -> Any:
    """`--dist loadfile` (pyproject.toml), with the in-process synths as one scope."""
    if config.getvalue("dist") != "loadfile":
        return None
    from xdist.scheduler import LoadFileScheduling

    class LoadFileAndSynthsScheduling(LoadFileScheduling):
        def _split_scope(self, nodeid: str) -> str:
            return scope_of(nodeid)

    return LoadFileAndSynthsScheduling(config, log)


_create_loader = botocore.session.create_loader
_LOADERS: dict[str | None, Any] = {}


class _SearchPaths(list[str]):
    """A loader's search paths, each once: boto3.Session appends its data folder to its
    loader's paths on every new session."""

    def append(self, path: str) -> None:
        if path not in self:
            super().append(path)


def shared_loader(search_path_string: str | None = None) -> Any:
    """botocore's data loader, one per data path for every session of the test process.

    Each new botocore session (moto's, a tool's `boto3.Session(...)`, a test's) otherwise makes
    a loader of its own and reads the endpoint and service data from disk again, about 0.1 s of
    CPU each, hundreds of times a run. A loader only reads files, and gives every caller the
    same parsed data already (it caches per instance): sharing it changes no result."""
    if search_path_string not in _LOADERS:
        loader = _create_loader(search_path_string)
        loader._search_paths = _SearchPaths(loader.search_paths)
        _LOADERS[search_path_string] = loader
    return _LOADERS[search_path_string]


shared_loader.__wrapped__ = _create_loader  # type: ignore[attr-defined]


def pytest_configure(config: pytest.Config) -> None:
    botocore.session.create_loader = shared_loader
    # Each configuration is synthesized once, not once per worker and run (its key digests the
    # code and libraries: rehearsal/synth_cache.py). Without pytest's cache, once per process.
    cache = getattr(config, "cache", None)
    template.keep_templates_in(cache.mkdir("synth") if cache is not None else None)
    socket.getaddrinfo = _guarded_getaddrinfo  # type: ignore[assignment]
    socket.socket.connect = _guarded_connect  # type: ignore[method-assign]


def pytest_unconfigure(config: pytest.Config) -> None:
    botocore.session.create_loader = _create_loader
    socket.getaddrinfo = _getaddrinfo
    socket.socket.connect = _connect  # type: ignore[method-assign]


@pytest.fixture(autouse=True)
def no_network_was_tried() -> Any:
    attempts.clear()
    yield
    assert not attempts, f"the test tried to reach the network: {sorted(set(attempts))}"
