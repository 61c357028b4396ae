"""Synthetic CloudTrail delivery files (gzipped, as a trail writes them) for the recipes' tests
and benchmarks: records of S3, DynamoDB, SQS and KMS calls by three roles, a few refused.

    python examples/make_trail.py DIR 60        # 60 files in DIR
"""

from __future__ import annotations

import gzip
import json
import random
import sys
from pathlib import Path

ROLES = ["OrderService", "ReportJob", "Deploy"]


def record(rnd: random.Random, i: int) -> dict[str, object]:
    role = rnd.choice(ROLES)
    kind = rnd.randrange(4)
    if kind == 0:
        source, name = "s3.amazonaws.com", "GetObject"
        params: dict[str, object] = {
            "bucketName": "amzn-s3-demo-bucket",
            "key": f"reports/{rnd.randrange(40)}.csv",
        }
    elif kind == 1:
        source, name = "dynamodb.amazonaws.com", "PutItem"
        params = {"tableName": f"Orders{rnd.randrange(5)}", "item": ["id"]}
    elif kind == 2:
        source, name = "sqs.amazonaws.com", "SendMessage"
        params = {
            "queueUrl": f"https://sqs.us-west-2.amazonaws.com/111122223333/q{rnd.randrange(6)}",
            "messageBody": "HIDDEN",
        }
    else:
        source, name = "kms.amazonaws.com", "Decrypt"
        params = {"encryptionAlgorithm": "SYMMETRIC_DEFAULT"}
    record: dict[str, object] = {
        "eventVersion": "1.09",
        "userIdentity": {
            "type": "AssumedRole",
            "arn": f"arn:aws:sts::111122223333:assumed-role/{role}/s{i}",
            "sessionContext": {
                "sessionIssuer": {"type": "Role", "arn": f"arn:aws:iam::111122223333:role/{role}"}
            },
        },
        "eventTime": "2026-11-30T10:00:00Z",
        "eventSource": source,
        "eventName": name,
        "awsRegion": "us-west-2",
        "requestParameters": params,
        "responseElements": None,
        "eventID": f"e{i}",
        "eventType": "AwsApiCall",
        "recipientAccountId": "111122223333",
    }
    if kind == 3:
        key_id = f"0000000{rnd.randrange(3)}-1111-2222-3333-444444444444"
        key = f"arn:aws:kms:us-west-2:111122223333:key/{key_id}"
        record["resources"] = [{"type": "AWS::KMS::Key", "ARN": key, "accountId": "111122223333"}]
    if rnd.random() < 0.05:
        record["errorCode"] = "AccessDenied"
    return record


def trail(root: Path, files: int) -> list[str]:
    rnd = random.Random(17)
    paths = []
    n = 0
    for f in range(files):
        records = []
        for _ in range(rnd.randrange(20, 60)):
            records.append(record(rnd, n))
            n += 1
        path = root / f"111122223333_CloudTrail_us-west-2_20261130T10{f:02d}Z_{f:04x}.json.gz"
        path.write_bytes(gzip.compress(json.dumps({"Records": records}).encode()))
        paths.append(str(path))
    return paths


if __name__ == "__main__":
    out = Path(sys.argv[1])
    out.mkdir(parents=True, exist_ok=True)
    for p in trail(out, int(sys.argv[2]) if len(sys.argv) > 2 else 60):
        print(p)
