"""Every botocore session of a test process reads botocore's data through one loader per data
path (tests/conftest.py's shared_loader): a new session does not read it from disk again."""

from __future__ import annotations

import boto3
import botocore.session

from tests.conftest import shared_loader


def test_new_sessions_share_one_loader_for_the_same_data_path() -> None:
    first = boto3.Session(region_name="us-east-1")._session.get_component("data_loader")
    again = botocore.session.Session().get_component("data_loader")
    assert again is first
    # ...searching botocore's folders, and boto3's (each boto3.Session adds it), each once
    boto3.Session(region_name="us-east-1")
    made = botocore.session.create_loader.__wrapped__(None)  # type: ignore[attr-defined]
    assert set(made.search_paths) < set(first.search_paths)
    assert len(first.search_paths) == len(set(first.search_paths)) == len(made.search_paths) + 1


def test_another_data_path_has_a_loader_of_its_own(tmp_path: object) -> None:
    other = shared_loader(str(tmp_path))
    assert other is not shared_loader(None)
    assert other is shared_loader(str(tmp_path))
    assert str(tmp_path) in other.search_paths
