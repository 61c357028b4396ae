"""The shared vectors of ``spec/vectors`` through the Python API (see ``spec/README.md``).

Interpreted exactly as the Rust runner (``tests/vectors.rs``) does: the options are split and
checked by the core (``leastpriv.split_options``) and passed as they come to ``Recorder.read``
and ``Recorder.policy``. ``calls`` inputs go through ``Recorder.record`` (the Python-to-core
conversion), and are checked to give the same permissions as the same calls read from a
JSON-lines file; ``text`` inputs go through ``Recorder.read``.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

import leastpriv
from leastpriv import LeastprivError, Recorder

from .conftest import SPEC

# Vectors known to fail, with the reason. A listed vector that passes fails the run, so the
# list cannot go stale (as in tests/vectors.rs).
EXPECTED_FAILURES: dict[str, str] = {}


def _load() -> list[Any]:
    params = []
    names: set[str] = set()
    files = sorted((SPEC / "vectors").glob("*.json"))
    assert files, f"no vectors in {SPEC / 'vectors'}"
    for f in files:
        for v in json.loads(f.read_text(encoding="utf-8")):
            name = v.get("name", "unnamed")
            assert name not in names, f"duplicate vector name {name}"
            names.add(name)
            marks = []
            if name in EXPECTED_FAILURES:
                marks.append(pytest.mark.xfail(reason=EXPECTED_FAILURES[name], strict=True))
            params.append(pytest.param(v, id=f"{f.stem}::{name}", marks=marks))
    return params


VECTORS = _load()


def _record_call(rec: Recorder, c: dict[str, Any]) -> None:
    rec.record(
        c["service"],
        c["operation"],
        c.get("params"),
        region=c.get("region"),
        account=c.get("account"),
        partition=c.get("partition"),
        outcome=c.get("outcome"),
        error_code=c.get("error_code"),
        principal=c.get("principal"),
        endpoint=c.get("endpoint"),
        source=c.get("source", "input"),
    )


def _read(
    v: dict[str, Any], read: dict[str, Any], policy: dict[str, Any], tmp_path: Path
) -> Recorder:
    inp = v["input"]
    rec = Recorder()
    if "calls" in inp:
        for c in inp["calls"]:
            _record_call(rec, c)
        # The same calls read as a JSON-lines file must give the same permissions.
        jsonl = tmp_path / "calls.jsonl"
        jsonl.write_text("".join(json.dumps(c) + "\n" for c in inp["calls"]), encoding="utf-8")
        via_file = Recorder()
        via_file.read(jsonl, **{**read, "format": "jsonl"})
        assert rec.permissions(**policy) == via_file.permissions(**policy)
        assert len(rec) == len(via_file)
        return rec
    path = tmp_path / "input"
    path.write_bytes(inp["text"].encode("utf-8"))
    rec.read(path, **{**read, "format": inp.get("format", "auto")})
    return rec


def _check_error(v: dict[str, Any], err: LeastprivError | None) -> None:
    want = v["error"]
    assert err is not None, f"expected an error {want}, got success"
    if "kind" in want:
        assert err.kind == want["kind"], f"error kind: want {want['kind']}, got {err.kind} ({err})"
        assert type(err).kind == want["kind"]
    for key in ("line", "column", "field"):
        if key in want:
            assert getattr(err, key) == want[key], f"error {key}: want {want[key]} ({err})"


@pytest.mark.parametrize("v", VECTORS)
def test_vector(v: dict[str, Any], tmp_path: Path) -> None:
    try:
        # The options as the core reads them, in every language: no mapping here.
        read, policy_options = leastpriv.split_options(v.get("options", {}))
        rec = _read(v, dict(read), dict(policy_options), tmp_path)
        if "error" in v:  # building the policy is where rewrite rules fail
            rec.policy(**policy_options)
    except LeastprivError as e:
        if "error" in v:
            _check_error(v, e)
            return
        raise
    if "error" in v:
        _check_error(v, None)
    expect = v["expect"]
    checked = 0
    if "permissions" in expect:
        checked += 1
        got = {json.dumps(p, sort_keys=True) for p in rec.permissions(**policy_options)}
        want = {json.dumps(p, sort_keys=True) for p in expect["permissions"]}
        assert got == want, f"missing: {sorted(want - got)}\nextra: {sorted(got - want)}"
    policy = rec.policy(**policy_options)
    if "diagnostics" in expect:
        checked += 1
        want_kinds = {d if isinstance(d, str) else d["kind"] for d in expect["diagnostics"]}
        got_kinds = {d["kind"] for d in policy.diagnostics}
        assert want_kinds <= got_kinds, f"diagnostics missing: {want_kinds - got_kinds}"
    if "policy_resources" in expect:
        checked += 1
        got_res: dict[str, set[str]] = {}
        for doc in policy.documents:
            for st in doc["Statement"]:
                for a in st["Action"]:
                    got_res.setdefault(a, set()).update(st["Resource"])
        for action, resources in expect["policy_resources"].items():
            assert got_res.get(action, set()) == set(resources), f"resources of {action}"
    if "policy" in expect:
        checked += 1
        assert json.loads(policy.to_json()) == expect["policy"]
    for key in ("skipped", "malformed", "calls"):
        if key in expect:
            checked += 1
            assert rec.counts[key] == expect[key], key
    assert checked, "vector expects nothing"


def test_every_vector_file_is_run() -> None:
    files = {p.stem for p in (SPEC / "vectors").glob("*.json")}
    run = {p.id.split("::")[0] for p in VECTORS}  # type: ignore[union-attr]
    assert files == run
    assert leastpriv.__version__
