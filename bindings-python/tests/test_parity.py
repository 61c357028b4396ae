"""Parity with the CLI: the same calls and options through the Python API give, byte for byte,
what the `leastpriv` command line writes (the policy, the Terraform, the permission lines, the
serialized state). The Node package has the same test (bindings-node/test/parity.test.js)."""

from __future__ import annotations

import json
import os
import subprocess
from typing import Any

import pytest

from leastpriv import Recorder

from .conftest import SPEC

CALLS = SPEC / "examples" / "parity.jsonl"

# Each option set: as Python keywords, as the command line's flags for the permissions (the
# target), and its flags for the policy only.
OPTION_SETS: list[tuple[dict[str, Any], list[str], list[str]]] = [
    (
        {"region": "eu-west-1", "account": "123456789012"},
        ["--region", "eu-west-1", "--account", "123456789012"],
        [],
    ),
    (
        {
            "region": "eu-west-1",
            "account": "210987654321",
            "map_account": {"123456789012": "210987654321"},
            "map_region": ["us-east-1=eu-west-1"],
            "outcome": "ok",
            "exclude": ["sts:*"],
            "s3_objects": "exact",
            "group_by": True,
        },
        [
            "--region", "eu-west-1", "--account", "210987654321",
            "--map-account", "123456789012=210987654321", "--map-region", "us-east-1=eu-west-1",
            "--outcome", "ok", "--exclude", "sts:*",
        ],
        ["--s3-objects", "exact", "--group-by", "principal"],
    ),
]  # fmt: skip


def _cli(*args: str) -> bytes:
    cli = os.environ.get("LEASTPRIV_CLI")
    if not cli:
        pytest.skip("LEASTPRIV_CLI is not set (scripts/test-python.sh sets it)")
    out = subprocess.run([cli, *args], capture_output=True, check=True)
    return out.stdout


def _recorded() -> Recorder:
    """The calls of the file, each given to `record()` as a program would."""
    rec = Recorder()
    for line in CALLS.read_text(encoding="utf-8").splitlines():
        c = json.loads(line)
        rec.record(
            c["service"],
            c["operation"],
            c.get("params"),
            region=c.get("region"),
            outcome=c.get("outcome"),
            error_code=c.get("error_code"),
            principal=c.get("principal"),
            source=c.get("source"),
        )
    return rec


def _read() -> Recorder:
    rec = Recorder()
    rec.read(CALLS)
    return rec


@pytest.mark.parametrize("options,target,policy_only", OPTION_SETS)
@pytest.mark.parametrize("feed", [_recorded, _read], ids=["record", "read"])
def test_outputs_equal_the_clis(
    feed: Any, options: dict[str, Any], target: list[str], policy_only: list[str]
) -> None:
    rec = feed()
    policy = rec.policy(**options)
    flags = [*target, *policy_only]
    assert policy.to_json().encode() == _cli("policy", "-q", str(CALLS), *flags)
    terraform = _cli("policy", "-q", "--format", "terraform", str(CALLS), *flags)
    assert policy.to_terraform().encode() == terraform
    lines = "".join(
        json.dumps(line, separators=(",", ":"), ensure_ascii=False) + "\n"
        for line in rec.permissions(**options)
    )
    assert lines.encode() == _cli("permissions", str(CALLS), *target)


def test_the_state_equals_the_clis() -> None:
    cli_state = _cli("merge", str(CALLS))
    assert _read().to_bytes() == cli_state
    # Recorded calls carry their `source` labels and no line, as the file's do.
    assert _recorded().to_bytes() == cli_state
