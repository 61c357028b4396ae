"""Process-wide recording switches shared by the boto3 hooks and the pytest plugin.

They are process-wide on purpose (not context variables): a test that calls AWS from a thread
pool is still one test, and its calls carry its node id.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager

_lock = threading.Lock()
_paused = 0
# Set by the pytest plugin: whether the current phase is recorded, and the node id to cite.
_gate_open = True
_source: str | None = None


@contextmanager
def paused() -> Iterator[None]:
    """Calls made inside the block (from any thread) are not recorded.

    >>> import leastpriv
    >>> with leastpriv.paused():
    ...     pass  # create the buckets and tables Terraform owns in production
    """
    global _paused
    with _lock:
        _paused += 1
    try:
        yield
    finally:
        with _lock:
            _paused -= 1


def recording() -> bool:
    """Whether a call made now is recorded."""
    return _paused == 0 and _gate_open


def source() -> str | None:
    """The label cited as evidence for a call made now (the pytest node id), if any."""
    return _source


def set_gate(open_: bool, source: str | None) -> None:
    """Used by the pytest plugin at each test phase."""
    global _gate_open, _source
    _gate_open = open_
    _source = source
