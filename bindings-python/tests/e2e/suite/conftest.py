"""Fixtures that create what Terraform owns in production (setup: not recorded by default).

Creation is idempotent: with pytest-xdist each worker runs these against the same server.
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import boto3
import orders_app
import pytest
from botocore.exceptions import ClientError

# The value the tests store and read back; it must appear in no output of leastpriv.
SECRET = os.environ.get("E2E_SECRET", "correct-horse-battery-staple")
ALREADY = {
    "BucketAlreadyOwnedByYou",
    "ResourceInUseException",
    "ResourceExistsException",
    "AlreadyExistsException",
}


def _ignore_existing(call, **kwargs):  # type: ignore[no-untyped-def]
    try:
        return call(**kwargs)
    except ClientError as e:
        if e.response["Error"]["Code"] not in ALREADY:
            raise
        return None


@pytest.fixture(scope="session")
def topic_arn() -> str:
    session = boto3.Session()
    s3 = session.client("s3")
    _ignore_existing(
        s3.create_bucket,
        Bucket=orders_app.BUCKET,
        CreateBucketConfiguration={"LocationConstraint": session.region_name},
    )
    ddb = session.client("dynamodb")
    _ignore_existing(
        ddb.create_table,
        TableName=orders_app.TABLE,
        BillingMode="PAY_PER_REQUEST",
        AttributeDefinitions=[
            {"AttributeName": "id", "AttributeType": "S"},
            {"AttributeName": "customer", "AttributeType": "S"},
        ],
        KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
        GlobalSecondaryIndexes=[
            {
                "IndexName": orders_app.INDEX,
                "KeySchema": [{"AttributeName": "customer", "KeyType": "HASH"}],
                "Projection": {"ProjectionType": "ALL"},
            }
        ],
    )
    session.client("sqs").create_queue(QueueName=orders_app.QUEUE)
    session.client("ssm").put_parameter(
        Name=orders_app.THRESHOLD_PARAMETER, Value="100", Type="String", Overwrite=True
    )
    _ignore_existing(
        session.client("secretsmanager").create_secret,
        Name=orders_app.PASSWORD_SECRET,
        SecretString=SECRET,
    )
    kms = session.client("kms")
    aliases = {a["AliasName"] for a in kms.list_aliases()["Aliases"]}
    if orders_app.KEY_ALIAS not in aliases:
        key = kms.create_key()["KeyMetadata"]["KeyId"]
        _ignore_existing(kms.create_alias, AliasName=orders_app.KEY_ALIAS, TargetKeyId=key)
    return str(session.client("sns").create_topic(Name=orders_app.TOPIC)["TopicArn"])


@pytest.fixture
def service(topic_arn: str) -> Iterator[orders_app.OrderService]:
    yield orders_app.OrderService(topic_arn)
