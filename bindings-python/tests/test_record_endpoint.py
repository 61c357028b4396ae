"""``leastpriv record`` between boto3 and moto_server: a client with nothing but an endpoint URL
is recorded off the wire, and the permissions equal those the instrumented boto3 recorder
gives for the very same calls."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import boto3
import pytest

import leastpriv.boto3
from leastpriv import Recorder

from .conftest import MotoServer, _free_port, leastpriv_cli

ACCOUNT = "123456789012"


class Endpoint:
    def __init__(self, upstream: str, out: Path, log: Path, proxy: bool = False) -> None:
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.calls = out / "calls.jsonl"
        self.policy = out / "policy.json"
        self._log = open(log, "wb")  # noqa: SIM115 - closed in stop()
        self.proc = subprocess.Popen(
            [
                leastpriv_cli(),
                "record",
                "--listen",
                f"127.0.0.1:{self.port}",
                "--upstream",
                upstream,
                "-o",
                str(self.calls),
                "--policy-out",
                str(self.policy),
                "--account",
                ACCOUNT,
                "--config",
                "none",
                *(["--proxy", "--ca-dir", str(out / "ca")] if proxy else []),
            ],
            stdout=subprocess.DEVNULL,
            stderr=self._log,
            stdin=subprocess.DEVNULL,
        )
        piddir = os.environ.get("LEASTPRIV_TEST_PIDDIR")
        if piddir:
            (Path(piddir) / f"record-{self.proc.pid}.pid").write_text(str(self.proc.pid))
        self.logfile = log
        self.ca = out / "ca" / "ca.pem"
        deadline = time.monotonic() + 30
        while b"listening on" not in log.read_bytes():
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"leastpriv record did not start: {log.read_text()}")
            time.sleep(0.05)

    def stop(self) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        code = self.proc.wait(timeout=30)
        self._log.close()
        return code


@pytest.fixture
def endpoint(moto_server: MotoServer, tmp_path: Path) -> Iterator[Endpoint]:
    moto_server.reset()
    e = Endpoint(moto_server.url, tmp_path, tmp_path / "record.log")
    try:
        yield e
    finally:
        e.stop()


def _workload(session: boto3.Session, url: str) -> None:
    s3 = session.client("s3", endpoint_url=url)
    s3.create_bucket(Bucket="orders", CreateBucketConfiguration={"LocationConstraint": "eu-west-1"})
    s3.put_object(Bucket="orders", Key="invoices/2026/1.pdf", Body=b"%PDF")
    s3.get_object(Bucket="orders", Key="invoices/2026/1.pdf")["Body"].read()
    s3.head_object(Bucket="orders", Key="invoices/2026/1.pdf")
    s3.copy_object(
        Bucket="orders",
        Key="archive/1.pdf",
        CopySource={"Bucket": "orders", "Key": "invoices/2026/1.pdf"},
    )
    s3.list_objects_v2(Bucket="orders", Prefix="invoices/")
    s3.put_object(Bucket="orders", Key="tmp/a.txt", Body=b"a")
    s3.delete_objects(
        Bucket="orders", Delete={"Objects": [{"Key": "tmp/a.txt"}, {"Key": "tmp/b.txt"}]}
    )
    with pytest.raises(s3.exceptions.NoSuchKey):
        s3.get_object(Bucket="orders", Key="missing.pdf")
    sqs = session.client("sqs", endpoint_url=url)
    q = sqs.create_queue(QueueName="jobs")["QueueUrl"]
    sqs.send_message(QueueUrl=q, MessageBody="hello")
    for m in sqs.receive_message(QueueUrl=q, WaitTimeSeconds=0).get("Messages", []):
        sqs.delete_message(QueueUrl=q, ReceiptHandle=m["ReceiptHandle"])
    ddb = session.client("dynamodb", endpoint_url=url)
    ddb.create_table(
        TableName="orders",
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    ddb.put_item(TableName="orders", Item={"pk": {"S": "o-1"}})
    ddb.get_item(TableName="orders", Key={"pk": {"S": "o-1"}})
    sns = session.client("sns", endpoint_url=url)
    topic = sns.create_topic(Name="events")["TopicArn"]
    sns.publish(TopicArn=topic, Message="m")
    ssm = session.client("ssm", endpoint_url=url)
    ssm.put_parameter(Name="/app/db-host", Value="db", Type="String")
    ssm.get_parameter(Name="/app/db-host")
    sm = session.client("secretsmanager", endpoint_url=url)
    sm.create_secret(Name="prod/db", SecretString="s")
    sm.get_secret_value(SecretId="prod/db")
    kms = session.client("kms", endpoint_url=url)
    key = kms.create_key()["KeyMetadata"]["KeyId"]
    kms.encrypt(KeyId=key, Plaintext=b"x")
    ec2 = session.client("ec2", endpoint_url=url)
    ec2.describe_instances(InstanceIds=[])
    iam = session.client("iam", endpoint_url=url)
    iam.create_role(RoleName="app", AssumeRolePolicyDocument="{}")
    iam.get_role(RoleName="app")
    session.client("sts", endpoint_url=url).get_caller_identity()


@pytest.mark.usefixtures("aws_env")
def test_an_sdk_pointed_at_the_endpoint_is_recorded_as_the_instrumented_recorder_records(
    endpoint: Endpoint,
) -> None:
    instrumented = Recorder(account=ACCOUNT)
    session = boto3.Session(region_name="eu-west-1")
    leastpriv.boto3.instrument(session, instrumented)
    _workload(session, endpoint.url)
    assert endpoint.stop() == 0, endpoint.logfile.read_text()
    log = endpoint.logfile.read_text()
    assert "0 request(s) not decoded" in log, log
    wire = Recorder(account=ACCOUNT)
    wire.read(endpoint.calls)
    want = instrumented.permissions()
    got = wire.permissions()
    assert len(want) > 20
    assert got == want
    # The policy the endpoint wrote at the stop is the one of the calls it recorded.
    assert endpoint.policy.read_text() == wire.policy().to_json()


@pytest.mark.usefixtures("aws_env")
def test_the_aws_cli_through_the_endpoint_needs_what_the_reference_says(
    endpoint: Endpoint, tmp_path: Path
) -> None:
    aws = os.environ.get("LEASTPRIV_AWSCLI")
    if not aws:
        if os.environ.get("CI"):
            pytest.fail("LEASTPRIV_AWSCLI is not set (scripts/test-python.sh sets it)")
        pytest.skip("LEASTPRIV_AWSCLI is not set (scripts/test-python.sh sets it)")
    env = {**os.environ, "AWS_ENDPOINT_URL": endpoint.url, "AWS_PAGER": ""}
    body = tmp_path / "readme.txt"
    body.write_text("hello")

    def run(*args: str) -> str:
        r = subprocess.run(
            [aws, "--endpoint-url", endpoint.url, *args],
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert r.returncode == 0, r.stderr
        return r.stdout

    run(
        "s3api",
        "create-bucket",
        "--bucket",
        "cli-bucket",
        "--create-bucket-configuration",
        "LocationConstraint=eu-west-1",
    )
    run(
        "s3api",
        "put-object",
        "--bucket",
        "cli-bucket",
        "--key",
        "docs/readme.txt",
        "--body",
        str(body),
    )
    assert "readme.txt" in run("s3", "ls", "s3://cli-bucket/docs/")
    run("s3", "cp", "s3://cli-bucket/docs/readme.txt", str(tmp_path / "copy.txt"))
    url = json.loads(run("sqs", "create-queue", "--queue-name", "cli-queue"))["QueueUrl"]
    run("sqs", "send-message", "--queue-url", url, "--message-body", "hi")
    run("dynamodb", "list-tables")
    run("sts", "get-caller-identity")
    assert endpoint.stop() == 0, endpoint.logfile.read_text()
    assert "0 request(s) not decoded" in endpoint.logfile.read_text()
    wire = Recorder(account=ACCOUNT)
    wire.read(endpoint.calls)
    expected = json.loads((Path(__file__).parent / "awscli_expected.json").read_text())
    got = [{"action": p["action"], "resource": p["resource"]} for p in wire.permissions()]
    assert got == expected["permissions"]


@pytest.mark.usefixtures("aws_env")
def test_the_https_proxy_mode_records_an_sdk_that_only_has_https_proxy_set(
    moto_server: MotoServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    moto_server.reset()
    proxy = Endpoint(moto_server.url, tmp_path, tmp_path / "record.log", proxy=True)
    try:
        # The SDK calls the real AWS host names; the proxy terminates their TLS with its CA and
        # sends the requests to moto_server.
        monkeypatch.setenv("HTTPS_PROXY", proxy.url)
        monkeypatch.setenv("AWS_CA_BUNDLE", str(proxy.ca))
        monkeypatch.setenv("NO_PROXY", "")
        instrumented = Recorder(account=ACCOUNT)
        session = boto3.Session(region_name="eu-west-1")
        leastpriv.boto3.instrument(session, instrumented)
        sqs = session.client("sqs")
        q = sqs.create_queue(QueueName="jobs")["QueueUrl"]
        sqs.send_message(QueueUrl=q, MessageBody="hello")
        s3 = session.client("s3")
        s3.create_bucket(
            Bucket="proxied-orders", CreateBucketConfiguration={"LocationConstraint": "eu-west-1"}
        )
        s3.put_object(Bucket="proxied-orders", Key="a/1.txt", Body=b"x")
        assert s3.get_object(Bucket="proxied-orders", Key="a/1.txt")["Body"].read() == b"x"
        ddb = session.client("dynamodb")
        ddb.list_tables()
    finally:
        code = proxy.stop()
    assert code == 0, proxy.logfile.read_text()
    assert "0 request(s) not decoded" in proxy.logfile.read_text()
    wire = Recorder(account=ACCOUNT)
    wire.read(proxy.calls)
    want = instrumented.permissions()
    assert len(want) >= 6
    assert wire.permissions() == want
