"""pytest plugin: ``pytest --leastpriv-out=iam/policy.tf`` writes the policy your tests needed.

Settings come from, highest first: the ``--leastpriv-*`` options, the ``LEASTPRIV_*``
environment variables, the ``leastpriv_*`` ini keys (``pytest.ini``, ``[tool.pytest.ini_options]``)
and the project's configuration file (``leastpriv.toml``, ``[tool.leastpriv]`` in
``pyproject.toml``), resolved by the core as the CLI resolves them. The plugin is on when any of
them names an output (``out``) or ``--leastpriv-state`` is given.

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
        "--leastpriv-env",
        metavar="NAME",
        default=None,
        help="the environment the policy is for ([env.NAME] of the configuration, <env> in rules)",
    )
    group.addoption(
        "--leastpriv-config",
        metavar="PATH",
        default=None,
        help="the configuration file (default: found from here up); 'none' for none",
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
        "--leastpriv-check",
        metavar="PATH",
        action="append",
        default=None,
        help="check a declared policy (IAM JSON) against the calls; a missing permission fails",
    )
    group.addoption(
        "--leastpriv-state",
        metavar="PATH",
        default=None,
        help="also write the merged state (Recorder.to_bytes; readable by the CLI)",
    )
    for name, kind, help_ in _INI:
        parser.addini(f"leastpriv_{name}", help_, type=kind, default=None)


# The ini keys (the test runner's own settings): name, ini type, help.
_INI: list[tuple[str, Any, str]] = [
    ("out", "string", "leastpriv: write the policy to this path (.tf: Terraform)"),
    ("format", "string", "leastpriv: output format, json or terraform"),
    ("env", "string", "leastpriv: the environment the policy is for"),
    ("config", "string", "leastpriv: the configuration file ('none' for none)"),
    ("region", "string", "leastpriv: region for resources whose region the calls do not tell"),
    ("account", "string", "leastpriv: account for resources whose account the calls do not tell"),
    ("partition", "string", "leastpriv: partition"),
    ("map_account", "args", "leastpriv: FROM=TO account mappings"),
    ("map_region", "args", "leastpriv: FROM=TO region mappings"),
    ("exclude", "args", "leastpriv: action globs to leave out"),
    ("s3_objects", "string", "leastpriv: exact, prefix or bucket"),
    ("name", "string", "leastpriv: policy name"),
    ("rules", "paths", "leastpriv: your own rules files or directories"),
    ("emit", "args", "leastpriv: extra outputs (variables)"),
    ("check", "paths", "leastpriv: declared policy files to check against the calls"),
    ("phases", "string", "leastpriv: comma-separated test phases whose calls count"),
    ("state", "string", "leastpriv: also write the merged state to this path"),
]
# Ini keys that are the plugin's own, not settings of the core.
_PLUGIN_ONLY = {"phases", "state"}
# pytest option -> setting
_CLI = {
    "leastpriv_out": "out",
    "leastpriv_format": "out_format",
    "leastpriv_env": "env",
    "leastpriv_config": "config",
    "leastpriv_region": "region",
    "leastpriv_account": "account",
    "leastpriv_map_account": "map_account",
    "leastpriv_map_region": "map_region",
    "leastpriv_name": "name",
}


def _opt(config: pytest.Config, name: str) -> Any:
    """An option's value, also before the command line is fully parsed (at
    ``pytest_load_initial_conftests``, only the known arguments are)."""
    value = getattr(config.option, name, None)
    if value is None:
        value = getattr(getattr(config, "known_args_namespace", None), name, None)
    return value


def _ini(config: pytest.Config, name: str) -> Any:
    try:
        value = config.getini(f"leastpriv_{name}")
    except (ValueError, KeyError):
        return None
    return value if value not in (None, "", []) else None


def _ini_dir(config: pytest.Config) -> Path:
    inipath = getattr(config, "inipath", None)
    return Path(inipath).parent if inipath else Path(config.rootpath)


def _settings(config: pytest.Config) -> dict[str, Any]:
    """The run's settings, as the core resolves them: command line, environment variables, ini
    keys, configuration file (paths in the ini file are relative to it, on the command line to
    the directory pytest was started in)."""
    here = Path(config.invocation_params.dir)
    runner: dict[str, Any] = {}
    for name, kind, _ in _INI:
        if name in _PLUGIN_ONLY:
            continue
        value = _ini(config, name)
        if value is None:
            continue
        if kind == "paths":
            value = [str(p) for p in value]
        if name == "check":
            runner["check"] = {"policy": value}
            continue
        if name in ("out", "config") and value != "none":
            value = str(_ini_dir(config) / value)
        runner["out_format" if name == "format" else name] = value
    cli: dict[str, Any] = {}
    checks = _opt(config, "leastpriv_check")
    if checks:
        cli["check"] = {"policy": [str(here / c) for c in checks]}
    for opt, key in _CLI.items():
        value = _opt(config, opt)
        if value is None:
            continue
        if key in ("out", "config") and value != "none":
            value = str(here / value)
        cli[key] = value
    try:
        return dict(_leastpriv.resolve_settings(here, runner, cli))
    except LeastprivError as e:
        raise pytest.UsageError(f"leastpriv: {e}") from e


def _state_path(config: pytest.Config) -> str | None:
    cli = _opt(config, "leastpriv_state")
    if cli:
        return str(Path(config.invocation_params.dir) / cli)
    ini = _ini(config, "state")
    return str(_ini_dir(config) / ini) if ini else None


def _active(config: pytest.Config) -> bool:
    if _opt(config, "leastpriv_out") or _opt(config, "leastpriv_check") or _state_path(config):
        return True
    s = _settings(config)
    return bool(s.get("out") or _check_paths(s))


def _check_paths(settings: dict[str, Any]) -> list[str]:
    # The core gives the check table's policy as a list (resolve_settings).
    return list((settings.get("check") or {}).get("policy") or [])


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
        self.settings = _settings(config)
        self.policy_options: dict[str, Any] = dict(self.settings["policy"])
        try:  # check the options now rather than after the whole run
            Recorder().policy(**self.policy_options)
            self.recorder = Recorder(rules=self.settings["rules"] or None)
        except LeastprivError as e:
            raise pytest.UsageError(f"leastpriv: {e}") from e
        self.undo: Callable[[], None] | None = None
        self.written: str | None = None
        self.policy_summary: str | None = None
        self.error: str | None = None
        self.check_lines: list[str] = []
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
        try:
            self._write()
            if self._check():
                session.exitstatus = pytest.ExitCode.TESTS_FAILED
        except LeastprivError as e:  # a rewrite rule, say: the session fails and says why
            self.error = str(e)
            session.exitstatus = pytest.ExitCode.TESTS_FAILED

    def _check(self) -> bool:
        """Checks the declared policy, if one is configured; ``True`` when it fails the run."""
        paths = _check_paths(self.settings)
        if not paths:
            return False
        check = self.settings.get("check") or {}
        result = self.recorder.check(paths, vars=check.get("vars"), **self.policy_options)
        fail_on = set((self.settings.get("check") or {}).get("fail_on") or []) | {"missing"}
        for f in result["findings"]:
            where = ""
            st = f.get("statement")
            if st:
                where = f"{st['path']}:{st['line']}: " if st.get("line") else f"{st['path']}: "
            self.check_lines.append(f"{f['kind']}: {where}{f['message']}")
        c = result["counts"]
        self.check_lines.append(
            f"leastpriv check: {result['permissions']} permission(s) needed; "
            f"{c['missing']} missing, "
            f"{c['unused']} unused, {c['broad']} broad, {c['undecidable']} undecidable"
        )
        return any(c.get(k, 0) > 0 for k in fail_on)

    def _write(self) -> None:
        state = _state_path(self.config)
        if state:
            _write_atomically(Path(state), self.recorder.to_bytes())
        out = self.settings.get("out")
        if not out:
            return
        fmt = self.settings.get("out_format") or "json"
        policy = self.recorder.policy(**self.policy_options)
        if fmt == "terraform":
            provider = self.settings.get("terraform_provider") or 6
            text = policy.to_terraform(provider=provider)
        else:
            text = policy.to_json()
        _write_atomically(Path(out), text.encode("utf-8"))
        if "variables" in (self.settings.get("emit") or []) and fmt == "terraform":
            variables = _leastpriv.render_variables(self.policy_options)
            _write_atomically(Path(out).parent / "variables.tf", variables.encode("utf-8"))
        self.written = str(out)
        self.policy_summary = policy.report()

    def pytest_terminal_summary(self, terminalreporter: Any) -> None:
        if self.error is not None:
            terminalreporter.section("leastpriv")
            terminalreporter.write_line(f"leastpriv: error: {self.error}", red=True)
            return
        if self.check_lines:
            terminalreporter.section("leastpriv check")
            for line in self.check_lines:
                terminalreporter.write_line(line)
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
    phases = _opt(config, "leastpriv_phases") or _ini(config, "phases") or "call"
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
