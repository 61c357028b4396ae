"""Shared fixtures: paths, and a real ``moto_server`` on 127.0.0.1 (started on first use, stopped
at the end of the session, never left running)."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

pytest_plugins = ["pytester"]

HERE = Path(__file__).resolve().parent
PACKAGE = HERE.parent
REPO = PACKAGE.parent
SPEC = REPO / "spec"

# The e2e application and its own test suite are run by test_e2e.py in a separate pytest
# process, never collected here.
collect_ignore = ["e2e"]


def leastpriv_cli() -> str:
    """The CLI scripts/test-python.sh built (LEASTPRIV_CLI): a skip outside it, a failure in CI."""
    cli = os.environ.get("LEASTPRIV_CLI")
    if not cli:
        if os.environ.get("CI"):
            pytest.fail("LEASTPRIV_CLI is not set (scripts/test-python.sh sets it)")
        pytest.skip("LEASTPRIV_CLI is not set (scripts/test-python.sh sets it)")
    return cli


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class MotoServer:
    """A moto_server process bound to 127.0.0.1 on a free port."""

    def __init__(self, log: Path) -> None:
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self._log = open(log, "wb")  # noqa: SIM115 - closed in stop()
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(self.port)],
            stdout=self._log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
        )
        # scripts/test-python.sh kills whatever is still listed here when it exits, so that
        # a server outlives no interrupted run.
        piddir = os.environ.get("LEASTPRIV_TEST_PIDDIR")
        self._pidfile = Path(piddir) / f"moto-{self.proc.pid}.pid" if piddir else None
        if self._pidfile is not None:
            self._pidfile.write_text(str(self.proc.pid))
        deadline = time.monotonic() + 60
        while True:
            if self.proc.poll() is not None:
                raise RuntimeError(f"moto_server exited with {self.proc.returncode}; see {log}")
            try:
                with urllib.request.urlopen(self.url + "/moto-api/", timeout=2):
                    break
            except (urllib.error.URLError, OSError):
                if time.monotonic() > deadline:
                    self.stop()
                    raise RuntimeError(f"moto_server did not start in 60 s; see {log}") from None
                time.sleep(0.2)

    def reset(self) -> None:
        req = urllib.request.Request(self.url + "/moto-api/reset", method="POST")
        with urllib.request.urlopen(req, timeout=10):
            pass

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)
        if self._pidfile is not None:
            self._pidfile.unlink(missing_ok=True)
        self._log.close()


@pytest.fixture(scope="session")
def moto_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MotoServer]:
    server = MotoServer(tmp_path_factory.mktemp("moto") / "moto_server.log")
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def aws_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """Fake credentials and a region, so no test can reach a real account."""
    for k in list(os.environ):
        if k.startswith("AWS_"):
            monkeypatch.delenv(k)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "eu-west-1")
    monkeypatch.setenv("AWS_CONFIG_FILE", os.devnull)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", os.devnull)
