"""Record every call a boto3/botocore session or client makes.

>>> import boto3, leastpriv, leastpriv.boto3
>>> rec = leastpriv.Recorder(account="123456789012")
>>> session = boto3.Session(region_name="eu-west-1")
>>> leastpriv.boto3.instrument(session, rec)        # clients created from now on
>>> s3 = session.client("s3")
>>> # ... s3.get_object(Bucket="reports", Key="2024/q1.csv") ...

``instrument(client, rec)`` does the same for a client that already exists (botocore copies a
session's event handlers into a client only when the client is created).

aiobotocore (and so aioboto3) clients are recorded the same way: ``instrument`` takes an
``AioSession`` or an aiobotocore client, and ``instrument_all`` covers the clients aiobotocore
sessions create too (their event handlers are called as botocore's are).

What is recorded per call: the service (``client.meta.service_model.service_name``), the
operation, the parameters *as the caller passed them* (not the serialized request), the client's
region and endpoint, and the outcome (success, or the error code of a ``ClientError``). Payload
members (an S3 ``Body``, a ``MessageBody``, a ``SecretString``, file objects, bytes, streams) are
never read: when the call ends, only the members the rules read to name a resource are converted,
in Rust, and of those only ``dict``, ``list``, ``str``, numbers, booleans and ``None``.
"""

from __future__ import annotations

import functools
import threading
import warnings
from collections.abc import Callable
from types import SimpleNamespace
from typing import Any, Literal

from leastpriv import _context
from leastpriv._leastpriv import Recorder

__all__ = ["instrument", "instrument_all"]

# Client attribute holding the recorders a client feeds.
_ATTR = "_leastpriv_recorders"
# Key of the per-request stash in botocore's request context.
_STASH = "leastpriv.call"

_lock = threading.Lock()


def _is_client(obj: Any) -> bool:
    meta = getattr(obj, "meta", None)
    return meta is not None and hasattr(meta, "events") and hasattr(meta, "service_model")


def instrument(session_or_client: Any, recorder: Recorder) -> None:
    """Records every call made through a botocore client, or through every client that a
    ``boto3.Session`` / ``botocore.session.Session`` creates from now on.

    Instrumenting the same client or session twice with the same recorder has no further
    effect; several recorders may be attached to one client.
    """
    if not isinstance(recorder, Recorder):
        raise TypeError(f"recorder must be a leastpriv.Recorder, not {type(recorder).__name__}")
    if _is_client(session_or_client):
        _instrument_client(session_or_client, recorder)
        return
    register = getattr(session_or_client, "register", None)  # botocore Session
    events = getattr(session_or_client, "events", None)  # boto3 Session
    if events is not None and hasattr(events, "register"):
        register = events.register
    if register is None:
        raise TypeError(
            "instrument() takes a boto3.Session, a botocore Session or a botocore client, "
            f"not {type(session_or_client).__name__}"
        )
    register(
        "creating-client-class",
        functools.partial(_add_base_class, recorder=recorder),
        unique_id=f"leastpriv-client-class-{id(recorder)}",
    )


def instrument_all(recorder: Recorder) -> Callable[[], None]:
    """Records every client any botocore session creates from now on (what the pytest plugin
    uses). Returns a function that undoes it."""
    import botocore.session

    original = botocore.session.Session.create_client

    @functools.wraps(original)
    def create_client(self: Any, *args: Any, **kwargs: Any) -> Any:
        client = original(self, *args, **kwargs)
        try:
            _instrument_client(client, recorder)
        except Exception as e:  # never break the caller's client
            warnings.warn(f"leastpriv: could not instrument a client: {e!r}", stacklevel=2)
        return client

    botocore.session.Session.create_client = create_client
    undo_aio = _instrument_all_aio(recorder)

    def undo() -> None:
        botocore.session.Session.create_client = original
        undo_aio()

    return undo


def _instrument_all_aio(recorder: Recorder) -> Callable[[], None]:
    """As ``instrument_all``, for aiobotocore sessions (their ``create_client`` is their own,
    an async context manager around the coroutine ``_create_client``), when aiobotocore is
    installed."""
    try:
        from aiobotocore.session import AioSession  # type: ignore[import-not-found]
    except ImportError:
        return lambda: None
    original = AioSession._create_client

    @functools.wraps(original)
    async def _create_client(self: Any, *args: Any, **kwargs: Any) -> Any:
        client = await original(self, *args, **kwargs)
        try:
            _instrument_client(client, recorder)
        except Exception as e:  # never break the caller's client
            warnings.warn(f"leastpriv: could not instrument a client: {e!r}", stacklevel=2)
        return client

    AioSession._create_client = _create_client

    def undo() -> None:
        AioSession._create_client = original

    return undo


def _add_base_class(
    class_attributes: Any, base_classes: list[type], recorder: Recorder, **_: Any
) -> None:
    """``creating-client-class`` handler: clients of the new class instrument themselves."""

    def __init__(self: Any, *args: Any, **kwargs: Any) -> None:
        super(recorded, self).__init__(*args, **kwargs)
        _instrument_client(self, recorder)

    recorded: type[Any] = type("LeastprivRecorded", (), {"__init__": __init__})
    base_classes.insert(0, recorded)


def _instrument_client(client: Any, recorder: Recorder) -> None:
    with _lock:
        recorders: list[Recorder] | None = client.__dict__.get(_ATTR)
        if recorders is not None:
            if not any(r is recorder for r in recorders):
                recorders.append(recorder)
            return
        recorders = [recorder]
        client.__dict__[_ATTR] = recorders
    meta = client.meta
    service = meta.service_model.service_name
    events = meta.events

    def on_params(params: Any = None, context: Any = None, **_: Any) -> None:
        if context is None or not _context.recording():
            return
        # A shallow copy: what the caller passed, safe from handlers that replace members
        # later (S3's CopySource), without reading or copying any payload.
        context[_STASH] = (dict(params) if isinstance(params, dict) else {}, _context.source())

    def record(context: Any, model: Any, outcome: Literal["ok", "error"], code: str | None) -> None:
        stash = context.pop(_STASH, None) if context is not None else None
        if stash is None:
            return
        params, source = stash
        operation = getattr(model, "name", None)
        if not operation:
            return
        for rec in list(recorders):
            try:
                rec.record(
                    service,
                    operation,
                    params,
                    region=meta.region_name,
                    endpoint=meta.endpoint_url,
                    outcome=outcome,
                    error_code=code,
                    source=source,
                )
            except Exception as e:  # never break the caller's call
                warnings.warn(
                    f"leastpriv: could not record {service}:{operation}: {e!r}", stacklevel=2
                )

    def on_after_call(
        http_response: Any = None,
        parsed: Any = None,
        model: Any = None,
        context: Any = None,
        **_: Any,
    ) -> None:
        status = getattr(http_response, "status_code", 200) or 200
        if status >= 300:
            error = parsed.get("Error", {}) if isinstance(parsed, dict) else {}
            code = (context or {}).get("error_code_override") or (
                error.get("Code") if isinstance(error, dict) else None
            )
            record(context, model, "error", str(code) if code else str(status))
        else:
            record(context, model, "ok", None)

    def on_after_call_error(exception: Any = None, context: Any = None, **kwargs: Any) -> None:
        # The request never got an answer (a connection error): it still needed its
        # permission. after-call-error carries no model; the operation is in the event name.
        event_name = kwargs.get("event_name", "")
        model = SimpleNamespace(name=event_name.rsplit(".", 1)[-1] if event_name else None)
        record(context, model, "error", type(exception).__name__ if exception else None)

    events.register_first("provide-client-params", on_params, unique_id="leastpriv-params")
    events.register_last("after-call", on_after_call, unique_id="leastpriv-after-call")
    events.register_last(
        "after-call-error", on_after_call_error, unique_id="leastpriv-after-call-error"
    )
