"""leastpriv: turn what your program actually did against AWS into the least-privilege IAM
policy it needs.

>>> from leastpriv import Recorder
>>> rec = Recorder(region="eu-west-1", account="123456789012")
>>> rec.record("s3", "GetObject", {"Bucket": "reports", "Key": "2024/q1.csv"})
>>> rec.permissions()
[{'action': 's3:GetObject', 'resource': 'arn:aws:s3:::reports/2024/q1.csv'}]

``leastpriv.boto3.instrument`` records every call a boto3 session or client makes; the pytest
plugin (``pytest --leastpriv-out=iam/policy.tf``) does it for a whole test run.
"""

from __future__ import annotations

from leastpriv._context import paused
from leastpriv._leastpriv import (
    Policy,
    Recorder,
    __version__,
    decode_http,
    evaluate,
    resolve_settings,
    rule_actions,
    split_options,
)
from leastpriv.errors import (
    EncodingError,
    InvalidEventError,
    InvalidPolicyError,
    IoError,
    LeastprivError,
    NotFoundError,
    ParseError,
    RulesError,
    SerializationError,
    UnknownFormatError,
    UsageError,
)

__all__ = [
    "EncodingError",
    "InvalidEventError",
    "InvalidPolicyError",
    "IoError",
    "LeastprivError",
    "NotFoundError",
    "ParseError",
    "Policy",
    "Recorder",
    "RulesError",
    "SerializationError",
    "UnknownFormatError",
    "UsageError",
    "__version__",
    "decode_http",
    "evaluate",
    "paused",
    "resolve_settings",
    "rule_actions",
    "split_options",
]
