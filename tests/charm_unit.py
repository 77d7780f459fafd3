"""What the ops.testing suites of every charm share (imported by each charm's tests/unit/conftest.py).

Both charms' suites have test files and a charm module of the same names and must run in one
pytest session, so each suite's modules are imported as `<package>.<name>` of a package of its own
(`register_package` and `collector`), whatever pytest's import mode. Importing through the import
system, not from a file location, keeps pytest's assertion rewriting.
"""

from __future__ import annotations

import functools
import importlib
import importlib.util
import json
import re
import shutil
import subprocess
import sys
import types
from collections.abc import Callable
from pathlib import Path

import pytest
import yaml
from cosl import LZMABase64
from ops import testing
from scenario import state as scenario_state

from charmed_ovn import firewall, observability, paths, schema, services, vlog
from charmed_ovn.databases import Database


def register_package(name: str, directory: Path, doc: str | None) -> None:
    """Make `directory` importable as package `name`."""
    if name not in sys.modules:
        package = types.ModuleType(name, doc)
        package.__path__ = [str(directory)]
        sys.modules[name] = package


def collector(package: str) -> Callable[[Path, pytest.Collector], pytest.Module]:
    """A `pytest_pycollect_makemodule` hook importing test modules as part of `package`."""

    class PackagedModule(pytest.Module):
        def _getobj(self):
            module = importlib.import_module(f"{package}.{self.path.stem}")
            self.config.pluginmanager.consider_module(module)
            return module

    def pytest_pycollect_makemodule(module_path: Path, parent: pytest.Collector) -> pytest.Module:
        return PackagedModule.from_parent(parent, path=module_path)

    return pytest_pycollect_makemodule


def charm_test_suite(conftest_file: str, doc: str | None) -> Callable[[Path, pytest.Collector], pytest.Module]:
    """Make the directory of a charm's `tests/unit/conftest.py` the package
    `<charm>_unit_tests` (ovn-central: `ovn_central_unit_tests`); return the conftest's
    `pytest_pycollect_makemodule` hook, which imports the test modules as part of it."""
    here = Path(conftest_file).resolve().parent
    package = f"{here.parents[1].name.replace('-', '_')}_unit_tests"
    register_package(package, here, doc)
    return collector(package)


def fake_hostname(name: str) -> Callable[..., str]:
    """A `hostname` fixture: the machine's hostname is `name`."""

    @pytest.fixture
    def hostname(monkeypatch: pytest.MonkeyPatch) -> str:
        monkeypatch.setattr("socket.gethostname", lambda: name)
        return name

    return hostname


def _no_commands(*args, **kwargs):
    raise AssertionError(f"a unit test tried to run a command on this machine: {args!r}")


@pytest.fixture(autouse=True)
def machine_guard(monkeypatch: pytest.MonkeyPatch) -> None:
    """Any adapter left unfaked fails the test instead of running a command here."""
    for name in ("run", "check_output", "check_call", "call", "Popen"):
        monkeypatch.setattr(subprocess, name, _no_commands)


@pytest.fixture(autouse=True)
def libyaml_metadata(monkeypatch: pytest.MonkeyPatch) -> None:
    """Scenario reads charmcraft.yaml for every Context, and writes the charm's metadata, config
    and actions before every event, with PyYAML's pure-Python loader and dumper: most of a charm
    test's time. Each charm's is read once (the spec is frozen), and written through libyaml."""
    monkeypatch.setattr(yaml, "safe_load", functools.partial(yaml.load, Loader=yaml.CSafeLoader))
    monkeypatch.setattr(yaml, "safe_dump", functools.partial(yaml.dump, Dumper=yaml.CSafeDumper))
    monkeypatch.setattr(scenario_state._CharmSpec, "autoload", staticmethod(_charm_spec))


_AUTOLOAD = scenario_state._CharmSpec.autoload


@functools.cache
def _charm_spec(charm_type: type) -> scenario_state._CharmSpec:
    return _AUTOLOAD(charm_type)


@pytest.fixture
def state_dir(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """The charm's state directory (keys, certificates, CSRs) and OVS's system-id file, on disk
    under tmp_path."""
    monkeypatch.setattr(paths, "STATE_DIR", tmp_path)
    monkeypatch.setattr(paths, "RUNTIME_DIR", tmp_path / "run")
    monkeypatch.setattr(paths, "OVS_SYSTEM_ID_FILE", tmp_path / "etc-openvswitch" / "system-id.conf")
    return tmp_path


def load_charm_module(name: str, charm_py: Path) -> types.ModuleType:
    """A charm's src/charm.py imported as `name` (both charms have a module called `charm`)."""
    if name not in sys.modules:
        spec = importlib.util.spec_from_file_location(name, charm_py)
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
    return sys.modules[name]


# --- actions --------------------------------------------------------------------------------------

# The defaults charmcraft.yaml gives actions' parameters, which Juju fills in (ops.testing does not):
# action -> parameter -> value. The charms' set-log-level actions have the same.
ACTION_DEFAULTS: dict[str, dict[str, str]] = {"set-log-level": {"module": "ANY", "destination": "file"}}


def run_action(ctx: testing.Context, name: str, state: testing.State, **params: object) -> testing.State:
    """`state` after the action `name` ran with `params` over its defaults (`ACTION_DEFAULTS`)."""
    return ctx.run(ctx.on.action(name, params=ACTION_DEFAULTS.get(name, {}) | params), state)


def action_failure(ctx: testing.Context, name: str, state: testing.State, **params: object) -> str:
    """The message the action `name` fails with, run as `run_action` runs it; the test fails if
    the action succeeds."""
    with pytest.raises(testing.ActionFailed) as failure:
        run_action(ctx, name, state, **params)
    return failure.value.message


def action_results(ctx: testing.Context) -> dict:
    """The results of the action `ctx` ran last; the test fails if it set none."""
    assert ctx.action_results is not None, "the action set no results"
    return ctx.action_results


# The schema versions each OVN release's packages expect (their ovn-nb/ovn-sb.ovsschema): the
# lab's older OVN (bookworm's) and the distribution's.
OVN_SCHEMAS = {"23.03": {"nb": "7.0.0", "sb": "20.27.0"}, "25.03": {"nb": "7.11.0", "sb": "21.2.0"}}
# Upstream versions of the common packages that any of the charms' packages pulls in, as
# `FakeServices.versions`: the distribution's OVN (the default) and bookworm's.
DISTRIBUTION_OVN = {"ovn-common": "25.03.0", "openvswitch-common": "3.5.0"}
OLDER_OVN = {"ovn-common": "23.03.1", "openvswitch-common": "3.1.0"}


def release(version: str) -> str:
    """An upstream version's release: `25.03.0` -> `25.03`."""
    return ".".join(version.split(".")[:2])


def reported_ovn(versions: dict[str, str]) -> dict[str, str]:
    """What a unit whose machine has `versions` installed publishes about its OVN (`InstalledOvn`)."""
    ovn = versions["ovn-common"]
    schemas = OVN_SCHEMAS[release(ovn)]
    return {
        "ovn-version": ovn, "ovs-version": versions["openvswitch-common"],
        "nb-schema": schemas["nb"], "sb-schema": schemas["sb"],
    }


def systemd_name(unit: str) -> str:
    """systemd's spelling: `stop_and_mask(["ovn-northd"])` and `is_masked("ovn-northd.service")` agree."""
    return unit if "." in unit else f"{unit}.service"


class FakeServices:
    """`charmed_ovn.services` on an in-memory machine: apt sources, packages (with the versions
    of OVN and Open vSwitch installed and pending, and the schemas the installed OVN expects),
    systemd units and the charm's drop-ins. Each change is appended to `log` as (action, subject),
    in order."""

    def __init__(self) -> None:
        self.installed: set[str] = set()
        self.versions = dict(DISTRIBUTION_OVN)
        self.pending: dict[str, str] = {}  # package -> the Debian version apt would upgrade it to
        self.upgrades: list[dict[str, str]] = []  # the versions each `upgrade` installed, in order
        self.masked: set[str] = set()
        self.active: set[str] = set()
        self.disabled: set[str] = set()
        self.drop_ins: dict[str, str] = {}
        self.sources: list[str] = []
        self.log: list[tuple[str, str]] = []
        # the exporters' unit files (unit -> text) and what was done to their services, in
        # order: (step, unit), step `start`, `restart` or `remove`. Apart from `log`, which says
        # what the charm did to OVN.
        self.exporters: dict[str, str] = {}
        self.exporter_steps: list[tuple[str, str]] = []

    def install(self, monkeypatch: pytest.MonkeyPatch) -> None:
        """Replace every machine adapter of `charmed_ovn.services` with this fake's."""
        for name in (
            "configure_source",
            "install_packages",
            "is_installed",
            "stop_and_mask",
            "unmask_and_start",
            "is_masked",
            "is_active",
            "start",
            "restart",
            "stop_and_disable",
            "read_drop_in",
            "write_drop_in",
            "remove_drop_in",
            "upgrades_pending",
            "upgrade",
            "installed_version",
        ):
            monkeypatch.setattr(services, name, getattr(self, name))
        monkeypatch.setattr(schema, "expected_schema_version", self.expected_schema_version)
        monkeypatch.setattr(observability, "run_exporter", self.run_exporter)
        monkeypatch.setattr(observability, "remove_exporter", self.remove_exporter)

    def actions(self, action: str) -> list[str]:
        """The subjects of every `action` done so far, in order."""
        return [subject for done, subject in self.log if done == action]

    def started_or_restarted(self) -> list[str]:
        """The units started, restarted, or unmasked and started so far, in order."""
        return [subject for done, subject in self.log if done in ("start", "restart", "unmask-and-start")]

    def configure_source(self, source: str, files: paths.CharmFiles) -> bool:
        self.sources.append(source)
        return False

    def install_packages(self, packages: list[str]) -> None:
        """As apt: only the missing packages are installed."""
        for package in packages:
            if package not in self.installed:
                self.installed.add(package)
                self.log.append(("install", package))

    def is_installed(self, package: str) -> bool:
        return package in self.installed

    def installed_version(self, package: str) -> str | None:
        return self.versions.get(package) if self.installed else None

    def expected_schema_version(self, db: Database) -> str | None:
        """What the installed OVN's client tools say (`ovn-nbctl --version`)."""
        ovn = self.installed_version("ovn-common")
        return None if ovn is None else OVN_SCHEMAS[release(ovn)][db.short]

    def upgrades_pending(self, packages: list[str]) -> dict[str, str]:
        return dict(self.pending)

    def upgrade(self, versions: dict[str, str]) -> None:
        """As apt: the packages move to the given versions, none is pending any more."""
        self.upgrades.append(dict(versions))
        for name, version in versions.items():
            self.versions[name] = services.upstream_version(version)
            self.pending.pop(name, None)
            self.log.append(("upgrade", f"{name}={version}"))

    def stop_and_mask(self, units: list[str]) -> None:
        for unit in map(systemd_name, units):
            self.masked.add(unit)
            self.active.discard(unit)
            self.log.append(("stop-and-mask", unit))

    def unmask_and_start(self, units: list[str]) -> None:
        for unit in map(systemd_name, units):
            self.masked.discard(unit)
            self.active.add(unit)
            self.log.append(("unmask-and-start", unit))

    def is_masked(self, unit: str) -> bool:
        return systemd_name(unit) in self.masked

    def is_active(self, unit: str) -> bool:
        return systemd_name(unit) in self.active

    def start(self, unit: str) -> bool:
        if systemd_name(unit) in self.active:
            return False
        self.active.add(systemd_name(unit))
        self.log.append(("start", systemd_name(unit)))
        return True

    def restart(self, unit: str) -> None:
        self.active.add(systemd_name(unit))
        self.log.append(("restart", systemd_name(unit)))

    def stop_and_disable(self, unit: str) -> None:
        self.active.discard(systemd_name(unit))
        self.disabled.add(systemd_name(unit))
        self.log.append(("stop-and-disable", systemd_name(unit)))

    def read_drop_in(self, unit: str) -> str | None:
        return self.drop_ins.get(systemd_name(unit))

    def write_drop_in(self, unit: str, content: str) -> bool:
        changed = self.drop_ins.get(systemd_name(unit)) != content
        self.drop_ins[systemd_name(unit)] = content
        if changed:
            self.log.append(("drop-in", systemd_name(unit)))
        return changed

    def remove_drop_in(self, unit: str) -> None:
        self.drop_ins.pop(systemd_name(unit), None)
        self.log.append(("remove-drop-in", systemd_name(unit)))

    def run_exporter(self, unit: str, content: str) -> None:
        """As systemd: an exporter runs once started, until removed."""
        step = observability.exporter_step(self.exporters.get(unit), content, unit in self.exporters)
        self.exporters[unit] = content
        if step is not None:
            self.exporter_steps.append((step, unit))

    def remove_exporter(self, unit: str) -> None:
        if self.exporters.pop(unit, None) is not None:
            self.exporter_steps.append(("remove", unit))


class FakeNftables:
    """The kernel's nftables as `firewall.run_nft` sees it: `tables` (table -> the ruleset the
    last `nft -f` gave it); `refusal` makes every `nft -f` fail with that stderr."""

    def __init__(self) -> None:
        self.tables: dict[str, str] = {}
        self.refusal = ""
        self.transactions = 0  # `nft -f` runs

    def install(self, monkeypatch: pytest.MonkeyPatch) -> None:
        monkeypatch.setattr(firewall, "run_nft", self.run_nft)

    def run_nft(self, args: list[str], stdin: str | None = None) -> subprocess.CompletedProcess[str]:
        def done(rc: int, stderr: str = "") -> subprocess.CompletedProcess[str]:
            return subprocess.CompletedProcess(["nft", *args], rc, "", stderr)

        match args:
            case ["list", "table", "inet", table]:
                return done(0 if table in self.tables else 1)
            case ["delete", "table", "inet", table]:
                return done(0 if self.tables.pop(table, None) is not None else 1)
            case ["-f", "-"]:
                self.transactions += 1
                if self.refusal:
                    return done(1, self.refusal)
                assert stdin is not None
                table = re.findall(r"^table inet (\S+) \{$", stdin, re.MULTILINE)[-1]
                self.tables[table] = stdin
                return done(0)
        raise AssertionError(f"unexpected nft {args}")


# Each module's levels (destination -> LEVEL) when a daemon starts.
VLOG_DEFAULT = {"console": "OFF", "syslog": "ERR", "file": "INFO"}


class FakeLogLevels(FakeServices):
    """A `FakeServices` machine whose daemons also answer `charmed_ovn.vlog`'s `vlog/list` and
    `vlog/set`: each daemon answers on its control socket while its systemd unit (`units`:
    daemon -> unit) runs, and has the log modules `modules` names (daemon -> modules), each at
    `VLOG_DEFAULT` to begin with."""

    def __init__(self, units: dict[str, str], modules: dict[str, list[str]]) -> None:
        super().__init__()
        self.vlog_units = dict(units)
        # each daemon's `vlog/list`: module -> destination -> LEVEL
        self.vlog_levels = {
            daemon: {module: dict(VLOG_DEFAULT) for module in names} for daemon, names in modules.items()
        }
        self.vlog_error = ""  # the daemons' complaint (stderr) when they refuse a vlog/set

    def install(self, monkeypatch: pytest.MonkeyPatch) -> None:
        """Replace `charmed_ovn.services`' adapters and `charmed_ovn.vlog`'s with this fake's."""
        super().install(monkeypatch)
        monkeypatch.setattr(vlog, "list_levels", self.list_levels)
        monkeypatch.setattr(vlog, "apply_level", self.apply_level)

    def list_levels(self, daemon: vlog.Daemon) -> dict[str, dict[str, str]] | None:
        """The daemon's `vlog/list`, while its unit runs; None (no answer) otherwise."""
        if not self.is_active(self.vlog_units[daemon.name]):
            return None
        return {module: dict(levels) for module, levels in self.vlog_levels[daemon.name].items()}

    def apply_level(self, daemon: vlog.Daemon, argument: str) -> None:
        """`vlog/set ARGUMENT`: the levels change and the argument is recorded as ("vlog-set",
        "DAEMON ARGUMENT"); a refusal (`vlog_error`, or a module the daemon lacks) raises what the
        adapter raises."""
        assert self.is_active(self.vlog_units[daemon.name]), f"vlog/set on {daemon.name}, which does not run"
        module, destination, level = argument.split(":")
        levels = self.vlog_levels[daemon.name]
        error = self.vlog_error
        if not error and module != vlog.ANY_MODULE and module not in levels:
            error = f"no module named {module}"
        if error:
            raise vlog.LogLevelError(f"{daemon.name} refused vlog/set {argument}: {error.strip()}")
        for name in levels if module == vlog.ANY_MODULE else [module]:
            for where in levels[name] if destination == "ANY" else [destination]:
                levels[name][where] = level.upper()
        self.log.append(("vlog-set", f"{daemon.name} {argument}"))


# --- cos-agent ------------------------------------------------------------------------------------


def cos_agent_charm_root(charm_dir: Path, root: Path) -> Path:
    """`root` holding the charm's alert rules and dashboards (which ops.testing's own temporary
    charm root lacks): pass it as the Context's `charm_root`."""
    for directory in (observability.ALERT_RULES_DIR, observability.DASHBOARDS_DIR):
        if (charm_dir / directory).is_dir():
            shutil.copytree(charm_dir / directory, root / directory)
    return root


def cos_agent_data(state: testing.State) -> dict:
    """What the unit wrote to its cos-agent databag (CosAgentProviderUnitData)."""
    [relation] = [r for r in state.relations if r.endpoint == observability.RELATION]
    return json.loads(relation.local_unit_data[observability.DATABAG_KEY])


def served_alerts(data: dict) -> dict[str, dict]:
    """The databag's alert rules by alert name."""
    return {rule["alert"]: rule for group in data["metrics_alert_rules"]["groups"] for rule in group["rules"]}


def charm_alerts(charm_dir: Path) -> set[str]:
    """The alerts of the charm's rule files."""
    files = sorted((charm_dir / observability.ALERT_RULES_DIR).glob("*.rules"))
    return {rule["alert"] for path in files for group in yaml.safe_load(path.read_text())["groups"] for rule in group["rules"]}


def served_dashboard_titles(data: dict) -> list[str]:
    return sorted(json.loads(LZMABase64.decompress(encoded))["title"] for encoded in data["dashboards"])


def charm_dashboard_titles(charm_dir: Path) -> list[str]:
    files = (charm_dir / observability.DASHBOARDS_DIR).glob("*.json")
    return sorted(json.loads(path.read_text())["title"] for path in files)


def exporter_command(services_: FakeServices, app: str) -> list[str]:
    """The command line of the exporter unit the charm installed for `app`."""
    text = services_.exporters[observability.exporter_unit(app)]
    [line] = [line for line in text.splitlines() if line.startswith("ExecStart=")]
    return line.removeprefix("ExecStart=").split()


class CosAgentBehaviour:
    """The cos-agent data: the exporter as scrape job, the charm's alert rules with the Juju
    topology, its dashboards. A charm's `test_charm_cos_agent.py` runs it for its charm:
    `class TestCharmCosAgent(CosAgentBehaviour)` naming `charm_type`, `charm_dir` and the
    `networks` its units bind to."""

    charm_type: type
    charm_dir: Path
    networks: Callable[[], set[testing.Network]]

    @pytest.fixture(autouse=True)
    def context(self, machine: FakeServices, tmp_path: Path) -> None:
        self.ctx = testing.Context(self.charm_type, charm_root=cos_agent_charm_root(self.charm_dir, tmp_path))
        self.relation = testing.Relation(observability.RELATION, remote_app_name="opentelemetry-collector")
        self.state = testing.State(relations={self.relation}, networks=type(self).networks())

    @property
    def charm(self) -> str:
        return self.charm_dir.name

    def joined(self) -> dict:
        return cos_agent_data(self.ctx.run(self.ctx.on.relation_joined(self.relation, remote_unit=0), self.state))

    def test_given_cos_agent_when_joined_then_scrape_job_is_the_exporter(self):
        target = f"127.0.0.1:{observability.PORTS[self.charm]}"
        assert self.joined()["metrics_scrape_jobs"] == [{"metrics_path": "/metrics", "static_configs": [{"targets": [target]}]}]

    def test_given_cos_agent_when_joined_then_alert_rules_are_the_charms_with_juju_topology(self):
        served, expected = served_alerts(self.joined()), charm_alerts(self.charm_dir)

        assert expected, "the charm has no alert rules"
        assert expected <= set(served)
        for alert in expected:
            labels = served[alert]["labels"]
            assert (labels["juju_application"], labels["juju_charm"]) == (self.charm, self.charm)
            assert (labels["juju_model"], labels["juju_model_uuid"]) == (self.state.model.name, self.state.model.uuid)

    def test_given_cos_agent_when_joined_then_dashboards_are_the_charms(self):
        served = served_dashboard_titles(self.joined())

        assert served, "the charm has no dashboards"
        assert served == charm_dashboard_titles(self.charm_dir)

    def test_given_cos_agent_when_config_changed_then_data_written_too(self):
        out = self.ctx.run(self.ctx.on.config_changed(), self.state)

        assert cos_agent_data(out) == self.joined()


class ExporterBehaviour:
    """The metrics exporter's service: installed with the charm, kept as it is, removed with the
    unit. A charm's `test_charm_exporter.py` runs it for its charm: `class
    TestCharmExporter(ExporterBehaviour)` naming `charm_type`, `charm` and `networks`."""

    charm_type: type
    charm: str
    networks: Callable[[], set[testing.Network]]

    @pytest.fixture(autouse=True)
    def context(self, machine: FakeServices, tmp_path: Path) -> None:
        # one charm directory across hooks, as on a machine (it is in the unit file)
        self.ctx = testing.Context(self.charm_type, charm_root=tmp_path)
        self.machine = machine
        self.unit = observability.exporter_unit(self.charm)

    def state(self) -> testing.State:
        return testing.State(networks=type(self).networks())

    def test_given_fresh_machine_when_install_then_exporter_started_on_its_port(self):
        self.ctx.run(self.ctx.on.install(), self.state())

        role, port = observability.ROLES[self.charm], str(observability.PORTS[self.charm])
        assert self.machine.exporter_steps == [("start", self.unit)]
        assert exporter_command(self.machine, self.charm)[-6:] == ["--role", role, "--port", port, "--app", self.charm]

    def test_given_exporter_running_when_update_status_then_not_restarted(self):
        self.ctx.run(self.ctx.on.install(), self.state())

        self.ctx.run(self.ctx.on.update_status(), self.state())

        assert self.machine.exporter_steps == [("start", self.unit)]

    def test_given_exporter_of_an_older_charm_when_upgrade_charm_then_restarted(self):
        self.machine.exporters[self.unit] = "the unit file an older revision wrote"

        self.ctx.run(self.ctx.on.upgrade_charm(), self.state())

        assert self.machine.exporter_steps == [("restart", self.unit)]

    def test_given_exporter_running_when_remove_then_removed(self):
        self.ctx.run(self.ctx.on.install(), self.state())

        self.ctx.run(self.ctx.on.remove(), self.state())

        assert self.machine.exporter_steps == [("start", self.unit), ("remove", self.unit)]
        assert self.machine.exporters == {}
