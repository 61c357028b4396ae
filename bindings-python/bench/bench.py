"""Benchmarks of the Python package (not part of the test run; see run.sh).

1. ``Recorder.record()`` calls per second with typical boto3 parameter dicts.
2. Reading a file of N events through the binding (``Recorder.read``) vs the CLI
   (``leastpriv permissions FILE``), both in-process single-threaded.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from leastpriv import Recorder


def typical_calls(n: int) -> list[tuple[str, str, dict]]:
    """A mix of calls as an application makes them: payloads included (never converted)."""
    body = b"x" * 2048
    calls = []
    for i in range(n):
        k = i % 7
        if k == 0:
            calls.append(
                ("s3", "GetObject", {"Bucket": "acme-docs", "Key": f"invoices/2024/{i % 500}.pdf"})
            )
        elif k == 1:
            calls.append(
                (
                    "s3",
                    "PutObject",
                    {
                        "Bucket": "acme-docs",
                        "Key": f"uploads/{i % 300}.bin",
                        "Body": body,
                        "ContentType": "application/pdf",
                        "Metadata": {"owner": "ada"},
                    },
                )
            )
        elif k == 2:
            calls.append(
                (
                    "dynamodb",
                    "PutItem",
                    {
                        "TableName": "orders",
                        "Item": {
                            "id": {"S": f"o-{i}"},
                            "customer": {"S": "ada"},
                            "amount": {"N": "12.5"},
                            "lines": {"L": [{"M": {"sku": {"S": "a"}, "qty": {"N": "1"}}}]},
                        },
                    },
                )
            )
        elif k == 3:
            calls.append(
                (
                    "dynamodb",
                    "Query",
                    {
                        "TableName": "orders",
                        "IndexName": "by-customer",
                        "KeyConditionExpression": "customer = :c",
                        "ExpressionAttributeValues": {":c": {"S": "ada"}},
                    },
                )
            )
        elif k == 4:
            calls.append(
                (
                    "sqs",
                    "SendMessage",
                    {
                        "QueueUrl": "https://sqs.eu-west-1.amazonaws.com/123456789012/orders-events",
                        "MessageBody": json.dumps({"order": i, "items": list(range(10))}),
                    },
                )
            )
        elif k == 5:
            calls.append(("secretsmanager", "GetSecretValue", {"SecretId": "orders/db-password"}))
        else:
            calls.append(
                (
                    "sns",
                    "Publish",
                    {
                        "TopicArn": "arn:aws:sns:eu-west-1:123456789012:orders-notifications",
                        "Message": "large order",
                        "Subject": "orders",
                    },
                )
            )
    return calls


def bench_record(n: int) -> float:
    calls = typical_calls(10_000)
    rec = Recorder(region="eu-west-1", account="123456789012")
    record = rec.record
    for service, op, params in calls[:2000]:  # warm up
        record(service, op, params, source="tests/test_orders.py::test_place_order")
    rounds = max(1, n // len(calls))
    start = time.perf_counter()
    for _ in range(rounds):
        for service, op, params in calls:
            record(service, op, params, source="tests/test_orders.py::test_place_order")
    elapsed = time.perf_counter() - start
    return rounds * len(calls) / elapsed


def write_events(path: Path, n: int) -> None:
    """JSON lines in the plain Call format, 1,000 distinct resources."""
    with open(path, "w") as f:
        for i in range(n):
            if i % 3 == 0:
                c = {
                    "service": "s3",
                    "operation": "GetObject",
                    "params": {"Bucket": "acme-docs", "Key": f"invoices/{i % 500}.pdf"},
                    "region": "eu-west-1",
                }
            elif i % 3 == 1:
                c = {
                    "service": "dynamodb",
                    "operation": "PutItem",
                    "params": {"TableName": f"orders-{i % 250}", "Item": {"id": {"S": str(i)}}},
                    "region": "eu-west-1",
                }
            else:
                c = {
                    "service": "sqs",
                    "operation": "SendMessage",
                    "params": {
                        "QueueUrl": f"https://sqs.eu-west-1.amazonaws.com/123456789012/q{i % 250}",
                        "MessageBody": "hello",
                    },
                }
            f.write(json.dumps(c, separators=(",", ":")))
            f.write("\n")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--record-calls", type=int, default=1_000_000)
    ap.add_argument("--events", type=int, default=1_000_000)
    ap.add_argument("--cli", default=os.environ.get("LEASTPRIV_CLI"))
    a = ap.parse_args()

    rate = bench_record(a.record_calls)
    print(f"record(): {rate:,.0f} calls/s ({a.record_calls:,} calls of typical parameter dicts)")

    with tempfile.TemporaryDirectory() as d:
        path = Path(d) / "events.jsonl"
        write_events(path, a.events)
        size = path.stat().st_size / 1e6
        rec = Recorder()
        start = time.perf_counter()
        rec.read(path)
        t_py = time.perf_counter() - start
        assert rec.counts["calls"] == a.events
        print(
            f"read {a.events:,} events ({size:.0f} MB JSON lines) via Recorder.read: "
            f"{t_py:.2f} s ({a.events / t_py:,.0f} events/s)"
        )
        if a.cli:
            start = time.perf_counter()
            out = subprocess.run(
                [
                    a.cli,
                    "permissions",
                    str(path),
                    "--region",
                    "eu-west-1",
                    "--account",
                    "123456789012",
                ],
                check=True,
                stdout=subprocess.PIPE,
            ).stdout
            t_cli = time.perf_counter() - start
            assert [json.loads(x) for x in out.decode().splitlines()] == rec.permissions(
                region="eu-west-1", account="123456789012"
            )
            print(
                f"read {a.events:,} events via the CLI (leastpriv permissions): {t_cli:.2f} s "
                f"({a.events / t_cli:,.0f} events/s); binding/CLI time ratio {t_py / t_cli:.2f}"
            )
    sys.stdout.flush()


if __name__ == "__main__":
    main()
