"""The shapes of the plain data the API takes and returns (for type annotations): the core's
JSON forms, the same in the Node package."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, Literal, TypedDict

__all__ = [
    "Counts",
    "Diagnostic",
    "Evidence",
    "EvidenceLine",
    "PermissionLine",
    "PolicyOptions",
    "PolicyResult",
    "ReadOptions",
    "RewriteRule",
    "Settings",
    "CheckResult",
    "CheckFinding",
]

Condition = dict[str, dict[str, list[str]]]
Mappings = Mapping[str, str] | Iterable[str] | str


class ReadOptions(TypedDict, total=False):
    """How ``Recorder.read`` reads a file (checked by the core)."""

    format: Literal[
        "auto", "mulog-edn", "edn", "mulog-json", "jsonl", "json-lines", "cloudtrail", "observed"
    ]
    lenient: bool
    event_name: str
    principal_key: str
    max_event_size: int | str
    principal: str | Iterable[str]
    read_only: Literal["all", "only", "skip"]


class PolicyOptions(TypedDict, total=False):
    """How ``permissions``, ``evidence`` and ``policy`` build (checked by the core)."""

    name: str
    region: str
    account: str
    partition: str
    map_account: Mappings
    map_region: Mappings
    outcome: Literal["ok", "all"]
    exclude: Iterable[str] | str
    s3_objects: Literal["exact", "prefix", "bucket"]
    group_by: bool
    max_size: int
    rewrite: list[RewriteRule]
    env: str
    values: Mapping[str, str]


class RewriteRule(TypedDict, total=False):
    """A rewrite rule (``[[rewrite]]`` in ``leastpriv.toml``): test names to production ones."""

    match: str
    name: str
    service: str
    type: str
    terraform_name: str
    terraform_arn: str


class Settings(TypedDict):
    """What ``resolve_settings`` returns: the configuration file under the runner's settings,
    the ``LEASTPRIV_*`` environment variables and the command line."""

    read: ReadOptions
    policy: PolicyOptions
    out: str | None
    out_format: Literal["json", "terraform"] | None
    rules: list[str]
    emit: list[str]
    terraform_provider: int | None
    fail_on: list[str]
    check: dict[str, Any] | None
    config: str | None


class _Permission(TypedDict):
    action: str
    resource: str


class PermissionLine(_Permission, total=False):
    """One (action, resource) pair, as ``leastpriv permissions`` prints it; ``condition`` only
    where the permission has one."""

    condition: Condition


class Evidence(TypedDict):
    """Where something was first seen: a source (file, test id) and a line (0 when none)."""

    source: str
    line: int


class _EvidenceLine(TypedDict):
    action: str
    resource: str
    principal: str | None
    ok: int
    failed: int
    first: Evidence


class EvidenceLine(_EvidenceLine, total=False):
    """A permission with its counts and ``first`` evidence."""

    condition: Condition


class Counts(TypedDict):
    """Calls recorded, events skipped (other event names), malformed events skipped."""

    calls: int
    skipped: int
    malformed: int


class _Diagnostic(TypedDict):
    kind: str
    service: str
    operation: str
    message: str
    count: int
    ok: int
    failed: int
    first: Evidence


class Diagnostic(_Diagnostic, total=False):
    """A note on how calls were mapped (``unmapped_operation``, ``wildcard``, ``gap``, ...)."""

    action: str
    hint: dict[str, str]


class PolicyOut(TypedDict):
    name: str
    principal: str | None
    documents: list[dict[str, object]]


class PolicyResult(TypedDict):
    """``Policy.result``: the whole result, the same in every language."""

    policies: list[PolicyOut]
    diagnostics: list[Diagnostic]
    counts: Counts
    malformed_at: list[Evidence]
    statements: int
    documents: int


class CheckFinding(TypedDict, total=False):
    """A finding of ``Recorder.check``: ``kind`` (``missing``, ``unused``, ``broad``,
    ``undecidable``), ``message``, and where it applies."""

    kind: Literal["missing", "unused", "broad", "undecidable"]
    message: str
    action: str
    resource: str
    statement: dict[str, Any]
    first: Evidence
    suggestion: dict[str, list[str]]


class CheckResult(TypedDict):
    """What ``Recorder.check`` returns (``spec/schema/check.schema.json``)."""

    format: Literal["leastpriv-check"]
    version: int
    permissions: int
    counts: dict[str, int]
    findings: list[CheckFinding]
    unresolved: list[dict[str, Any]]
    gaps: int
