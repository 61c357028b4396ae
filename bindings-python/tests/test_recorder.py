"""The Recorder and Policy API: recording, reading, merging, serializing, pickling, the GIL."""

from __future__ import annotations

import json
import os
import pickle
import subprocess
import threading
from pathlib import Path

import pytest

from leastpriv import Policy, Recorder

from .conftest import REPO

S3_GET = {"Bucket": "reports", "Key": "2024/q1.csv"}


def test_record_and_permissions() -> None:
    rec = Recorder(region="eu-west-1", account="123456789012")
    rec.record("s3", "GetObject", S3_GET)
    rec.record("dynamodb", "Query", {"TableName": "orders", "IndexName": "by-customer"})
    rec.record(
        "sqs",
        "SendMessage",
        {
            "QueueUrl": "https://sqs.us-east-2.amazonaws.com/210987654321/jobs",
            "MessageBody": "hello",
        },
    )
    assert rec.permissions() == [
        {
            "action": "dynamodb:Query",
            "resource": "arn:aws:dynamodb:eu-west-1:123456789012:table/orders/index/by-customer",
        },
        {"action": "s3:GetObject", "resource": "arn:aws:s3:::reports/2024/q1.csv"},
        {"action": "sqs:SendMessage", "resource": "arn:aws:sqs:us-east-2:210987654321:jobs"},
    ]
    assert len(rec) == 3
    assert rec.counts == {"calls": 3, "skipped": 0, "malformed": 0}
    assert (rec.region, rec.account, rec.partition) == ("eu-west-1", "123456789012", None)
    assert "3 permission(s)" in repr(rec)


def test_context_per_call_and_gaps() -> None:
    rec = Recorder()
    rec.record("dynamodb", "GetItem", {"TableName": "t"})
    assert rec.permissions() == [
        {"action": "dynamodb:GetItem", "resource": "arn:*:dynamodb:*:*:table/t"}
    ]
    assert rec.permissions(region="us-west-2", account="111122223333") == [
        {
            "action": "dynamodb:GetItem",
            "resource": "arn:aws:dynamodb:us-west-2:111122223333:table/t",
        }
    ]
    rec2 = Recorder()
    rec2.record(
        "dynamodb", "GetItem", {"TableName": "t"}, region="cn-north-1", account="111122223333"
    )
    assert (
        rec2.permissions()[0]["resource"] == "arn:aws-cn:dynamodb:cn-north-1:111122223333:table/t"
    )
    gaps = {d["kind"] for d in rec.policy().diagnostics}
    assert "gap" in gaps
    tf = rec.policy().to_terraform()
    assert "data.aws_caller_identity.current.account_id" in tf


def test_outcomes_and_filters() -> None:
    rec = Recorder(region="eu-west-1", account="123456789012")
    rec.record("s3", "GetObject", S3_GET, error_code="AccessDenied")
    rec.record("s3", "ListBuckets", {})
    rec.record("sts", "GetCallerIdentity", {})
    assert [p["action"] for p in rec.permissions()] == ["s3:GetObject", "s3:ListAllMyBuckets"]
    assert [p["action"] for p in rec.permissions(outcome="ok")] == ["s3:ListAllMyBuckets"]
    assert [p["action"] for p in rec.permissions(exclude="s3:List*")] == ["s3:GetObject"]
    kinds = {d["kind"] for d in rec.policy().diagnostics}
    assert {"failed_only", "permissionless"} <= kinds


def test_evidence_names_the_first_source() -> None:
    rec = Recorder(region="eu-west-1", account="123456789012")
    rec.record("s3", "GetObject", S3_GET, source="tests/test_b.py::test_b")
    rec.record("s3", "GetObject", S3_GET, source="tests/test_a.py::test_a")
    rec.record("s3", "GetObject", S3_GET, outcome="error", source="tests/test_c.py::test_c")
    (ev,) = rec.evidence()
    assert ev["first"] == {"source": "tests/test_a.py::test_a", "line": 0}
    assert (ev["ok"], ev["failed"]) == (2, 1)
    assert ev["resource"] == "arn:aws:s3:::reports/2024/q1.csv"


def test_policy_object() -> None:
    rec = Recorder(region="eu-west-1", account="123456789012")
    for key in ("invoices/2024/a.pdf", "invoices/2024/b.pdf"):
        rec.record("s3", "GetObject", {"Bucket": "docs", "Key": key})
    p = rec.policy()
    assert isinstance(p, Policy)
    (doc,) = p.documents
    assert doc["Version"] == "2012-10-17"
    (st,) = doc["Statement"]
    assert st["Resource"] == ["arn:aws:s3:::docs/invoices/2024/*"]
    assert json.loads(p.to_json()) == doc
    assert p.statement_count == 1
    assert rec.policy(s3_objects="exact").documents[0]["Statement"][0]["Resource"] == [
        "arn:aws:s3:::docs/invoices/2024/a.pdf",
        "arn:aws:s3:::docs/invoices/2024/b.pdf",
    ]
    tf = p.to_terraform("app_role")
    assert 'data "aws_iam_policy_document" "app_role" {' in tf
    assert 'data "aws_iam_policy_document" "leastpriv" {' in p.to_terraform()
    assert "data.aws_region.current.name" not in p.to_terraform(provider=5)
    assert "leastpriv: 2 call(s) read" in p.report()
    assert "1 statement(s)" in repr(p)


def test_split_documents() -> None:
    rec = Recorder(region="eu-west-1", account="123456789012")
    for i in range(400):
        rec.record("dynamodb", "GetItem", {"TableName": f"table-with-a-long-name-{i:04d}"})
    p = rec.policy()
    assert len(p.documents) > 1
    assert isinstance(json.loads(p.to_json()), list)
    for doc in p.documents:
        assert len("".join(json.dumps(doc).split())) <= 6144
    resources = {r for d in p.documents for s in d["Statement"] for r in s["Resource"]}
    assert len(resources) == 400
    assert list(p.documents_by_name) == ["leastpriv"]


def test_group_by_principal() -> None:
    rec = Recorder(region="eu-west-1", account="123456789012")
    rec.record("s3", "GetObject", S3_GET, principal="orders")
    rec.record("s3", "PutObject", S3_GET, principal="billing")
    p = rec.policy(group_by=True)
    assert sorted(p.documents_by_name) == ["billing", "orders"]
    assert sorted(json.loads(p.to_json())) == ["billing", "orders"]


def test_merge_serialize_pickle() -> None:
    a = Recorder(region="eu-west-1", account="123456789012")
    b = Recorder(region="eu-west-1")
    a.record("s3", "GetObject", S3_GET, source="a")
    b.record("s3", "GetObject", S3_GET, source="b")
    b.record("sqs", "ListQueues", {}, source="b")
    ab = Recorder.from_bytes(a.to_bytes())
    ab.merge(b)
    ba = Recorder.from_bytes(b.to_bytes())
    ba.merge(a)
    assert ab.to_bytes() == ba.to_bytes()  # commutative, deterministic
    assert len(ab) == 2 and ab.counts["calls"] == 3
    ab.merge(ab)  # merging with itself must not deadlock
    assert ab.counts["calls"] == 6
    back = pickle.loads(pickle.dumps(a))
    assert isinstance(back, Recorder)
    assert back.to_bytes() == a.to_bytes() and back.region == "eu-west-1"
    assert Recorder.from_bytes(bytearray(a.to_bytes())).to_bytes() == a.to_bytes()
    assert a.to_bytes().startswith(b'{"format":"leastpriv-observed"')


def test_read_event_files(tmp_path: Path) -> None:
    rec = Recorder(region="eu-west-1", account="123456789012")
    rec.read(REPO / "spec" / "examples" / "orders.edn")
    assert rec.counts["calls"] > 0 and len(rec) > 0
    state = tmp_path / "state.json"
    state.write_bytes(rec.to_bytes())
    again = Recorder()
    again.read(str(state))  # a serialized state is an input format too
    assert again.to_bytes() == rec.to_bytes()
    mulog = tmp_path / "e.edn"
    mulog.write_text(
        "{:mulog/event-name :app/started}\n"
        '{:mulog/event-name :aws/request, :app-name "orders", :api :s3, '
        ':operation :GetObject, :request {:Bucket "b", :Key "k"}}\n'
    )
    r = Recorder()
    r.read(mulog, format="mulog-edn", principal_key="app-name")
    assert r.counts == {"calls": 1, "skipped": 1, "malformed": 0}
    assert list(r.policy(group_by=True).documents_by_name) == ["orders"]


def test_custom_rules(tmp_path: Path) -> None:
    rules = tmp_path / "rules.json"
    rules.write_text(
        json.dumps(
            {
                "service": "s3",
                "operations": {
                    "GetObject": {"grants": [{"action": "s3:GetObject", "resource": "*"}]}
                },
            }
        )
    )
    rec = Recorder(rules=rules)
    rec.record("s3", "GetObject", S3_GET)
    assert rec.permissions() == [{"action": "s3:GetObject", "resource": "*"}]
    back = pickle.loads(pickle.dumps(rec))
    back.record("s3", "GetObject", {"Bucket": "other", "Key": "k"})
    assert back.permissions() == [{"action": "s3:GetObject", "resource": "*"}]
    assert Recorder(rules=[rules, rules]).permissions() == []


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs a FIFO")
def test_gil_is_released_while_reading(tmp_path: Path) -> None:
    # The reader blocks inside Rust on a FIFO until this thread, running Python, writes the
    # events: with the GIL held by the reader, the write could never happen (the join would
    # time out). No timing is measured.
    fifo = tmp_path / "events.fifo"
    os.mkfifo(fifo)
    rec = Recorder()
    t = threading.Thread(target=rec.read, args=(fifo,), kwargs={"format": "jsonl"})
    t.start()
    with open(fifo, "w") as f:
        for i in range(1000):
            params = {"Bucket": "b", "Key": f"k{i % 50}"}
            call = {"service": "s3", "operation": "GetObject", "params": params}
            f.write(json.dumps(call) + "\n")
    t.join(timeout=60)
    assert not t.is_alive()
    assert rec.counts["calls"] == 1000


def test_threads_record_concurrently() -> None:
    rec = Recorder(region="eu-west-1", account="123456789012")

    def work(i: int) -> None:
        for j in range(2000):
            rec.record("s3", "GetObject", {"Bucket": f"b{i}", "Key": f"k{j % 10}"})

    threads = [threading.Thread(target=work, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert rec.counts["calls"] == 8000
    assert len(rec) == 40


def _cli() -> Path | None:
    cli = os.environ.get("LEASTPRIV_CLI")
    if not cli:
        return None
    path = Path(cli)
    assert path.is_file(), f"LEASTPRIV_CLI={cli} does not exist"
    return path


def test_state_is_readable_by_the_cli(tmp_path: Path) -> None:
    cli = _cli()
    if cli is None:
        pytest.skip("LEASTPRIV_CLI is not set (scripts/test-python.sh sets it)")
    rec = Recorder()
    rec.record("s3", "GetObject", S3_GET)
    rec.record("dynamodb", "GetItem", {"TableName": "orders"})
    state = tmp_path / "state.json"
    state.write_bytes(rec.to_bytes())
    args = ["--region", "eu-west-1", "--account", "123456789012"]
    out = subprocess.run(
        [str(cli), "policy", str(state), "--quiet", *args],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    assert out == rec.policy(region="eu-west-1", account="123456789012").to_json()
    perms = subprocess.run(
        [str(cli), "permissions", str(state), *args], check=True, capture_output=True, text=True
    ).stdout
    assert [json.loads(x) for x in perms.splitlines()] == rec.permissions(
        region="eu-west-1", account="123456789012"
    )
    merged = tmp_path / "merged.json"
    subprocess.run([str(cli), "merge", str(state), str(state), "-o", str(merged)], check=True)
    twice = Recorder.from_bytes(merged.read_bytes())
    assert twice.counts["calls"] == 4 and twice.permissions() == rec.permissions()


class _Untouchable:
    def __getattribute__(self, name: str) -> object:
        raise AssertionError(f"payload object was read: {name}")


def test_only_what_the_rules_read_is_converted(tmp_path: Path) -> None:
    # A rule that asks only whether `Body` is there: the payload is seen as present, never read.
    rules = tmp_path / "rules.json"
    rules.write_text(
        json.dumps(
            {
                "service": "s3",
                "operations": {
                    "PutObject": {
                        "grants": [
                            {
                                "action": "s3:PutObject",
                                "resource": "arn:{partition}:s3:::{bucket}/{key}",
                                "bind": {"bucket": "Bucket", "key": "Key"},
                                "if": "Body",
                            }
                        ]
                    }
                },
            }
        )
    )
    rec = Recorder(region="eu-west-1", rules=rules)
    rec.record("s3", "PutObject", {"Bucket": "b", "Key": "k", "Body": _Untouchable()})
    rec.record("s3", "PutObject", {"Bucket": "b", "Key": "nobody"})
    # The call without a Body matches no grant of the rule: its action on `*` (never nothing).
    assert rec.permissions() == [
        {"action": "s3:PutObject", "resource": "*"},
        {"action": "s3:PutObject", "resource": "arn:aws:s3:::b/k"},
    ]
    # Built-in rules: members no rule reads are never looked at, whatever they hold.
    rec = Recorder(region="eu-west-1", account="123456789012")
    rec.record(
        "dynamodb",
        "TransactWriteItems",
        {
            "TransactItems": [
                {"Put": {"TableName": "orders", "Item": _Untouchable()}},
                {"Delete": {"TableName": "carts", "Key": _Untouchable()}},
            ],
            "ClientRequestToken": _Untouchable(),
        },
    )
    rec.record(
        "sqs",
        "SendMessage",
        {
            "QueueUrl": "https://sqs.eu-west-1.amazonaws.com/123456789012/q",
            "MessageBody": _Untouchable(),
            "MessageAttributes": _Untouchable(),
        },
    )
    assert [p["action"] for p in rec.permissions()] == [
        "dynamodb:DeleteItem",
        "dynamodb:PutItem",
        "sqs:SendMessage",
    ]


def test_check_judges_a_prefix_condition_with_each_calls_prefix(tmp_path: Path) -> None:
    policy = tmp_path / "policy.json"
    policy.write_text(
        json.dumps(
            {
                "Version": "2012-10-17",
                "Statement": [
                    {
                        "Effect": "Allow",
                        "Action": "s3:ListBucket",
                        "Resource": "arn:aws:s3:::reports",
                        "Condition": {"StringLike": {"s3:prefix": "home/*"}},
                    }
                ],
            }
        )
    )
    rec = Recorder(region="eu-west-1", account="123456789012")
    rec.record("s3", "ListObjectsV2", {"Bucket": "reports", "Prefix": "home/alice/"})
    assert rec.check(policy)["counts"] == {"missing": 0, "unused": 0, "broad": 0, "undecidable": 0}
    rec.record("s3", "ListObjectsV2", {"Bucket": "reports"})
    # Survives the state's round trip.
    result = Recorder.from_bytes(rec.to_bytes()).check(policy)
    assert result["counts"]["missing"] == 1
    (missing,) = [f for f in result["findings"] if f["kind"] == "missing"]
    assert "s3:prefix absent" in missing["message"]
