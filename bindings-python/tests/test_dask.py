"""The Dask recipe (examples/dask_cloudtrail.py) over many CloudTrail files on a LocalCluster of
worker processes: the policy equals, byte for byte, the CLI's over the same files in one
process."""

from __future__ import annotations

import importlib
import json
import os
import subprocess
import time
from pathlib import Path
from types import ModuleType

import pytest

from .conftest import REPO, leastpriv_cli

pytest.importorskip("distributed")

EXAMPLES = REPO / "bindings-python" / "examples"


def _recipe(monkeypatch: pytest.MonkeyPatch) -> ModuleType:
    """The example, importable here and by the worker processes (as a user installs it)."""
    monkeypatch.syspath_prepend(str(EXAMPLES))
    path = os.environ.get("PYTHONPATH")
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join([str(EXAMPLES), *([path] if path else [])]))
    return importlib.import_module("dask_cloudtrail")


def _make_trail(monkeypatch: pytest.MonkeyPatch) -> ModuleType:
    monkeypatch.syspath_prepend(str(EXAMPLES))
    return importlib.import_module("make_trail")


def test_a_trail_read_on_a_local_cluster_gives_the_cli_policy(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from distributed import Client, LocalCluster

    cli = leastpriv_cli()
    recipe = _recipe(monkeypatch)
    make_trail = _make_trail(monkeypatch)
    paths = make_trail.trail(tmp_path, 60)
    expected = subprocess.run(
        [cli, "policy", "-q", "--group-by", "principal", "-j", "1", *paths],
        check=True,
        capture_output=True,
    ).stdout
    started = time.monotonic()
    with (
        LocalCluster(
            n_workers=2,
            threads_per_worker=1,
            processes=True,
            host="127.0.0.1",
            dashboard_address=None,
        ) as cluster,
        Client(cluster) as client,
    ):
        got = recipe.trail_policy(paths, group_by=True, npartitions=12, timeout=300)
        # The work ran on the workers: each read some of the files.
        assert len(client.scheduler_info()["workers"]) == 2
    elapsed = time.monotonic() - started
    assert got.encode() == expected
    policies = json.loads(got)
    roles = sorted(make_trail.ROLES)
    assert sorted(policies) == [f"arn:aws:iam::111122223333:role/{r}" for r in roles]
    # Visible in the verbose output of the test run.
    print(f"dask: {len(paths)} files on 2 worker processes in {elapsed:.1f}s")


def test_the_merge_is_the_same_in_any_grouping(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    recipe = _recipe(monkeypatch)
    paths = _make_trail(monkeypatch).trail(tmp_path, 8)
    states = [recipe.read_partition([p], {})[0] for p in paths]
    whole = recipe.merge_states(states)
    nested = recipe.merge_states(
        [recipe.merge_states(states[:3]), recipe.merge_states(states[3:][::-1])]
    )
    assert whole == nested
