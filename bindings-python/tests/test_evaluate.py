"""The IAM evaluator's shared vectors (spec/vectors/evaluate/*.json), run through
``leastpriv.evaluate`` as Rust and Node run them."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

import leastpriv
from leastpriv import LeastprivError

from .conftest import SPEC

FILES = sorted((SPEC / "vectors" / "evaluate").glob("*.json"))
VECTORS: list[dict[str, Any]] = [
    v for f in FILES for v in json.loads(Path(f).read_text(encoding="utf-8"))
]


def test_there_are_enough_vectors() -> None:
    assert len(VECTORS) >= 150
    assert len({v["name"] for v in VECTORS}) == len(VECTORS)


@pytest.mark.parametrize("v", VECTORS, ids=[v["name"] for v in VECTORS])
def test_evaluate(v: dict[str, Any]) -> None:
    if "error" in v:
        with pytest.raises(LeastprivError) as info:
            leastpriv.evaluate(v["policies"], v["request"])
        want = v["error"]
        assert info.value.kind == want["kind"], str(info.value)
        if "field" in want:
            assert info.value.field == want["field"], str(info.value)
        return
    got = leastpriv.evaluate(v["policies"], v["request"])
    assert got["decision"] == v["expect"], got
