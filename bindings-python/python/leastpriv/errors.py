"""The exceptions: ``LeastprivError`` and one subclass per error kind of the core.

Each mixes in the builtin it naturally is (``FileNotFoundError``, ``OSError``, ``ValueError``),
so ``except ValueError`` still catches a malformed event. ``kind`` names the kind (as the Node
package's ``code`` does); ``path``, ``line``, ``column`` and ``field`` say where, when known
(else ``None``); ``message`` is the text without the place.
"""

from __future__ import annotations

__all__ = [
    "ERROR_KINDS",
    "EncodingError",
    "InvalidEventError",
    "InvalidPolicyError",
    "IoError",
    "LeastprivError",
    "NotFoundError",
    "ParseError",
    "RulesError",
    "SerializationError",
    "UnknownFormatError",
    "UsageError",
]


class LeastprivError(Exception):
    """Base class of every leastpriv error."""

    kind: str = "error"
    message: str = ""
    path: str | None = None
    line: int | None = None
    column: int | None = None
    field: str | None = None


class IoError(LeastprivError, OSError):
    """A file could not be opened, read or written (also an ``OSError``)."""

    kind = "io"


class NotFoundError(LeastprivError, FileNotFoundError):
    """A file that does not exist was named (also a ``FileNotFoundError``)."""

    kind = "not_found"


class EncodingError(LeastprivError, ValueError):
    """The bytes are not valid UTF-8 (also a ``ValueError``)."""

    kind = "encoding"


class ParseError(LeastprivError, ValueError):
    """The text is not well-formed EDN or JSON (kind ``syntax``; also a ``ValueError``)."""

    kind = "syntax"


class InvalidEventError(LeastprivError, ValueError):
    """The event is well-formed but not a usable AWS request event (also a ``ValueError``)."""

    kind = "invalid_event"


class UnknownFormatError(LeastprivError, ValueError):
    """The input format could not be detected, or an unknown format was named."""

    kind = "unknown_format"


class RulesError(LeastprivError, ValueError):
    """A rules file is malformed (also a ``ValueError``)."""

    kind = "rules"


class SerializationError(LeastprivError, ValueError):
    """A serialized state is malformed or of an unsupported version."""

    kind = "serialization"


class UsageError(LeastprivError, ValueError):
    """An argument or option is malformed; ``field`` names it (also a ``ValueError``)."""

    kind = "usage"


class InvalidPolicyError(LeastprivError, ValueError):
    """A declared policy is not a valid IAM policy; ``field`` names the element (also a
    ``ValueError``)."""

    kind = "invalid_policy"


_CLASSES = (
    IoError,
    NotFoundError,
    EncodingError,
    ParseError,
    InvalidEventError,
    UnknownFormatError,
    RulesError,
    SerializationError,
    UsageError,
    InvalidPolicyError,
)
#: Every error kind, in the core's order.
ERROR_KINDS: tuple[str, ...] = tuple(c.kind for c in _CLASSES)
#: The class of each kind (the binding raises through it).
BY_KIND: dict[str, type[LeastprivError]] = {c.kind: c for c in _CLASSES}
