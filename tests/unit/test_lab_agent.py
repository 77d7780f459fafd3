"""The lab's unit agent and hook tools (tests/lab/agent.py, hooktools.py) on this host: a real
ops charm runs through its `dispatch`, talks to the model only through the hook tools, and its
changes land in the hook's context file, with Juju's refusals where Juju refuses."""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
import sysconfig
import textwrap
import zipfile
from pathlib import Path
from typing import Any

import pytest

from tests.lab.model import AGENT_PROGRAMS

LAB = Path(__file__).resolve().parents[1] / "lab"
CHARM = '''
import ops

class Probe(ops.CharmBase):
    _stored = ops.StoredState()

    def __init__(self, framework):
        super().__init__(framework)
        self._stored.set_default(hooks=0)
        framework.observe(self.on.install, self._on_install)
        framework.observe(self.on.config_changed, self._on_config_changed)
        framework.observe(self.on["db"].relation_changed, self._on_db_changed)
        framework.observe(self.on.probe_action, self._on_probe)
        framework.observe(self.on.collect_unit_status, self._on_collect)

    def _on_install(self, event):
        self._stored.hooks += 1
        relation = self.model.get_relation("db")
        relation.data[self.unit]["address"] = str(self.model.get_binding(relation).network.bind_address)
        if self.unit.is_leader():
            relation.data[self.app]["mode"] = self.config["mode"]
            self.app.add_secret({"password": "s3cret-value"}, label="db-password")
        self.unit.set_ports(8080)

    def _on_config_changed(self, event):
        self._stored.hooks += 1
        self.model.get_relation("db").data[self.app]["mode"] = "follower-writes"

    def _on_db_changed(self, event):
        self._stored.hooks += 1
        remote = event.relation.data[event.unit]["greeting"]
        event.relation.data[self.unit]["echo"] = f"{remote} ({event.relation.app.name})"

    def _on_probe(self, event):
        self._stored.hooks += 1
        content = self.model.get_secret(label="db-password").get_content(refresh=True)
        event.log("probing")
        event.set_results({"password-length": len(content["password"]), "nested": {"hooks": self._stored.hooks}})
        if event.params["fail"]:
            event.fail("asked to fail")

    def _on_collect(self, event):
        event.add_status(ops.ActiveStatus(f"hooks={self._stored.hooks}"))

if __name__ == "__main__":
    ops.main(Probe)
'''


@pytest.fixture
def charm_dir(tmp_path: Path) -> Path:
    """A charm in the packed layout, its `venv` being this host's site-packages (ops 3.9)."""
    charm = tmp_path / "charm"
    (charm / "src").mkdir(parents=True)
    (charm / "src" / "charm.py").write_text(f"#!{sys.executable}\n{CHARM}")
    (charm / "src" / "charm.py").chmod(0o755)
    (charm / "dispatch").write_text(
        '#!/bin/sh\nJUJU_DISPATCH_PATH="${JUJU_DISPATCH_PATH:-$0}" PYTHONPATH=lib:venv exec ./src/charm.py\n'
    )
    (charm / "dispatch").chmod(0o755)
    (charm / "venv").symlink_to(sysconfig.get_paths()["purelib"])
    (charm / "metadata.yaml").write_text("name: probe\nrequires:\n  db:\n    interface: db\n")
    (charm / "config.yaml").write_text("options:\n  mode:\n    type: string\n    default: primary\n")
    (charm / "actions.yaml").write_text("probe:\n  params:\n    fail:\n      type: boolean\n")
    return charm


@pytest.fixture
def agent(tmp_path: Path) -> Path:
    """The agent and its hook tools copied as the lab installs them (their tools/ dir next to them)."""
    directory = tmp_path / "agent"
    directory.mkdir()
    for program in AGENT_PROGRAMS:
        # The tools run as `#!/usr/bin/python3` on a lab machine; here, as this interpreter.
        text = (LAB / program).read_text()
        (directory / program).write_text(text.replace("#!/usr/bin/python3", f"#!{sys.executable}", 1))
    return directory


def context(charm_dir: Path, tmp_path: Path, event: dict[str, Any], *, leader: bool = True) -> dict[str, Any]:
    return {
        "unit": "probe/0",
        "app": "probe",
        "machine_id": "0",
        "model_name": "m",
        "model_uuid": "00000000-0000-4000-8000-000000000000",
        "juju_version": "3.6.0",
        "charm_dir": str(charm_dir),
        "log_file": str(tmp_path / "unit-probe-0.log"),
        "event": event,
        "state": {
            "leader": leader,
            "config": {"mode": "primary"},
            "relations": [
                {
                    "kind": "regular",
                    "id": 3,
                    "endpoint": "db",
                    "interface": "db",
                    "local_app_data": {},
                    "local_unit_data": {},
                    "remote_app_name": "server",
                    "remote_app_data": {},
                    "remote_units_data": {"server/0": {"greeting": "hello"}},
                    "remote_model_uuid": None,
                }
            ],
            "networks": [{
                "binding_name": "db", "interface": "eth0", "egress_subnets": ["10.9.0.7/32", "fd09::7/128"],
                "addresses": [{"value": "10.9.0.7", "cidr": "10.9.0.0/24"}, {"value": "fd09::7", "cidr": "fd09::/64"}],
            }],
            "secrets": [],
            "model_secret_ids": [],
            "opened_ports": [],
            "unit_status": {"name": "unknown", "message": ""},
            "unit_statuses": {},
            "app_status": {"name": "unknown", "message": ""},
            "workload_version": "",
            "app_units": ["probe/0"],
        },
    }


def run_hook(agent: Path, request: dict[str, Any], tmp_path: Path) -> dict[str, Any]:
    path = tmp_path / "context.json"
    path.write_text(json.dumps(request))
    path.chmod(0o600)
    run = subprocess.run(
        [sys.executable, str(agent / "agent.py"), "hook", str(path)],
        capture_output=True, text=True, timeout=120, check=False,
    )
    assert run.returncode == 0, run.stdout + run.stderr
    return json.loads(path.read_text())


def test_a_hook_runs_the_charm_through_dispatch_and_its_changes_land_in_the_context(
    charm_dir: Path, agent: Path, tmp_path: Path
):
    outcome = run_hook(agent, context(charm_dir, tmp_path, {"kind": "install"}), tmp_path)
    assert outcome["exit_code"] == 0, outcome["output"]
    assert 0 < outcome["dispatch_seconds"] < 60  # the dispatch's own wall time, for the benchmarks
    state = outcome["state"]
    relation = state["relations"][0]
    assert relation["local_unit_data"] == {"address": "10.9.0.7"}
    assert relation["local_app_data"] == {"mode": "primary"}
    [secret] = state["secrets"]
    assert secret["owner"] == "app" and secret["label"] == "db-password"
    assert secret["latest_content"] == {"password": "s3cret-value"}
    assert state["opened_ports"] == [{"protocol": "tcp", "port": 8080, "to_port": None}]
    assert state["unit_status"] == {"name": "active", "message": "hooks=1"}  # collect-status ran
    # ops kept its stored state in the charm directory, as on a Juju machine
    assert (charm_dir / ".unit-state.db").exists()
    log = (tmp_path / "unit-probe-0.log").read_text()
    assert 'ran "install" hook' in log
    assert "unit.probe/0.juju-log" in log


def test_relation_changed_sees_the_remote_unit_and_stored_state_carries_over(
    charm_dir: Path, agent: Path, tmp_path: Path
):
    run_hook(agent, context(charm_dir, tmp_path, {"kind": "install"}), tmp_path)
    event = {"kind": "relation_changed", "relation_id": 3, "remote_unit": "server/0"}
    outcome = run_hook(agent, context(charm_dir, tmp_path, event), tmp_path)
    assert outcome["exit_code"] == 0, outcome["output"]
    assert outcome["state"]["relations"][0]["local_unit_data"] == {"echo": "hello (server)"}
    assert outcome["state"]["unit_status"]["message"] == "hooks=2"


def test_a_follower_writing_application_data_fails_the_hook_as_in_juju(
    charm_dir: Path, agent: Path, tmp_path: Path
):
    outcome = run_hook(agent, context(charm_dir, tmp_path, {"kind": "config_changed"}, leader=False), tmp_path)
    assert outcome["exit_code"] != 0
    assert outcome["state"]["relations"][0]["local_app_data"] == {}
    log = (tmp_path / "unit-probe-0.log").read_text()
    assert 'ERROR juju.worker.uniter.operation "config-changed" hook' in log
    assert "RelationDataAccessError" in outcome["output"]  # ops' traceback, for `wait` to show
    # ops refuses before it calls the tool; the tool refuses too, in Juju's words
    refused = tool(agent, tmp_path, context(charm_dir, tmp_path, {"kind": "config_changed"}, leader=False),
                   "relation-set", "-r", "db:3", "--app", "mode=x")
    assert (refused.returncode, refused.stderr) == (1, "ERROR cannot write relation settings\n")
    refused = tool(agent, tmp_path, context(charm_dir, tmp_path, {"kind": "config_changed"}, leader=False),
                   "status-set", "--application=True", "active")
    assert (refused.returncode, refused.stderr) == (1, "ERROR this unit is not the leader\n")


@pytest.mark.parametrize("fail", [False, True])
def test_an_action_reads_its_params_and_sets_results_logs_and_failure(
    charm_dir: Path, agent: Path, tmp_path: Path, fail: bool
):
    installed = run_hook(agent, context(charm_dir, tmp_path, {"kind": "install"}), tmp_path)
    request = context(charm_dir, tmp_path, {"kind": "action", "action": "probe", "params": {"fail": fail}})
    request["state"]["secrets"] = installed["state"]["secrets"]
    request["action"] = {"uuid": "7", "params": {"fail": fail}, "results": {}, "logs": [], "failed": None}
    outcome = run_hook(agent, request, tmp_path)
    assert outcome["exit_code"] == 0, outcome["output"]
    action = outcome["action"]
    assert action["results"] == {"password-length": "12", "nested": {"hooks": "2"}}  # strings, as Juju's
    assert action["logs"] == ["probing"]
    assert action["failed"] == ("asked to fail" if fail else None)


def tool(agent: Path, tmp_path: Path, request: dict[str, Any], name: str, *args: str) -> subprocess.CompletedProcess[str]:
    """Run one hook tool against a context file, as a charm would during a hook."""
    path = tmp_path / "context.json"
    path.write_text(json.dumps(request))
    link = tmp_path / "bin" / name
    link.parent.mkdir(exist_ok=True)
    if not link.is_symlink():
        link.symlink_to(agent / "hooktools.py")
    (agent / "hooktools.py").chmod(0o755)
    env = {**os.environ, "LAB_HOOK_CONTEXT": str(path)}
    return subprocess.run([str(link), *args], capture_output=True, text=True, env=env, check=False)


def test_secret_get_refuses_unknown_and_ungranted_secrets_with_jujus_messages(tmp_path: Path, agent: Path):
    request = context(tmp_path, tmp_path, {"kind": "update_status"})
    request["state"]["model_secret_ids"] = ["secret:granted-elsewhere0000"]
    unknown = tool(agent, tmp_path, request, "secret-get", "secret:nosuchsecret000000000")
    assert unknown.returncode == 1 and unknown.stderr.strip() == 'ERROR secret "secret:nosuchsecret000000000" not found'
    ungranted = tool(agent, tmp_path, request, "secret-get", "secret:granted-elsewhere0000")
    assert ungranted.returncode == 1 and ungranted.stderr.strip() == "ERROR permission denied"
    by_label = tool(agent, tmp_path, request, "secret-get", "--label", "nothing")
    assert by_label.returncode == 1 and by_label.stderr.strip() == 'ERROR secret with label "nothing" not found'


def test_a_follower_reads_but_cannot_manage_or_find_by_label_its_applications_secret(tmp_path: Path, agent: Path):
    request = context(tmp_path, tmp_path, {"kind": "update_status"}, leader=False)
    secret = {
        "id": "secret:appowned00000000000", "owner": "app", "label": "db-password", "description": None,
        "expire": None, "rotate": None, "remote_grants": {}, "tracked_revision": 1, "latest_revision": 1,
        "tracked_content": {"password": "x"}, "latest_content": {"password": "x"},
    }
    request["state"]["secrets"] = [secret]
    read = tool(agent, tmp_path, request, "secret-get", "--format=json", secret["id"])
    assert (read.returncode, json.loads(read.stdout)) == (0, {"password": "x"})
    assert tool(agent, tmp_path, request, "secret-get", "--label", "db-password").returncode == 1
    changed = tool(agent, tmp_path, request, "secret-set", secret["id"], "password=y")
    assert (changed.returncode, changed.stderr) == (1, "ERROR permission denied\n")


def test_unpack_keeps_the_modes_juju_keeps(tmp_path: Path, agent: Path, charm_dir: Path):
    archive = tmp_path / "probe.charm"
    with zipfile.ZipFile(archive, "w") as charm:
        for name in ("dispatch", "src/charm.py", "metadata.yaml"):
            charm.write(charm_dir / name, name)
    target = tmp_path / "unpacked"
    subprocess.run([sys.executable, str(agent / "agent.py"), "unpack", str(archive), str(target)], check=True)
    assert os.access(target / "dispatch", os.X_OK) and os.access(target / "src/charm.py", os.X_OK)
    assert not os.access(target / "metadata.yaml", os.X_OK)
    assert textwrap.dedent((target / "metadata.yaml").read_text()).startswith("name: probe")


@pytest.fixture
def agent_module(monkeypatch: pytest.MonkeyPatch) -> Any:
    """agent.py as the machine runs it: a script whose siblings (the hook tools) are importable."""
    for name in ("fault", "juju_log", "hooktools", "toolclient", "agent"):
        spec = importlib.util.spec_from_file_location(name, LAB / f"{name}.py")
        assert spec and spec.loader
        module = importlib.util.module_from_spec(spec)
        monkeypatch.setitem(sys.modules, name, module)
        spec.loader.exec_module(module)
    return sys.modules["agent"]


def test_relation_departed_names_the_departing_unit_even_unit_zero(tmp_path: Path, agent_module: Any):
    agent = agent_module
    event = {"kind": "relation_departed", "relation_id": 3, "remote_unit": "server/0", "departing_unit": "server/0"}
    env = agent.hook_environment(
        context(tmp_path, tmp_path, event), tmp_path / "ctx.json",
        {"FAKETIME": "+86400", "LD_PRELOAD": "libfaketime.so.1", "FAKETIME_SHARED": "x", "SECRET_HOST_VAR": "no"},
    )
    assert env["JUJU_DISPATCH_PATH"] == "hooks/db-relation-departed"
    assert env["JUJU_HOOK_NAME"] == "db-relation-departed"
    assert (env["JUJU_RELATION"], env["JUJU_RELATION_ID"], env["JUJU_REMOTE_APP"]) == ("db", "db:3", "server")
    assert (env["JUJU_REMOTE_UNIT"], env["JUJU_DEPARTING_UNIT"]) == ("server/0", "server/0")
    # faketime's settings reach the hook (advance-clock); nothing else from the agent's environment
    assert env["FAKETIME"] == "+86400" and env["LD_PRELOAD"] == "libfaketime.so.1" and "SECRET_HOST_VAR" not in env
    assert env["PATH"].startswith(str(agent.TOOLS_DIR) + ":")


def test_an_application_databag_change_has_no_remote_unit_and_an_action_no_hook_name(
    tmp_path: Path, agent_module: Any
):
    agent = agent_module
    changed = {"kind": "relation_changed", "relation_id": 3, "remote_unit": None}
    env = agent.hook_environment(context(tmp_path, tmp_path, changed), tmp_path / "ctx.json", {})
    assert "JUJU_REMOTE_UNIT" not in env and env["JUJU_REMOTE_APP"] == "server"
    request = context(tmp_path, tmp_path, {"kind": "action", "action": "probe", "params": {}})
    request["action"] = {"uuid": "42", "params": {}, "results": {}, "logs": [], "failed": None}
    env = agent.hook_environment(request, tmp_path / "ctx.json", {})
    assert (env["JUJU_DISPATCH_PATH"], env["JUJU_HOOK_NAME"]) == ("actions/probe", "")
    assert (env["JUJU_ACTION_NAME"], env["JUJU_ACTION_UUID"]) == ("probe", "42")


def test_in_relation_departed_the_departing_unit_is_not_listed_but_its_settings_are_readable(
    tmp_path: Path, agent: Path
):
    event = {"kind": "relation_departed", "relation_id": 3, "remote_unit": "server/1", "departing_unit": "server/1"}
    request = context(tmp_path, tmp_path, event)
    request["state"]["relations"][0]["departing_unit_data"] = {"server/1": {"greeting": "bye"}}
    listed = tool(agent, tmp_path, request, "relation-list", "--format=json", "-r", "db:3")
    assert json.loads(listed.stdout) == ["server/0"]
    read = tool(agent, tmp_path, request, "relation-get", "--format=json", "-r", "db:3", "-", "server/1")
    assert json.loads(read.stdout) == {"greeting": "bye"}
    unknown = tool(agent, tmp_path, request, "relation-get", "--format=json", "-r", "db:3", "-", "server/7")
    assert unknown.returncode == 1 and "permission denied" in unknown.stderr


def test_the_fault_hook_lets_the_first_calls_happen_then_raises_in_the_charms_process(tmp_path: Path):
    """lab-fault.pth's line, run as site runs it, arms the target before the program imports it."""
    (tmp_path / "machine_change.py").write_text("def apply(n):\n    print('applied', n)\n")
    program = f"{fault_line()}import machine_change\nfor n in range(3):\n    machine_change.apply(n)\n"
    env = {**os.environ, "LAB_FAULT": "machine_change:apply@2", "PYTHONPATH": str(tmp_path)}
    run = subprocess.run([sys.executable, "-c", program], capture_output=True, text=True, env=env, cwd=tmp_path, check=False)
    assert run.returncode == 1
    assert run.stdout == "applied 0\napplied 1\n"
    assert "InjectedFaultError: lab fault: machine_change.apply raised after 2 call(s)" in run.stderr
    unarmed = subprocess.run([sys.executable, "-c", program], capture_output=True, text=True,
                             env={**env, "LAB_FAULT": ""}, cwd=tmp_path, check=False)
    assert (unarmed.returncode, unarmed.stdout.count("applied")) == (0, 3)


def test_the_fault_hook_leaves_a_process_that_cannot_import_the_target_alone(tmp_path: Path):
    env = {**os.environ, "LAB_FAULT": "charmed_ovn_not_here:apply@0"}
    run = subprocess.run([sys.executable, "-c", f"{fault_line()}print('tool ran')"], capture_output=True, text=True,
                         env=env, cwd=tmp_path, check=False)
    assert (run.returncode, run.stdout) == (0, "tool ran\n")


def fault_line() -> str:
    spec = importlib.util.spec_from_file_location("fault", LAB / "fault.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.pth_line(str(LAB / "fault.py"))


@pytest.mark.parametrize("target", ["no_function", "module:", ":function", "module:not-an-identifier"])
def test_a_fault_target_must_be_module_and_function(target: str):
    from tests.lab import fault

    with pytest.raises(ValueError, match="a fault target is module:function"):
        fault.spec(target, 0)


def test_the_hook_a_fault_was_injected_into_gets_it_in_its_environment(tmp_path: Path, agent_module: Any):
    request = context(tmp_path, tmp_path, {"kind": "config_changed"})
    assert "LAB_FAULT" not in agent_module.hook_environment(request, tmp_path / "ctx.json", {})
    request["fault"] = "charmed_ovn.services:write_drop_in@0"
    assert agent_module.hook_environment(request, tmp_path / "ctx.json", {})["LAB_FAULT"] == request["fault"]
