"""Type stubs for the compiled module ``leastpriv._leastpriv`` (checked by ``mypy.stubtest``)."""

import os
from collections.abc import Iterable, Mapping
from typing import Any, ClassVar, Literal, final

from leastpriv.types import Counts, Diagnostic, EvidenceLine, PermissionLine

__all__ = [
    "ERROR_KINDS",
    "EncodingError",
    "InvalidEventError",
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
    "_restore",
    "rule_actions",
    "write_file",
]

__version__: str
ERROR_KINDS: tuple[str, ...]

_Path = str | os.PathLike[str]
_Mappings = Mapping[str, str] | Iterable[str] | str | None
_Strings = Iterable[str] | str | None

@final
class Recorder:
    """Records AWS calls and reads event files; derives the permissions they need."""

    def __new__(
        cls,
        region: str | None = None,
        account: str | None = None,
        partition: str | None = None,
        *,
        rules: _Path | Iterable[_Path] | None = None,
    ) -> Recorder: ...
    def record(
        self,
        service: str,
        operation: str,
        params: Mapping[str, Any] | None = None,
        *,
        region: str | None = None,
        account: str | None = None,
        partition: str | None = None,
        outcome: Literal["ok", "error"] = "ok",
        error_code: str | None = None,
        principal: str | None = None,
        endpoint: str | None = None,
        source: str | None = None,
    ) -> None: ...
    def read(
        self,
        path: _Path,
        format: Literal["auto", "mulog-edn", "edn", "mulog-json", "jsonl", "json-lines", "observed"]
        | str = "auto",
        lenient: bool = False,
        *,
        event_name: str = "aws/request",
        principal_key: str | None = None,
    ) -> None: ...
    def permissions(
        self,
        *,
        region: str | None = None,
        account: str | None = None,
        partition: str | None = None,
        map_account: _Mappings = None,
        map_region: _Mappings = None,
        outcome: Literal["ok", "all"] = "all",
        exclude: _Strings = None,
    ) -> list[PermissionLine]: ...
    def evidence(
        self,
        *,
        region: str | None = None,
        account: str | None = None,
        partition: str | None = None,
        map_account: _Mappings = None,
        map_region: _Mappings = None,
    ) -> list[EvidenceLine]: ...
    def policy(
        self,
        *,
        name: str = "leastpriv",
        region: str | None = None,
        account: str | None = None,
        partition: str | None = None,
        map_account: _Mappings = None,
        map_region: _Mappings = None,
        outcome: Literal["ok", "all"] = "all",
        exclude: _Strings = None,
        s3_objects: Literal["exact", "prefix", "bucket"] = "prefix",
        group_by: bool = False,
        max_size: int = 6144,
    ) -> Policy: ...
    def merge(self, other: Recorder) -> None: ...
    def to_bytes(self) -> bytes: ...
    @classmethod
    def from_bytes(
        cls,
        data: bytes | bytearray,
        *,
        region: str | None = None,
        account: str | None = None,
        partition: str | None = None,
        rules: _Path | Iterable[_Path] | None = None,
    ) -> Recorder: ...
    @property
    def counts(self) -> Counts: ...
    @property
    def malformed_at(self) -> list[tuple[str, int]]: ...
    @property
    def region(self) -> str | None: ...
    @property
    def account(self) -> str | None: ...
    @property
    def partition(self) -> str | None: ...
    def __len__(self) -> int: ...
    def __reduce__(self) -> tuple[Any, ...]: ...

@final
class Policy:
    """The policy built from a recorder: one or more IAM documents, plus diagnostics."""

    def to_json(self) -> str: ...
    def to_terraform(
        self, name: str | None = None, *, provider: int = 6, data_sources: bool = True
    ) -> str: ...
    @property
    def documents(self) -> list[dict[str, Any]]: ...
    @property
    def documents_by_name(self) -> dict[str, list[dict[str, Any]]]: ...
    @property
    def diagnostics(self) -> list[Diagnostic]: ...
    @property
    def statement_count(self) -> int: ...
    def report(self) -> str: ...

def rule_actions() -> list[str]: ...
def write_file(path: _Path, data: bytes) -> None: ...
def _restore(
    data: bytes | bytearray,
    region: str | None,
    account: str | None,
    partition: str | None,
    rules: list[str],
) -> Recorder: ...

class LeastprivError(Exception):
    """Base class of every leastpriv error."""

    kind: ClassVar[str]
    message: str
    path: str | None
    line: int | None
    column: int | None
    field: str | None

class IoError(LeastprivError, OSError): ...
class NotFoundError(LeastprivError, FileNotFoundError): ...
class EncodingError(LeastprivError, ValueError): ...
class ParseError(LeastprivError, ValueError): ...
class InvalidEventError(LeastprivError, ValueError): ...
class UnknownFormatError(LeastprivError, ValueError): ...
class RulesError(LeastprivError, ValueError): ...
class SerializationError(LeastprivError, ValueError): ...
class UsageError(LeastprivError, ValueError): ...
