"""aiobotocore clients (what aioboto3 uses) recorded as boto3 ones are, end to end against a real
moto_server on 127.0.0.1 (run by .venv's Python: this venv has aiobotocore's botocore)."""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from aiobotocore.session import AioSession, get_session
from botocore.exceptions import ClientError

import leastpriv
import leastpriv.boto3
from leastpriv import Recorder

ACCOUNT = "123456789012"


@pytest.fixture(scope="module")
def moto(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    python = os.environ.get("LEASTPRIV_MOTO_PYTHON")
    if not python:
        pytest.fail("LEASTPRIV_MOTO_PYTHON (a Python with moto[server]) is not set")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    log = open(tmp_path_factory.mktemp("moto") / "moto.log", "wb")  # noqa: SIM115
    proc = subprocess.Popen(
        [python, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
        stdout=log,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
    )
    piddir = os.environ.get("LEASTPRIV_TEST_PIDDIR")
    if piddir:
        Path(piddir, f"moto-aio-{proc.pid}.pid").write_text(str(proc.pid))
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            assert proc.poll() is None, "moto_server exited"
            try:
                with urllib.request.urlopen(url + "/moto-api/", timeout=2):
                    break
            except (urllib.error.URLError, OSError):
                assert time.monotonic() < deadline, "moto_server did not start in 60 s"
                time.sleep(0.2)
        yield url
    finally:
        proc.terminate()
        proc.wait(timeout=10)
        log.close()


@pytest.fixture(autouse=True)
def aws_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for k in list(os.environ):
        if k.startswith("AWS_"):
            monkeypatch.delenv(k)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_CONFIG_FILE", os.devnull)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", os.devnull)


def _reset(url: str) -> None:
    req = urllib.request.Request(url + "/moto-api/reset", method="POST")
    with urllib.request.urlopen(req, timeout=10):
        pass


async def _app(session: Any, url: str) -> None:
    """A small application: an upload, a read, a missing object, a queue message."""
    _reset(url)
    kw = {"endpoint_url": url, "region_name": "eu-west-1"}
    async with session.create_client("s3", **kw) as s3, session.create_client("sqs", **kw) as sqs:
        with leastpriv.paused():
            await s3.create_bucket(
                Bucket="invoices", CreateBucketConfiguration={"LocationConstraint": "eu-west-1"}
            )
            queue = (await sqs.create_queue(QueueName="jobs"))["QueueUrl"]
        await s3.put_object(Bucket="invoices", Key="2024/inv-1.pdf", Body=b"%PDF-secret")
        await s3.get_object(Bucket="invoices", Key="2024/inv-1.pdf")
        with pytest.raises(ClientError):
            await s3.get_object(Bucket="invoices", Key="2024/missing.pdf")
        await sqs.send_message(QueueUrl=queue, MessageBody="secret")


WANT = [
    {"action": "s3:GetObject", "resource": "arn:aws:s3:::invoices/2024/inv-1.pdf"},
    {"action": "s3:GetObject", "resource": "arn:aws:s3:::invoices/2024/missing.pdf"},
    {"action": "s3:PutObject", "resource": "arn:aws:s3:::invoices/2024/inv-1.pdf"},
    {"action": "sqs:SendMessage", "resource": f"arn:aws:sqs:eu-west-1:{ACCOUNT}:jobs"},
]


def test_a_session_instrumented_records_its_clients(moto: str) -> None:
    rec = Recorder(account=ACCOUNT)
    session = get_session()
    leastpriv.boto3.instrument(session, rec)
    asyncio.run(_app(session, moto))
    assert rec.permissions() == WANT
    failed = [e for e in rec.evidence() if e["failed"]]
    assert [e["resource"] for e in failed] == ["arn:aws:s3:::invoices/2024/missing.pdf"]
    # The payloads were never read: nothing of them is in the state.
    assert b"secret" not in rec.to_bytes()


def test_instrument_all_covers_aiobotocore_sessions(moto: str) -> None:
    rec = Recorder(account=ACCOUNT)
    undo = leastpriv.boto3.instrument_all(rec)
    try:
        asyncio.run(_app(AioSession(), moto))
    finally:
        undo()
    assert rec.permissions() == WANT
    # Undone: a new session's clients are not recorded any more.
    before = rec.counts["calls"]
    asyncio.run(_app(AioSession(), moto))
    assert rec.counts["calls"] == before
