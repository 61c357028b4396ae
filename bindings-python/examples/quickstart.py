"""The example of the README's install section, as one file: record two calls, print the policy.

python quickstart.py
"""

import json

from leastpriv import Recorder

rec = Recorder(region="eu-west-1", account="123456789012")
rec.record("s3", "GetObject", {"Bucket": "reports", "Key": "2024/q1.csv"})
rec.record(
    "sqs",
    "SendMessage",
    {"QueueUrl": "https://sqs.eu-west-1.amazonaws.com/123456789012/jobs", "MessageBody": "hi"},
)
policy = rec.policy()
print(policy.to_json(), end="")
doc = json.loads(policy.to_json())
actions = sorted(a for st in doc["Statement"] for a in st["Action"])
assert actions == ["s3:GetObject", "sqs:SendMessage"], actions
