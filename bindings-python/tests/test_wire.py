"""The wire decoder's shared vectors (spec/vectors/wire/*.json: raw requests captured from real
SDKs), run through ``leastpriv.decode_http`` as Rust and Node run them: each decodes to the SDK
call's service, operation and Region, and gives the same permissions as that call recorded."""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

import pytest

import leastpriv
from leastpriv import ParseError, Recorder

from .conftest import SPEC

FILES = sorted((SPEC / "vectors" / "wire").glob("*.json"))
VECTORS: list[dict[str, Any]] = [
    v for f in FILES for v in json.loads(Path(f).read_text(encoding="utf-8"))
]


def _raw(v: dict[str, Any]) -> bytes:
    raw = v["request"].encode()
    if v.get("body_base64"):
        raw += base64.b64decode(v["body"])
    return raw


def _permissions(service: str, operation: str, params: Any, region: str | None) -> list[Any]:
    rec = Recorder()
    rec.record(service, operation, params, region=region)
    return rec.permissions()


def test_there_are_enough_vectors() -> None:
    assert len(VECTORS) >= 50
    assert len({v["name"] for v in VECTORS}) == len(VECTORS)


@pytest.mark.parametrize("v", VECTORS, ids=[v["name"] for v in VECTORS])
def test_decode_http(v: dict[str, Any]) -> None:
    got = leastpriv.decode_http(_raw(v))
    want = v["expect"]
    assert got["signed"] is not v["name"].endswith("-unsigned")
    assert got["operation"] == want["operation"]
    assert got["region"] == want["region"]
    service = want["service"]
    if got["note"]:
        # A request several services send alike is decoded for one, and says so.
        assert service == got["service"] or f" {service}" in got["note"], got["note"]
        service = got["service"]
    else:
        assert got["service"] == service
    assert _permissions(
        got["service"], got["operation"], got["params"], got["region"]
    ) == _permissions(service, want["operation"], want["params"], want["region"])


def test_what_is_not_a_request_is_a_parse_error() -> None:
    with pytest.raises(ParseError) as info:
        leastpriv.decode_http(b"\x00\x01 not http")
    assert info.value.kind == "syntax"
