"""End to end: a small boto3 application (e2e/orders_app.py: S3, DynamoDB, SQS, SNS, SSM,
Secrets Manager, KMS) and its own pytest suite (e2e/suite/), run in a separate pytest process
against a real moto_server with the leastpriv plugin on — serially, with pytest-xdist
(``-n 2``), and writing Terraform. The written policy must equal e2e/expected_policy.json, the
xdist run must write the identical file, and the secret the tests use must appear in no output.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from leastpriv import Recorder

from .conftest import SPEC, MotoServer

E2E = Path(__file__).resolve().parent / "e2e"
EXPECTED = json.loads((E2E / "expected_policy.json").read_text(encoding="utf-8"))
SECRET = "e2e-secret-5e1f0c2a-never-in-any-output"
TARGET = [
    "--leastpriv-region=eu-west-1",
    "--leastpriv-account=210987654321",
    "--leastpriv-map-account=123456789012=210987654321",
]
POLICY_OPTIONS: dict[str, Any] = {
    "region": "eu-west-1",
    "account": "210987654321",
    "map_account": {"123456789012": "210987654321"},
}

# IAM prefix -> the rules file its permissions come from.
RULE_FILES = {
    "dynamodb": "dynamodb",
    "kms": "kms",
    "s3": "s3",
    "secretsmanager": "secretsmanager",
    "sns": "sns",
    "sqs": "sqs",
    "ssm": "ssm",
}


@dataclass
class Run:
    policy: Path
    state: Path
    stdout: str
    stderr: str


def _run_suite(moto: MotoServer, out: Path, *extra: str) -> Run:
    moto.reset()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "PYTEST_"))}
    env.update(
        {
            "AWS_ENDPOINT_URL": moto.url,
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            "AWS_DEFAULT_REGION": "eu-west-1",
            "AWS_CONFIG_FILE": os.devnull,
            "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
            "E2E_SECRET": SECRET,
        }
    )
    env.pop("LEASTPRIV_PYTEST_CONTROLLER", None)
    state = out.with_suffix(".state.json")
    cmd = [
        sys.executable,
        "-m",
        "pytest",
        "-p",
        "no:cacheprovider",
        f"--leastpriv-out={out}",
        f"--leastpriv-state={state}",
        *TARGET,
        *extra,
    ]
    proc = subprocess.run(
        cmd, cwd=E2E, env=env, capture_output=True, text=True, timeout=600, stdin=subprocess.DEVNULL
    )
    assert proc.returncode == 0, f"{' '.join(cmd)}\n{proc.stdout}\n{proc.stderr}"
    assert "6 passed" in proc.stdout, proc.stdout
    return Run(out, state, proc.stdout, proc.stderr)


@pytest.fixture(scope="module")
def runs(moto_server: MotoServer, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Run]:
    d = tmp_path_factory.mktemp("e2e")
    return {
        "serial": _run_suite(moto_server, d / "serial" / "policy.json"),
        "xdist": _run_suite(moto_server, d / "xdist" / "policy.json", "-n", "2"),
        "terraform": _run_suite(moto_server, d / "tf" / "policy.tf"),
    }


def _statements(doc: dict[str, Any]) -> dict[str, set[str]]:
    """Statements without Sids, per IAM prefix, as canonical JSON strings."""
    out: dict[str, set[str]] = {}
    for st in doc["Statement"]:
        prefix = st["Action"][0].split(":")[0]
        body = {k: st[k] for k in ("Action", "Resource", "Condition") if k in st}
        out.setdefault(prefix, set()).add(json.dumps(body, sort_keys=True))
    return out


@pytest.mark.parametrize("prefix", sorted(RULE_FILES))
def test_policy_equals_the_expected_one(runs: dict[str, Run], prefix: str) -> None:
    # A deleted rules file fails here: the engine would fall back to `prefix:Operation` on `*`.
    assert (SPEC / "services" / f"{RULE_FILES[prefix]}.json").exists()
    got = _statements(json.loads(runs["serial"].policy.read_text()))
    want = _statements(EXPECTED)
    assert got.get(prefix) == want[prefix]


def test_no_unexpected_statements(runs: dict[str, Run]) -> None:
    doc = json.loads(runs["serial"].policy.read_text())
    assert set(_statements(doc)) == set(RULE_FILES)
    sids = [st["Sid"] for st in doc["Statement"]]
    assert len(sids) == len(set(sids)) and all(s.isalnum() for s in sids)
    assert doc["Version"] == "2012-10-17"


def test_xdist_writes_the_identical_file(runs: dict[str, Run]) -> None:
    assert "2 workers" in runs["xdist"].stdout or "created: 2/2 workers" in runs["xdist"].stdout
    assert runs["xdist"].policy.read_bytes() == runs["serial"].policy.read_bytes()
    serial = Recorder.from_bytes(runs["serial"].state.read_bytes())
    xdist = Recorder.from_bytes(runs["xdist"].state.read_bytes())
    assert xdist.evidence() == serial.evidence()
    assert xdist.counts == serial.counts


def test_terraform_output(runs: dict[str, Run]) -> None:
    tf = runs["terraform"].policy.read_text()
    rec = Recorder.from_bytes(runs["terraform"].state.read_bytes())
    assert tf == rec.policy(**POLICY_OPTIONS).to_terraform()
    assert 'data "aws_iam_policy_document" "leastpriv" {' in tf
    assert '"arn:aws:secretsmanager:eu-west-1:210987654321:secret:orders/db-password-&{?}' not in tf
    assert "secret:orders/db-password-??????" in tf


def test_evidence_names_the_test_that_first_needed_each_permission(runs: dict[str, Run]) -> None:
    rec = Recorder.from_bytes(runs["serial"].state.read_bytes())
    first = {e["action"]: e["first"]["source"] for e in rec.evidence(**POLICY_OPTIONS)}
    assert first["sns:Publish"] == "suite/test_orders.py::test_place_and_read_an_order"
    assert first["dynamodb:Query"] == "suite/test_orders.py::test_orders_of_a_customer"
    assert first["secretsmanager:PutSecretValue"] == (
        "suite/test_orders.py::test_rotate_database_password"
    )
    assert first["s3:ListBucket"] == "suite/test_orders.py::test_small_order_is_not_notified"
    assert all(src.startswith("suite/test_orders.py::") for src in first.values())


def test_fixture_setup_is_not_recorded(runs: dict[str, Run]) -> None:
    actions = {
        e["action"] for e in Recorder.from_bytes(runs["serial"].state.read_bytes()).evidence()
    }
    for created_by_fixtures in (
        "s3:CreateBucket",
        "dynamodb:CreateTable",
        "sqs:CreateQueue",
        "ssm:PutParameter",
        "secretsmanager:CreateSecret",
        "kms:CreateKey",
        "kms:CreateAlias",
        "sns:CreateTopic",
    ):
        assert created_by_fixtures not in actions


def test_secret_appears_in_no_output(runs: dict[str, Run]) -> None:
    for run in runs.values():
        for blob in (
            run.policy.read_bytes(),
            run.state.read_bytes(),
            run.stdout.encode(),
            run.stderr.encode(),
        ):
            assert SECRET.encode() not in blob
        for path in run.policy.parent.iterdir():
            assert SECRET.encode() not in path.read_bytes()
