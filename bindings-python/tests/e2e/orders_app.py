"""A small order service, the kind of boto3 application leastpriv is for.

It reads its configuration from SSM and Secrets Manager, stores orders in DynamoDB and invoices
in S3, encrypts customer data with KMS, queues events on SQS and notifies large orders on SNS.
"""

from __future__ import annotations

import json
import os
import secrets
from typing import Any

import boto3

# The tests name every resource with a run id, as suites sharing a test account do; the
# configuration (leastpriv.toml) maps the names back to production ones. E2E_RUN_ID gives the
# id to every pytest-xdist worker of one run.
RUN_ID = os.environ.get("E2E_RUN_ID") or secrets.token_hex(3)
BUCKET = f"acme-orders-docs-{RUN_ID}"
TABLE = f"it-{RUN_ID}-orders"
INDEX = "by-customer"
QUEUE = f"orders-events-{RUN_ID}"
TOPIC = f"orders-notifications-{RUN_ID}"
THRESHOLD_PARAMETER = f"/orders-{RUN_ID}/config/threshold"
PASSWORD_SECRET = f"orders-{RUN_ID}/db-password"
KEY_ALIAS = f"alias/orders-{RUN_ID}"


class OrderService:
    def __init__(self, topic_arn: str, session: boto3.Session | None = None) -> None:
        session = session or boto3.Session()
        self.topic_arn = topic_arn
        self.s3 = session.client("s3")
        self.dynamodb = session.client("dynamodb")
        self.sqs = session.client("sqs")
        self.sns = session.client("sns")
        self.ssm = session.client("ssm")
        self.secrets = session.client("secretsmanager")
        self.kms = session.client("kms")

    def threshold(self) -> float:
        value = self.ssm.get_parameter(Name=THRESHOLD_PARAMETER)["Parameter"]["Value"]
        return float(value)

    def place_order(self, order_id: str, customer: str, amount: float) -> None:
        sealed = self.kms.encrypt(KeyId=KEY_ALIAS, Plaintext=customer.encode())["CiphertextBlob"]
        self.dynamodb.put_item(
            TableName=TABLE,
            Item={
                "id": {"S": order_id},
                "customer": {"S": customer},
                "amount": {"N": str(amount)},
                "sealed": {"B": sealed},
            },
        )
        invoice = json.dumps({"order": order_id, "amount": amount}).encode()
        self.s3.put_object(Bucket=BUCKET, Key=f"invoices/{order_id}.json", Body=invoice)
        queue_url = self.sqs.get_queue_url(QueueName=QUEUE)["QueueUrl"]
        self.sqs.send_message(QueueUrl=queue_url, MessageBody=json.dumps({"placed": order_id}))
        if amount > self.threshold():
            self.sns.publish(TopicArn=self.topic_arn, Message=f"large order {order_id}")

    def order(self, order_id: str) -> dict[str, Any] | None:
        item = self.dynamodb.get_item(TableName=TABLE, Key={"id": {"S": order_id}}).get("Item")
        if item is None:
            return None
        customer = self.kms.decrypt(KeyId=KEY_ALIAS, CiphertextBlob=item["sealed"]["B"])
        return {
            "id": order_id,
            "customer": customer["Plaintext"].decode(),
            "amount": float(item["amount"]["N"]),
        }

    def invoice(self, order_id: str) -> dict[str, Any] | None:
        try:
            body = self.s3.get_object(Bucket=BUCKET, Key=f"invoices/{order_id}.json")["Body"]
        except self.s3.exceptions.NoSuchKey:
            return None
        return json.loads(body.read())

    def invoices(self) -> list[str]:
        listing = self.s3.list_objects_v2(Bucket=BUCKET, Prefix="invoices/")
        return [o["Key"] for o in listing.get("Contents", [])]

    def orders_of(self, customer: str) -> list[str]:
        result = self.dynamodb.query(
            TableName=TABLE,
            IndexName=INDEX,
            KeyConditionExpression="customer = :c",
            ExpressionAttributeValues={":c": {"S": customer}},
        )
        return sorted(i["id"]["S"] for i in result["Items"])

    def database_password(self) -> str:
        return self.secrets.get_secret_value(SecretId=PASSWORD_SECRET)["SecretString"]

    def rotate_database_password(self, new: str) -> None:
        self.secrets.put_secret_value(SecretId=PASSWORD_SECRET, SecretString=new)
