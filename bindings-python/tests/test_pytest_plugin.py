"""The pytest plugin, run on small inner test suites (boto3 clients answered by botocore's
Stubber, so no server is needed here; test_e2e.py runs one against moto_server)."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import pytest

from leastpriv import Recorder

pytestmark = pytest.mark.usefixtures("aws_env")

CONFTEST = """
import boto3
import pytest
from botocore.stub import Stubber

# Created when conftest.py is imported, before any test: still recorded.
MODULE_CLIENT = boto3.client("sqs", region_name="eu-west-1")


def stubbed(client, *ops):
    stub = Stubber(client)
    for op in ops:
        stub.add_response(op, {})
    stub.activate()
    return stub


@pytest.fixture
def s3():
    client = boto3.Session(region_name="eu-west-1").client("s3")
    stub = stubbed(client, "create_bucket", "list_objects_v2", "delete_bucket")
    client.create_bucket(Bucket="fixture-bucket")  # setup: not recorded by default
    yield client
    client.delete_bucket(Bucket="fixture-bucket")  # teardown: not recorded by default
    stub.deactivate()
"""

TESTS = """
import leastpriv
from botocore.stub import Stubber
from conftest import MODULE_CLIENT, stubbed


def test_lists(s3):
    s3.list_objects_v2(Bucket="fixture-bucket")


def test_module_client():
    stub = stubbed(MODULE_CLIENT, "list_queues")
    MODULE_CLIENT.list_queues()
    stub.deactivate()


def test_paused():
    import boto3
    ddb = boto3.client("dynamodb", region_name="eu-west-1")
    stub = stubbed(ddb, "describe_table")
    with leastpriv.paused():
        ddb.describe_table(TableName="setup-table")
    stub.deactivate()


def test_manual(leastpriv_recorder):
    leastpriv_recorder.record("kinesis", "PutRecord", {"StreamName": "clicks"},
                              region="eu-west-1", source="manual")
"""


@pytest.fixture
def suite(pytester: pytest.Pytester) -> pytest.Pytester:
    pytester.makeconftest(CONFTEST)
    pytester.makepyfile(test_suite=TESTS)
    return pytester


def _actions(policy_json: str) -> dict[str, list[str]]:
    doc = json.loads(policy_json)
    out: dict[str, list[str]] = {}
    for st in doc["Statement"]:
        for a in st["Action"]:
            out[a] = sorted(st["Resource"])
    return out


def _run(p: pytest.Pytester, *args: str) -> pytest.RunResult:
    return p.runpytest_subprocess("-p", "no:cacheprovider", *args)


def test_default_records_the_call_phase(suite: pytest.Pytester) -> None:
    out = suite.path / "iam" / "policy.json"
    state = suite.path / "state.json"
    result = _run(
        suite,
        f"--leastpriv-out={out}",
        f"--leastpriv-state={state}",
        "--leastpriv-account=123456789012",
        "--leastpriv-region=eu-west-1",
    )
    result.assert_outcomes(passed=4)
    result.stdout.fnmatch_lines(["*leastpriv*", f"policy written to {out}"])
    assert _actions(out.read_text()) == {
        "s3:ListBucket": ["arn:aws:s3:::fixture-bucket"],
        "sqs:ListQueues": ["*"],
        "kinesis:PutRecord": ["arn:aws:kinesis:eu-west-1:123456789012:stream/clicks"],
    }
    # Nothing else left in the output directory (the write is atomic).
    assert [p.name for p in out.parent.iterdir()] == ["policy.json"]
    # Every permission's evidence is the node id of the test that first needed it.
    rec = Recorder.from_bytes(state.read_bytes())
    evidence = {e["action"]: e["first"]["source"] for e in rec.evidence()}
    assert evidence == {
        "s3:ListBucket": "test_suite.py::test_lists",
        "sqs:ListQueues": "test_suite.py::test_module_client",
        "kinesis:PutRecord": "manual",
    }


def test_all_phases(suite: pytest.Pytester) -> None:
    out = suite.path / "policy.json"
    _run(
        suite,
        f"--leastpriv-out={out}",
        "--leastpriv-phases",
        "setup,call,teardown",
        "--leastpriv-region=eu-west-1",
    ).assert_outcomes(passed=4)
    actions = set(_actions(out.read_text()))
    assert {"s3:CreateBucket", "s3:DeleteBucket", "s3:ListBucket"} <= actions
    assert "dynamodb:DescribeTable" not in actions  # paused


def test_terraform_from_the_extension(suite: pytest.Pytester) -> None:
    out = suite.path / "policy.tf"
    _run(
        suite,
        f"--leastpriv-out={out}",
        "--leastpriv-name=orders_service",
        "--leastpriv-map-account=123456789012=210987654321",
    ).assert_outcomes(passed=4)
    text = out.read_text()
    assert 'data "aws_iam_policy_document" "orders_service" {' in text
    assert "data.aws_caller_identity.current.account_id" in text
    forced = suite.path / "policy-as-json.tf"
    _run(suite, f"--leastpriv-out={forced}", "--leastpriv-format=json").assert_outcomes(passed=4)
    assert json.loads(forced.read_text())["Version"] == "2012-10-17"


def test_xdist_gives_the_same_file(suite: pytest.Pytester) -> None:
    serial = suite.path / "serial.json"
    parallel = suite.path / "parallel.json"
    common = ["--leastpriv-region=eu-west-1", "--leastpriv-account=123456789012"]
    _run(suite, f"--leastpriv-out={serial}", *common).assert_outcomes(passed=4)
    result = _run(suite, "-n", "2", f"--leastpriv-out={parallel}", *common)
    result.assert_outcomes(passed=4)
    assert parallel.read_bytes() == serial.read_bytes()


@pytest.mark.parametrize(
    "bad",
    [
        ["--leastpriv-phases=setup,lunch"],
        ["--leastpriv-account=nope"],
        ["--leastpriv-map-account=123"],
    ],
)
def test_bad_options_are_usage_errors(suite: pytest.Pytester, bad: list[str]) -> None:
    out = suite.path / "policy.json"
    result = _run(suite, f"--leastpriv-out={out}", *bad)
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    assert not out.exists()


def test_inactive_without_options(suite: pytest.Pytester) -> None:
    _run(suite).assert_outcomes(passed=4)
    assert not list(suite.path.glob("*.json"))


def test_plugin_is_registered_by_its_entry_point(pytester: pytest.Pytester) -> None:
    result = pytester.runpytest_subprocess("--help")
    result.stdout.fnmatch_lines(["*--leastpriv-out=PATH*", "*--leastpriv-phases=PHASES*"])


def test_written_policy_matches_the_api(suite: pytest.Pytester, tmp_path: Path) -> None:
    out = suite.path / "policy.json"
    state = suite.path / "state.json"
    _run(
        suite,
        f"--leastpriv-out={out}",
        f"--leastpriv-state={state}",
        "--leastpriv-region=eu-west-1",
    ).assert_outcomes(passed=4)
    rec = Recorder.from_bytes(state.read_bytes())
    assert out.read_text() == rec.policy(region="eu-west-1").to_json()


@pytest.mark.skipif(os.name != "posix", reason="POSIX file modes")
def test_written_files_get_the_umask_mode_or_keep_an_existing_files(tmp_path: Path) -> None:
    from leastpriv.pytest_plugin import _write_atomically

    old = os.umask(0o027)
    try:
        new = tmp_path / "iam" / "policy.json"
        _write_atomically(new, b"{}")
        assert stat.S_IMODE(new.stat().st_mode) == 0o640  # 0666 & ~umask, as the CLI
        existing = tmp_path / "state.json"
        existing.write_bytes(b"old")
        existing.chmod(0o604)
        _write_atomically(existing, b"new")
        assert existing.read_bytes() == b"new"
        assert stat.S_IMODE(existing.stat().st_mode) == 0o604
    finally:
        os.umask(old)
    assert not [p for p in tmp_path.rglob("*.tmp")]


# -- the configuration file and its layers -----------------------------------------------------

TEST_RUN_NAMES = """
def test_run_named(leastpriv_recorder):
    leastpriv_recorder.record("s3", "PutObject", {"Bucket": "orders-test-8f3a2c", "Key": "a/b.pdf"},
                              region="eu-west-1", account="123456789012", source="named")
    leastpriv_recorder.record("sqs", "SendMessage",
                              {"QueueUrl": "https://sqs.eu-west-1.amazonaws.com/123456789012/jobs-8f3a2c"},
                              source="named")
"""

CONFIG = """
out = "iam/policy.json"
region = "eu-west-1"
map_account = {{ "123456789012" = "210987654321" }}
{extra}
[[rewrite]]
service = "s3"
type = "bucket"
match = "orders-test-*"
name = "orders-<env>"
terraform_arn = "aws_s3_bucket.orders.arn"

[[rewrite]]
service = "sqs"
match = "jobs-*"
name = "jobs"

[env.prod]
account = "210987654321"
"""


@pytest.fixture
def configured(pytester: pytest.Pytester) -> pytest.Pytester:
    (pytester.path / ".git").mkdir()  # the repository root: the search stops here
    pytester.makepyfile(test_named=TEST_RUN_NAMES)
    return pytester


def test_the_configuration_file_alone_turns_the_plugin_on(configured: pytest.Pytester) -> None:
    (configured.path / "leastpriv.toml").write_text(CONFIG.format(extra=""))
    configured.makeini("[pytest]\nleastpriv_env = prod\n")
    _run(configured).assert_outcomes(passed=1)
    got = _actions((configured.path / "iam" / "policy.json").read_text())
    assert got == {
        "s3:PutObject": ["arn:aws:s3:::orders-prod/a/b.pdf"],
        "sqs:SendMessage": ["arn:aws:sqs:eu-west-1:210987654321:jobs"],
    }


def test_pyproject_table_and_terraform_references(configured: pytest.Pytester) -> None:
    body = CONFIG.format(extra="").replace('out = "iam/policy.json"', 'out = "iam/policy.tf"')
    body = body.replace("[[rewrite]]", "[[tool.leastpriv.rewrite]]")
    body = body.replace("[env.prod]", "[tool.leastpriv.env.prod]")
    (configured.path / "pyproject.toml").write_text(
        "[tool.pytest.ini_options]\nleastpriv_env = 'prod'\n\n[tool.leastpriv]\n" + body
    )
    _run(configured).assert_outcomes(passed=1)
    tf = (configured.path / "iam" / "policy.tf").read_text()
    assert '"${aws_s3_bucket.orders.arn}/a/b.pdf",' in tf
    assert "8f3a2c" not in tf


def test_precedence_command_line_environment_ini_file(
    configured: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    (configured.path / "leastpriv.toml").write_text(CONFIG.format(extra='name = "from_file"'))
    configured.makeini("[pytest]\nleastpriv_env = prod\nleastpriv_name = from_ini\n")

    def name() -> str:
        text = (configured.path / "iam" / "policy.tf").read_text()
        return text.split('data "aws_iam_policy_document" "')[1].split('"')[0]

    tf = ["--leastpriv-format=terraform", f"--leastpriv-out={configured.path / 'iam/policy.tf'}"]
    _run(configured, *tf).assert_outcomes(passed=1)
    assert name() == "from_ini"
    monkeypatch.setenv("LEASTPRIV_NAME", "from_env")
    _run(configured, *tf).assert_outcomes(passed=1)
    assert name() == "from_env"
    _run(configured, *tf, "--leastpriv-name=from_cli").assert_outcomes(passed=1)
    assert name() == "from_cli"


def test_two_configurations_in_one_directory(configured: pytest.Pytester) -> None:
    (configured.path / "leastpriv.toml").write_text(CONFIG.format(extra=""))
    (configured.path / "pyproject.toml").write_text('[tool.leastpriv]\nregion = "eu-west-1"\n')
    result = _run(configured)
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*leastpriv.toml and *pyproject.toml*"])


def test_a_rewrite_error_fails_the_session_and_says_why(configured: pytest.Pytester) -> None:
    # No environment is chosen, and the bucket's template needs one.
    (configured.path / "leastpriv.toml").write_text(CONFIG.format(extra=""))
    result = _run(configured)
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    result.stdout.fnmatch_lines(["*leastpriv: error: rewrite rule 1 (match `orders-test-*`)*env*"])
    assert not (configured.path / "iam" / "policy.json").exists()


def test_check_fails_the_session_when_a_permission_is_missing(configured: pytest.Pytester) -> None:
    declared = configured.path / "iam" / "declared.json"
    declared.parent.mkdir()
    declared.write_text(
        json.dumps(
            {
                "Version": "2012-10-17",
                "Statement": [
                    {
                        "Effect": "Allow",
                        "Action": "s3:PutObject",
                        "Resource": "arn:aws:s3:::orders-test-8f3a2c/*",
                    }
                ],
            },
            indent=2,
        )
    )
    result = _run(configured, f"--leastpriv-check={declared}", "--leastpriv-config=none")
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    result.stdout.fnmatch_lines(
        [
            "*leastpriv check*",
            "missing: `sqs:SendMessage` on *jobs-8f3a2c* is needed but not allowed*",
        ]
    )
    # With the queue allowed too, the session passes; the bucket pattern is reported as broad.
    doc = json.loads(declared.read_text())
    doc["Statement"].append({"Effect": "Allow", "Action": "sqs:SendMessage", "Resource": "*"})
    declared.write_text(json.dumps(doc, indent=2))
    configured.makeini("[pytest]\nleastpriv_check = iam/declared.json\nleastpriv_config = none\n")
    result = _run(configured)
    result.assert_outcomes(passed=1)
    assert result.ret == 0
    result.stdout.fnmatch_lines(["*broad: *declared.json:*", "*0 missing*"])
