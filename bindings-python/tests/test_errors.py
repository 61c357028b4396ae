"""Every error kind maps to its own exception class, with its position; no panic reaches
Python, whatever the input."""

from __future__ import annotations

import json
import pickle
import random
from pathlib import Path
from typing import Any

import pytest

import leastpriv
from leastpriv import (
    EncodingError,
    InvalidEventError,
    InvalidPolicyError,
    IoError,
    LeastprivError,
    NotFoundError,
    ParseError,
    Recorder,
    RulesError,
    SerializationError,
    UnknownFormatError,
    UsageError,
)
from leastpriv._leastpriv import ERROR_KINDS

CLASSES: dict[str, tuple[type[LeastprivError], type[Exception]]] = {
    "io": (IoError, OSError),
    "not_found": (NotFoundError, FileNotFoundError),
    "encoding": (EncodingError, ValueError),
    "syntax": (ParseError, ValueError),
    "invalid_event": (InvalidEventError, ValueError),
    "unknown_format": (UnknownFormatError, ValueError),
    "rules": (RulesError, ValueError),
    "serialization": (SerializationError, ValueError),
    "usage": (UsageError, ValueError),
    "invalid_policy": (InvalidPolicyError, ValueError),
}


def test_one_class_per_core_kind() -> None:
    assert set(ERROR_KINDS) == set(CLASSES), "a core error kind without its exception class"
    for kind, (cls, mixin) in CLASSES.items():
        assert cls.kind == kind
        assert issubclass(cls, LeastprivError) and issubclass(cls, mixin)
        assert cls.__module__ == "leastpriv.errors"
        assert getattr(leastpriv, cls.__name__) is cls
    assert len({cls for cls, _ in CLASSES.values()}) == len(CLASSES)
    assert LeastprivError.__bases__ == (Exception,)


def _raise(kind: str, tmp_path: Path) -> None:
    rec = Recorder()
    if kind == "io":
        rec.read(tmp_path)  # a directory
    elif kind == "not_found":
        rec.read(tmp_path / "missing.edn")
    elif kind == "encoding":
        p = tmp_path / "bad.jsonl"
        p.write_bytes(b'{"service": "s3", "operation": "GetObject"}\n{"service": "s\xff3"}\n')
        rec.read(p)
    elif kind == "syntax":
        p = tmp_path / "bad.jsonl"
        p.write_text('{"service": "s3", "operation": "GetObject"}\n{"service": \n')
        rec.read(p, format="jsonl")
    elif kind == "invalid_event":
        p = tmp_path / "bad.jsonl"
        p.write_text('{"service": "s3", "operation": "GetObject"}\n{"service": "s3"}\n')
        rec.read(p)
    elif kind == "unknown_format":
        p = tmp_path / "events.txt"
        p.write_text("hello\n")
        rec.read(p)
    elif kind == "rules":
        p = tmp_path / "rules.json"
        p.write_text('{"service": "s3",\n "operations": 3}')
        Recorder(rules=p)
    elif kind == "serialization":
        Recorder.from_bytes(b'{"format": "leastpriv-observed", "version": 99}')
    elif kind == "usage":
        rec.policy(map_account=["nonsense"])
    elif kind == "invalid_policy":
        leastpriv.evaluate(
            {"Statement": {"Effect": "Permit", "Action": "s3:*", "Resource": "*"}},
            {"action": "s3:GetObject", "resource": "arn:aws:s3:::b/k"},
        )
    else:
        raise AssertionError(kind)


@pytest.mark.parametrize("kind", sorted(CLASSES))
def test_error_kind_maps_to_its_class(kind: str, tmp_path: Path) -> None:
    cls, mixin = CLASSES[kind]
    with pytest.raises(cls) as info:
        _raise(kind, tmp_path)
    e = info.value
    assert type(e) is cls and isinstance(e, mixin) and isinstance(e, LeastprivError)
    assert e.kind == kind
    assert e.message and e.message in str(e)
    if kind in (
        "io",
        "not_found",
        "encoding",
        "syntax",
        "invalid_event",
        "unknown_format",
        "rules",
    ):
        assert e.path is not None and e.path in str(e)
    if kind in ("encoding", "syntax", "invalid_event"):
        assert e.line == 2
        assert isinstance(e.column, int) and e.column >= 1
    if kind == "encoding":
        assert e.column == 15
    if kind == "invalid_event":
        assert e.field == "operation"
    if kind == "rules":
        assert e.line == 2
    # Exceptions survive pickling (pytest-xdist ships them between processes).
    back = pickle.loads(pickle.dumps(e))
    assert type(back) is cls and back.kind == kind and back.line == e.line and str(back) == str(e)


@pytest.mark.parametrize(
    "call",
    [
        lambda r: r.policy(account="12345"),
        lambda r: r.policy(outcome="maybe"),
        lambda r: r.policy(s3_objects="all"),
        lambda r: r.policy(name=""),
        lambda r: r.policy(map_region={"eu-west-1": ""}),
        lambda r: r.policy(map_account=3),
        lambda r: r.policy(exclude=[3]),
        lambda r: r.permissions(map_region="x"),
        lambda r: r.record("s3", "GetObject", {}, outcome="maybe"),
        lambda r: r.policy().to_terraform(provider=3),
        lambda r: r.policy().to_terraform(""),
        lambda r: Recorder(rules=3),  # type: ignore[arg-type]
    ],
)
def test_bad_options_are_usage_errors(call: Any) -> None:
    with pytest.raises(UsageError) as info:
        call(Recorder())
    assert isinstance(info.value, ValueError)


def test_unknown_format_name(tmp_path: Path) -> None:
    p = tmp_path / "e.jsonl"
    p.write_text("{}\n")
    with pytest.raises(UnknownFormatError):
        Recorder().read(p, format="xml")


def test_reading_is_all_or_nothing(tmp_path: Path) -> None:
    p = tmp_path / "e.jsonl"
    p.write_text('{"service": "s3", "operation": "ListBuckets"}\n{"service": \n')
    rec = Recorder()
    with pytest.raises(ParseError):
        rec.read(p)
    assert len(rec) == 0 and rec.counts["calls"] == 0
    rec.read(p, lenient=True)
    assert len(rec) == 1 and rec.counts["malformed"] == 1
    assert rec.malformed_at == [{"source": str(p), "line": 2}]


def test_messages_never_contain_payload_values(tmp_path: Path) -> None:
    secret = "s3cr3t-do-not-print"
    p = tmp_path / "e.jsonl"
    p.write_text(
        json.dumps({"service": "s3", "operation": 3, "params": {"SecretString": secret}}) + "\n"
    )
    with pytest.raises(InvalidEventError) as info:
        Recorder().read(p)
    assert secret not in str(info.value)


class Untouchable:
    """Raises on any attribute access: proves an object is never read."""

    def __getattribute__(self, name: str) -> Any:
        raise AssertionError(f"payload object was read: {name}")


def _deep(n: int) -> dict[str, Any]:
    d: dict[str, Any] = {}
    cur = d
    for _ in range(n):
        cur["x"] = {}
        cur = cur["x"]
    return d


def _hostile_params() -> list[Any]:
    cyclic: dict[str, Any] = {"Bucket": "b"}
    cyclic["self"] = cyclic
    lst: list[Any] = []
    lst.append(lst)
    return [
        None,
        {},
        {"Bucket": "b", "Key": "k", "Body": Untouchable()},
        {"Bucket": b"bytes", "Key": bytearray(b"x"), "Body": memoryview(b"x")},
        cyclic,
        {"Bucket": "b", "Key": lst},
        _deep(100_000),
        {"Bucket": "\ud800lone surrogate", "Key": "k\udfff"},
        {"Bucket": 10**100, "Key": -(10**40)},
        {"Bucket": float("nan"), "Key": float("inf")},
        {1: "int key", (1, 2): "tuple key", None: "none key", "Bucket": True},
        {"Bucket": "", "Key": ""},
        {"TransactItems": [{"Put": None}, 3, "x", {"Put": {"TableName": ["a"]}}]},
        {"RequestItems": {"": {}, "t": None}},
        {"QueueUrl": "http://[::1", "Entries": [{}]},
        {"CopySource": {"Bucket": None, "Key": 3}},
        {"KeyId": "alias/" + "x" * 100_000},
    ]


@pytest.mark.parametrize("service", ["s3", "dynamodb", "sqs", "kms", "", "no-such-service"])
@pytest.mark.parametrize(
    "operation",
    [
        "GetObject",
        "PutItem",
        "TransactWriteItems",
        "BatchWriteItem",
        "SendMessageBatch",
        "CopyObject",
        "Encrypt",
        "",
        ":",
        "Command",
    ],
)
def test_no_panic_on_hostile_calls(service: str, operation: str) -> None:
    rec = Recorder(region="eu-west-1", account="123456789012")
    names_valid = bool(service) and operation not in ("", ":", "Command")
    for params in _hostile_params():
        if names_valid:
            rec.record(service, operation, params, endpoint="::not a url::", source="\ud800")
        else:
            # A name that would make an invalid action is refused, naming the field.
            with pytest.raises(UsageError) as e:
                rec.record(service, operation, params, endpoint="::not a url::", source="\ud800")
            assert e.value.field in ("service", "operation")
    rec.permissions()
    with pytest.raises(UsageError) as too_small:
        rec.policy(max_size=1)
    assert too_small.value.field == "max_size"
    policy = rec.policy(max_size=200)
    policy.to_json()
    policy.to_terraform()
    Recorder.from_bytes(rec.to_bytes())


def test_params_must_be_a_dict() -> None:
    with pytest.raises(TypeError):
        Recorder().record("s3", "GetObject", ["Bucket"])  # type: ignore[arg-type]


def test_no_panic_on_random_files(tmp_path: Path) -> None:
    rng = random.Random(4)
    pieces = [
        b"{",
        b"}",
        b"[",
        b"]",
        b'"',
        b":",
        b",",
        b"\n",
        b" ",
        b"#",
        b"\\",
        b"\xff",
        b":mulog/event-name",
        b":aws/request",
        b'"service"',
        b'"s3"',
        b":api",
        b":s3",
        b"#error",
        b"#object[",
        b"nil",
        b"1e999",
        b"-",
        b"\xef\xbb\xbf",
        b"\x00",
        b'"leastpriv-observed"',
        b'"format"',
        b":request",
        b'{:Bucket "b"}',
    ]
    for i in range(300):
        data = b"".join(rng.choice(pieces) for _ in range(rng.randint(0, 60)))
        p = tmp_path / f"f{i}"
        p.write_bytes(data)
        for fmt in ("auto", "mulog-edn", "mulog-json", "jsonl", "observed"):
            for lenient in (False, True):
                try:
                    Recorder().read(p, format=fmt, lenient=lenient)
                except LeastprivError:
                    pass
        try:
            Recorder.from_bytes(data)
        except LeastprivError:
            pass
