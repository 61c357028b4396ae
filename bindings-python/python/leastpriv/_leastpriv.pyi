"""Type stubs for the compiled module ``leastpriv._leastpriv`` (checked by ``mypy.stubtest``)."""

import os
from collections.abc import Iterable, Mapping
from typing import Any, Literal, final

from typing_extensions import Unpack

from leastpriv.errors import (
    ERROR_KINDS as ERROR_KINDS,
)
from leastpriv.errors import (
    EncodingError as EncodingError,
)
from leastpriv.errors import (
    InvalidEventError as InvalidEventError,
)
from leastpriv.errors import (
    InvalidPolicyError as InvalidPolicyError,
)
from leastpriv.errors import (
    IoError as IoError,
)
from leastpriv.errors import (
    LeastprivError as LeastprivError,
)
from leastpriv.errors import (
    NotFoundError as NotFoundError,
)
from leastpriv.errors import (
    ParseError as ParseError,
)
from leastpriv.errors import (
    RulesError as RulesError,
)
from leastpriv.errors import (
    SerializationError as SerializationError,
)
from leastpriv.errors import (
    UnknownFormatError as UnknownFormatError,
)
from leastpriv.errors import (
    UsageError as UsageError,
)
from leastpriv.types import (
    CheckResult,
    Counts,
    Diagnostic,
    Evidence,
    EvidenceLine,
    PermissionLine,
    PolicyOptions,
    PolicyResult,
    ReadOptions,
    Settings,
)

__all__ = [
    "ERROR_KINDS",
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
    "_restore",
    "rule_actions",
    "evaluate",
    "decode_http",
    "render_variables",
    "resolve_settings",
    "split_options",
    "write_file",
]

__version__: str

_Path = str | os.PathLike[str]

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
        outcome: Literal["ok", "error"] | None = None,
        error_code: str | None = None,
        principal: str | None = None,
        endpoint: str | None = None,
        source: str | None = None,
    ) -> None: ...
    def read(self, path: _Path, **options: Unpack[ReadOptions]) -> None: ...
    def permissions(self, **options: Unpack[PolicyOptions]) -> list[PermissionLine]: ...
    def evidence(self, **options: Unpack[PolicyOptions]) -> list[EvidenceLine]: ...
    def policy(self, **options: Unpack[PolicyOptions]) -> Policy: ...
    def check(
        self,
        policy: _Path | Iterable[_Path],
        *,
        vars: Mapping[str, str] | None = None,
        **options: Unpack[PolicyOptions],
    ) -> CheckResult: ...
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
    def malformed_at(self) -> list[Evidence]: ...
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
    def result(self) -> PolicyResult: ...
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
def split_options(options: Mapping[str, Any]) -> tuple[ReadOptions, PolicyOptions]: ...
def resolve_settings(
    cwd: _Path,
    runner: Mapping[str, Any] | None = None,
    cli: Mapping[str, Any] | None = None,
) -> Settings: ...
def render_variables(options: Mapping[str, Any]) -> str: ...
def evaluate(policies: Any, request: Mapping[str, Any]) -> dict[str, Any]: ...
def decode_http(raw: bytes) -> dict[str, Any]: ...
def _restore(
    data: bytes | bytearray,
    region: str | None,
    account: str | None,
    partition: str | None,
    rules: list[str],
) -> Recorder: ...
