"""leastpriv.boto3: clients created before and after instrumenting, sessions, outcomes,
hyphenated service ids, and a real moto_server."""

from __future__ import annotations

import io
import socket
from typing import Any

import boto3
import botocore.session
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError, EndpointConnectionError
from botocore.stub import Stubber

import leastpriv
import leastpriv.boto3
from leastpriv import Recorder

from .conftest import MotoServer

pytestmark = pytest.mark.usefixtures("aws_env")


def _session() -> boto3.Session:
    return boto3.Session(region_name="eu-west-1")


def test_client_created_before_instrumenting() -> None:
    s3 = _session().client("s3")
    rec = Recorder(account="123456789012")
    leastpriv.boto3.instrument(s3, rec)
    with Stubber(s3) as stub:
        stub.add_response("get_object", {}, {"Bucket": "reports", "Key": "q1.csv"})
        s3.get_object(Bucket="reports", Key="q1.csv")
    assert rec.permissions() == [
        {"action": "s3:GetObject", "resource": "arn:aws:s3:::reports/q1.csv"}
    ]
    assert rec.counts["calls"] == 1


def test_clients_created_after_instrumenting_a_session() -> None:
    session = _session()
    before = session.client("dynamodb")
    rec = Recorder(account="123456789012")
    leastpriv.boto3.instrument(session, rec)
    leastpriv.boto3.instrument(session, rec)  # twice: no double recording
    after = session.client("dynamodb")
    for client in (before, after):
        with Stubber(client) as stub:
            stub.add_response("get_item", {}, {"TableName": "orders", "Key": {}})
            client.get_item(TableName="orders", Key={})
    # Only the client created after instrumenting the session was recorded.
    assert rec.counts["calls"] == 1
    assert rec.permissions() == [
        {
            "action": "dynamodb:GetItem",
            "resource": "arn:aws:dynamodb:eu-west-1:123456789012:table/orders",
        }
    ]
    # A botocore session works the same way.
    core = botocore.session.get_session()
    rec2 = Recorder()
    leastpriv.boto3.instrument(core, rec2)
    sqs = core.create_client("sqs", region_name="us-east-2")
    with Stubber(sqs) as stub:
        stub.add_response("list_queues", {}, {})
        sqs.list_queues()
    assert rec2.permissions() == [{"action": "sqs:ListQueues", "resource": "*"}]


def test_error_outcome_and_code() -> None:
    s3 = _session().client("s3")
    rec = Recorder()
    leastpriv.boto3.instrument(s3, rec)
    leastpriv.boto3.instrument(s3, rec)
    with Stubber(s3) as stub:
        stub.add_client_error("get_object", service_error_code="AccessDenied", http_status_code=403)
        with pytest.raises(ClientError):
            s3.get_object(Bucket="reports", Key="q1.csv")
    (ev,) = rec.evidence()
    assert (ev["ok"], ev["failed"]) == (0, 1)
    assert rec.permissions(outcome="ok") == []
    diags = rec.policy().diagnostics
    assert any(d["kind"] == "failed_only" for d in diags)


def test_hyphenated_service_ids() -> None:
    # botocore's event names use the service id (`sfn`, `cloudwatch-logs`), not the name.
    session = _session()
    rec = Recorder(account="123456789012")
    leastpriv.boto3.instrument(session, rec)
    sfn = session.client("stepfunctions")
    logs = session.client("logs")
    arn = "arn:aws:states:eu-west-1:123456789012:stateMachine:orders"
    with Stubber(sfn) as stub:
        stub.add_response(
            "describe_state_machine",
            {
                "stateMachineArn": arn,
                "name": "orders",
                "definition": "{}",
                "roleArn": "arn:aws:iam::123456789012:role/r",
                "type": "STANDARD",
                "creationDate": "2024-01-01T00:00:00Z",
            },
            {"stateMachineArn": arn},
        )
        sfn.describe_state_machine(stateMachineArn=arn)
    with Stubber(logs) as stub:
        stub.add_response("describe_log_groups", {}, {})
        logs.describe_log_groups()
    actions = {p["action"] for p in rec.permissions()}
    assert "states:DescribeStateMachine" in actions
    assert "logs:DescribeLogGroups" in actions


def test_paused_block_is_not_recorded() -> None:
    s3 = _session().client("s3")
    rec = Recorder()
    leastpriv.boto3.instrument(s3, rec)
    with Stubber(s3) as stub:
        stub.add_response("list_buckets", {}, {})
        stub.add_response("list_buckets", {}, {})
        with leastpriv.paused():
            s3.list_buckets()
        s3.list_buckets()
    assert rec.counts["calls"] == 1


def test_several_recorders_on_one_client() -> None:
    s3 = _session().client("s3")
    a, b = Recorder(), Recorder()
    leastpriv.boto3.instrument(s3, a)
    leastpriv.boto3.instrument(s3, b)
    with Stubber(s3) as stub:
        stub.add_response("list_buckets", {}, {})
        s3.list_buckets()
    assert a.counts["calls"] == b.counts["calls"] == 1


def test_bad_arguments() -> None:
    with pytest.raises(TypeError):
        leastpriv.boto3.instrument(object(), Recorder())
    with pytest.raises(TypeError):
        leastpriv.boto3.instrument(_session(), "not a recorder")  # type: ignore[arg-type]


def _refused_port() -> int:
    """A local port nothing listens on: bound, then closed (not assumed free, as port 9 was)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
    return port


def test_connection_error_still_counts() -> None:
    s3 = _session().client(
        "s3",
        endpoint_url=f"http://127.0.0.1:{_refused_port()}",
        config=Config(retries={"max_attempts": 0}, connect_timeout=1, read_timeout=1),
    )
    rec = Recorder()
    leastpriv.boto3.instrument(s3, rec)
    with pytest.raises(EndpointConnectionError):
        s3.head_bucket(Bucket="reports")
    (ev,) = rec.evidence()
    assert ev["action"] == "s3:ListBucket" and ev["failed"] == 1


def test_against_moto_server(moto_server: MotoServer) -> None:
    rec = Recorder(account="123456789012")
    undo = leastpriv.boto3.instrument_all(rec)
    try:
        session = _session()
        s3 = session.client("s3", endpoint_url=moto_server.url)
        sqs = boto3.client("sqs", endpoint_url=moto_server.url, region_name="eu-west-1")
        with leastpriv.paused():
            s3.create_bucket(
                Bucket="uploads", CreateBucketConfiguration={"LocationConstraint": "eu-west-1"}
            )
            url = sqs.create_queue(QueueName="jobs")["QueueUrl"]
        body: Any = io.BytesIO(b"payload bytes that are never recorded")
        s3.put_object(Bucket="uploads", Key="in/a.txt", Body=body)
        with pytest.raises(ClientError) as info:
            s3.get_object(Bucket="uploads", Key="in/missing.txt")
        assert info.value.response["Error"]["Code"] == "NoSuchKey"
        sqs.send_message(QueueUrl=url, MessageBody="hello")
    finally:
        undo()
    assert url.startswith(moto_server.url)
    assert rec.permissions() == [
        {"action": "s3:GetObject", "resource": "arn:aws:s3:::uploads/in/missing.txt"},
        {"action": "s3:PutObject", "resource": "arn:aws:s3:::uploads/in/a.txt"},
        {"action": "sqs:SendMessage", "resource": "arn:aws:sqs:eu-west-1:123456789012:jobs"},
    ]
    failed = {e["action"]: e["failed"] for e in rec.evidence()}
    assert failed == {"s3:GetObject": 1, "s3:PutObject": 0, "sqs:SendMessage": 0}
    assert rec.counts["calls"] == 3
    # After undo(), new clients are not recorded.
    s3 = _session().client("s3", endpoint_url=moto_server.url)
    s3.list_buckets()
    assert rec.counts["calls"] == 3
