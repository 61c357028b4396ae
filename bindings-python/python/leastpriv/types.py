"""The shapes of the plain data the API returns (for type annotations)."""

from __future__ import annotations

from typing import TypedDict

__all__ = ["Counts", "Diagnostic", "DiagnosticFirst", "EvidenceLine", "PermissionLine"]

Condition = dict[str, dict[str, list[str]]]


class _Permission(TypedDict):
    action: str
    resource: str


class PermissionLine(_Permission, total=False):
    """One (action, resource) pair, as ``leastpriv permissions`` prints it; ``condition`` only
    where the permission has one."""

    condition: Condition


class _Evidence(TypedDict):
    action: str
    resource: str
    principal: str | None
    ok: int
    failed: int
    source: str
    line: int


class EvidenceLine(_Evidence, total=False):
    """A permission with its counts and first evidence (``source`` and ``line``)."""

    condition: Condition


class Counts(TypedDict):
    """Calls recorded, events skipped (other event names), malformed events skipped."""

    calls: int
    skipped: int
    malformed: int


class DiagnosticFirst(TypedDict):
    source: str
    line: int


class Diagnostic(TypedDict):
    """A note on how calls were mapped (``unmapped_operation``, ``wildcard``, ``gap``, ...)."""

    kind: str
    service: str
    operation: str
    message: str
    count: int
    first: DiagnosticFirst
