"""pytest plugin: ``pytest --leastpriv-out=iam/policy.tf`` writes the policy your tests needed.

Every boto3/botocore client the run creates is recorded (see ``leastpriv.boto3``). By default
only calls made while a test *runs* count: fixture setup and teardown, where tests typically
create the buckets and tables that Terraform owns in production, do not
(``--leastpriv-phases setup,call,teardown`` changes that; ``with leastpriv.paused():`` excludes
a block). Each permission's evidence is the node id of the test that first needed it.

With pytest-xdist each worker records on its own and sends its state (``Recorder.to_bytes``)
to the controller through ``workeroutput``; the controller merges them and writes the policy,
atomically, when the session ends.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Generator
from pathlib import Path
from typing import Any

import pytest

from leastpriv import _context, _leastpriv
from leastpriv._leastpriv import Recorder
from leastpriv.errors import LeastprivError

_PHASES = ("setup", "call", "teardown")
_WORKER_KEY = "leastpriv_state"


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("leastpriv", "least-privilege IAM policy from the AWS calls tests make")
    group.addoption(
        "--leastpriv-out",
        metavar="PATH",
        default=None,
        help="write the policy the tests needed to PATH (.tf: Terraform, else IAM JSON)",
    )
    group.addoption(
        "--leastpriv-format",
        choices=("json", "terraform"),
        default=None,
        help="output format (default: from the extension of --leastpriv-out)",
    )
    group.addoption(
        "--leastpriv-region",
        metavar="REGION",
        default=None,
        help="region for resources whose region the calls do not tell",
    )
    group.addoption(
        "--leastpriv-account",
        metavar="ACCOUNT",
        default=None,
        help="account for resources whose account the calls do not tell",
    )
    group.addoption(
        "--leastpriv-map-account",
        metavar="FROM=TO",
        action="append",
        default=None,
        help="rewrite an account the tests ran against (moto's 123456789012), repeatable",
    )
    group.addoption(
        "--leastpriv-map-region",
        metavar="FROM=TO",
        action="append",
        default=None,
        help="rewrite a region, repeatable",
    )
    group.addoption(
        "--leastpriv-name",
        metavar="NAME",
        default=None,
        help="policy name (Terraform block names; default leastpriv)",
    )
    group.addoption(
        "--leastpriv-phases",
        metavar="PHASES",
        default=None,
        help="comma-separated test phases whose calls count (default: call)",
    )
    group.addoption(
        "--leastpriv-state",
        metavar="PATH",
        default=None,
        help="also write the merged state (Recorder.to_bytes; readable by the CLI)",
    )


def _opt(config: pytest.Config, name: str) -> Any:
    """An option's value, also before the command line is fully parsed (at
    ``pytest_load_initial_conftests``, only the known arguments are)."""
    value = getattr(config.option, name, None)
    if value is None:
        value = getattr(getattr(config, "known_args_namespace", None), name, None)
    return value


def _active(config: pytest.Config) -> bool:
    return bool(_opt(config, "leastpriv_out") or _opt(config, "leastpriv_state"))


def _phases(raw: str) -> frozenset[str]:
    phases = frozenset(p.strip() for p in raw.split(",") if p.strip())
    unknown = phases - set(_PHASES)
    if unknown or not phases:
        raise pytest.UsageError(
            f"--leastpriv-phases {raw!r}: expected a comma-separated subset of {', '.join(_PHASES)}"
        )
    return phases


class _Plugin:
    """The per-process state: one recorder, the boto3 hook, and the phase gate."""

    def __init__(self, config: pytest.Config, phases: str) -> None:
        self.config = config
        self.phases = _phases(phases)
        self.policy_options: dict[str, Any] = {
            "name": _opt(config, "leastpriv_name") or "leastpriv",
            "region": _opt(config, "leastpriv_region"),
            "account": _opt(config, "leastpriv_account"),
            "map_account": _opt(config, "leastpriv_map_account") or [],
            "map_region": _opt(config, "leastpriv_map_region") or [],
        }
        try:  # check the options now rather than after the whole run
            Recorder().policy(**self.policy_options)
        except LeastprivError as e:
            raise pytest.UsageError(f"leastpriv: {e}") from e
        self.recorder = Recorder()
        self.undo: Callable[[], None] | None = None
        self.written: str | None = None
        self.policy_summary: str | None = None
        _context.set_gate(False, None)  # nothing outside a recorded test phase counts
        try:
            from leastpriv.boto3 import instrument_all

            self.undo = instrument_all(self.recorder)
        except ImportError:  # botocore is not installed: only manual recording
            self.undo = None

    def close(self) -> None:
        if self.undo is not None:
            self.undo()
            self.undo = None
        _context.set_gate(True, None)

    # -- the phase gate ----------------------------------------------------------------------

    def _phase(self, item: pytest.Item, phase: str) -> Generator[None, object, object]:
        _context.set_gate(phase in self.phases, item.nodeid)
        try:
            return (yield)
        finally:
            _context.set_gate(False, None)

    @pytest.hookimpl(wrapper=True)
    def pytest_runtest_setup(self, item: pytest.Item) -> Generator[None, object, object]:
        return (yield from self._phase(item, "setup"))

    @pytest.hookimpl(wrapper=True)
    def pytest_runtest_call(self, item: pytest.Item) -> Generator[None, object, object]:
        return (yield from self._phase(item, "call"))

    @pytest.hookimpl(wrapper=True)
    def pytest_runtest_teardown(self, item: pytest.Item) -> Generator[None, object, object]:
        return (yield from self._phase(item, "teardown"))

    # -- xdist ---------------------------------------------------------------------------------

    @pytest.hookimpl(optionalhook=True)
    def pytest_testnodedown(self, node: Any, error: Any) -> None:
        state = getattr(node, "workeroutput", {}).get(_WORKER_KEY)
        if state is not None:
            self.recorder.merge(Recorder.from_bytes(state))

    # -- the end -------------------------------------------------------------------------------

    @pytest.hookimpl(trylast=True)
    def pytest_sessionfinish(self, session: pytest.Session, exitstatus: int) -> None:
        if hasattr(self.config, "workerinput"):
            self.config.workeroutput[_WORKER_KEY] = self.recorder.to_bytes()  # type: ignore[attr-defined]
            return
        self._write()

    def _write(self) -> None:
        c = self.config
        out = _opt(c, "leastpriv_out")
        state = _opt(c, "leastpriv_state")
        if state:
            _write_atomically(Path(state), self.recorder.to_bytes())
        if not out:
            return
        fmt = _opt(c, "leastpriv_format") or ("terraform" if str(out).endswith(".tf") else "json")
        policy = self.recorder.policy(**self.policy_options)
        text = policy.to_terraform() if fmt == "terraform" else policy.to_json()
        _write_atomically(Path(out), text.encode("utf-8"))
        self.written = str(out)
        self.policy_summary = policy.report()

    def pytest_terminal_summary(self, terminalreporter: Any) -> None:
        if self.written is None:
            return
        terminalreporter.section("leastpriv")
        terminalreporter.write_line(f"policy written to {self.written}")
        for line in (self.policy_summary or "").splitlines():
            terminalreporter.write_line(line)


def _write_atomically(path: Path, data: bytes) -> None:
    """Writes as the CLI does (the core's ``write_files``): a regular file through an
    exclusively created temporary file beside it and a rename, keeping an existing file's mode;
    a symbolic link through to its target; a device, FIFO or ``/dev/stdout`` directly, never
    replacing it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    _leastpriv.write_file(path, data)


_PLUGIN_NAME = "leastpriv-recorder"


@pytest.hookimpl(tryfirst=True)
def pytest_load_initial_conftests(
    early_config: pytest.Config, parser: pytest.Parser, args: list[str]
) -> None:
    # Before conftest.py files are imported, so that clients they create at import time are
    # recorded too.
    _start(early_config)


def pytest_configure(config: pytest.Config) -> None:
    _start(config)


# pytest-xdist starts its workers with the test paths only (the options follow later, after
# conftest.py files are imported); an active controller tells its workers through this
# variable, with its pid so that no other descendant process takes it for itself.
_WORKER_ENV = "LEASTPRIV_PYTEST_CONTROLLER"


def _start(config: pytest.Config) -> None:
    if config.pluginmanager.has_plugin(_PLUGIN_NAME):
        return
    phases = _opt(config, "leastpriv_phases") or "call"
    if _active(config):
        config.pluginmanager.register(_Plugin(config, phases), _PLUGIN_NAME)
        os.environ[_WORKER_ENV] = f"{os.getpid()}:{phases}"
        return
    pid, _, controller_phases = os.environ.get(_WORKER_ENV, "").partition(":")
    if pid == str(os.getppid()):
        config.pluginmanager.register(_Plugin(config, controller_phases), _PLUGIN_NAME)


def pytest_unconfigure(config: pytest.Config) -> None:
    plugin = config.pluginmanager.get_plugin(_PLUGIN_NAME)
    if isinstance(plugin, _Plugin):
        plugin.close()
        config.pluginmanager.unregister(plugin, _PLUGIN_NAME)
    if os.environ.get(_WORKER_ENV, "").startswith(f"{os.getpid()}:"):
        del os.environ[_WORKER_ENV]


@pytest.fixture(scope="session")
def leastpriv_recorder(request: pytest.FixtureRequest) -> Recorder:
    """The run's recorder (with ``--leastpriv-out``), or a fresh one for this session.

    Record calls that no boto3 client makes with ``leastpriv_recorder.record(...)``.
    """
    plugin = request.config.pluginmanager.get_plugin(_PLUGIN_NAME)
    if isinstance(plugin, _Plugin):
        return plugin.recorder
    return Recorder()
