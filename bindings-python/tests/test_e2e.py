"""End to end: a small boto3 application (e2e/orders_app.py: S3, DynamoDB, SQS, SNS, SSM,
Secrets Manager, KMS) and its own pytest suite (e2e/suite/), run in a separate pytest process
against a real moto_server with the leastpriv plugin on — serially, with pytest-xdist
(``-n 2``), and writing Terraform. The application names its resources with a random run id;
its configuration (e2e/leastpriv.toml, and ``leastpriv_env`` in e2e/pytest.ini) maps them to
production names and Terraform references. The written policy must equal
e2e/expected_policy.json (production names only: the run id appears in no policy), the xdist run
must write the identical file, the Terraform must reference the resources and be as ``terraform
fmt`` writes it, and the secret the tests use must appear in no output.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

import leastpriv
from leastpriv import Recorder

from .conftest import SPEC, MotoServer

E2E = Path(__file__).resolve().parent / "e2e"
EXPECTED = json.loads((E2E / "expected_policy.json").read_text(encoding="utf-8"))
SECRET = "e2e-secret-5e1f0c2a-never-in-any-output"
# The run id the application names its resources with (a new one for every run of this suite).
RUN_ID = secrets.token_hex(4)
# The policy options as the plugin resolves them in e2e/ (leastpriv.toml, pytest.ini's env).
POLICY_OPTIONS: dict[str, Any] = dict(
    leastpriv.resolve_settings(E2E, {"env": "prod"}, {"config": str(E2E / "leastpriv.toml")})[
        "policy"
    ]
)

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
            "E2E_RUN_ID": RUN_ID,
        }
    )
    for k in [k for k in env if k.startswith("LEASTPRIV_")]:
        del env[k]
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
        # The ini layer from the command line (pytest -o): variables.tf beside the policy.
        "terraform": _run_suite(
            moto_server, d / "tf" / "policy.tf", "-o", "leastpriv_emit=variables"
        ),
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
    # The resources Terraform owns are referenced, not named.
    assert '"${aws_s3_bucket.docs.arn}/invoices/*",' in tf
    assert '"${aws_s3_bucket.docs.arn}",' in tf
    assert (
        '"arn:aws:dynamodb:eu-west-1:210987654321:table/${aws_dynamodb_table.orders.name}",' in tf
    )
    assert '"${aws_sns_topic.notifications.arn}",' in tf
    assert '"arn:aws:sqs:eu-west-1:210987654321:${var.events_queue}",' in tf
    variables = (runs["terraform"].policy.parent / "variables.tf").read_text()
    assert variables.startswith('variable "events_queue" {\n  type        = string\n')


def test_terraform_is_as_terraform_fmt_writes_it(runs: dict[str, Run]) -> None:
    terraform = shutil.which("terraform")
    if terraform is None:
        if os.environ.get("CI") == "true":
            pytest.fail("terraform is not on PATH, and CI must run this test")
        pytest.skip("terraform is not on PATH (outside CI only)")
    d = runs["terraform"].policy.parent
    proc = subprocess.run(
        [terraform, "fmt", "-check", "-diff", str(d)], capture_output=True, text=True, timeout=120
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_no_run_id_in_any_policy(runs: dict[str, Run]) -> None:
    for run in runs.values():
        for path in run.policy.parent.iterdir():
            if path != run.state:
                assert RUN_ID not in path.read_text(), path
    # The state keeps what was recorded, with the run's names.
    assert RUN_ID in runs["serial"].state.read_text()


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


def test_check_of_the_written_policy_is_clean_and_catches_a_removed_action(
    runs: dict[str, Run], tmp_path: Path
) -> None:
    rec = Recorder.from_bytes(runs["serial"].state.read_bytes())
    result = rec.check(runs["serial"].policy, **POLICY_OPTIONS)
    assert result["counts"] == {"missing": 0, "unused": 0, "broad": 0, "undecidable": 0}, result
    doc = json.loads(runs["serial"].policy.read_text())
    actions = sorted({a for st in doc["Statement"] for a in st["Action"]})
    for action in actions:
        cut = json.loads(runs["serial"].policy.read_text())
        for st in cut["Statement"]:
            st["Action"] = [a for a in st["Action"] if a != action]
        cut["Statement"] = [st for st in cut["Statement"] if st["Action"]]
        path = tmp_path / "cut.json"
        path.write_text(json.dumps(cut))
        got = rec.check(path, **POLICY_OPTIONS)
        missing = {f["action"] for f in got["findings"] if f["kind"] == "missing"}
        assert missing == {action}, (action, got["findings"])
        assert got["counts"]["unused"] == 0, (action, got["findings"])


def test_check_of_the_written_terraform_with_its_references_given(runs: dict[str, Run]) -> None:
    rec = Recorder.from_bytes(runs["terraform"].state.read_bytes())
    refs = {
        "aws_s3_bucket.docs.arn": "arn:aws:s3:::acme-orders-docs",
        "aws_dynamodb_table.orders.name": "orders",
        "events_queue": "orders-events-prod",
        "aws_sns_topic.notifications.arn": (
            "arn:aws:sns:eu-west-1:210987654321:orders-notifications"
        ),
    }
    result = rec.check(runs["terraform"].policy, vars=refs, **POLICY_OPTIONS)
    assert result["unresolved"] == [], result["unresolved"]
    assert result["counts"] == {"missing": 0, "unused": 0, "broad": 0, "undecidable": 0}, result
    # A reference left out matches nothing: what depends on it is missing, and it is named.
    del refs["events_queue"]
    result = rec.check(runs["terraform"].policy, vars=refs, **POLICY_OPTIONS)
    assert [u["reference"] for u in result["unresolved"]] == ["var.events_queue"]
    assert {f["action"] for f in result["findings"] if f["kind"] == "missing"} == {
        "sqs:GetQueueUrl",
        "sqs:SendMessage",
    }
