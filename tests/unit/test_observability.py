import json
import shlex
from pathlib import Path

import pytest
from cosl import JujuTopology, LZMABase64

from charmed_ovn import metrics, observability

MODEL_UUID = "12345678-1234-4123-8123-123456789abc"
TOPOLOGY = JujuTopology("ovn", MODEL_UUID, "ovn-central", "ovn-central/0", "ovn-central")
RULES = """groups:
  - name: raft
    rules:
      - alert: RaftWithoutLeader
        expr: ovn_raft_has_leader == 0
        for: 1m
"""


def unit_text(**overrides: str) -> str:
    arguments = {
        "charm": "ovn-central", "app": "ovn-central", "charm_dir": Path("/var/lib/juju/agents/unit-ovn-central-0/charm"),
        "python": "/usr/bin/python3", "code_digest": "sha256:0",
    } | overrides
    return observability.render_exporter_unit(**arguments)  # type: ignore[arg-type]


def exec_start(text: str) -> list[str]:
    [line] = [line for line in text.splitlines() if line.startswith("ExecStart=")]
    return shlex.split(line.removeprefix("ExecStart="))


def test_every_charm_has_a_port_and_a_role_the_exporter_serves():
    assert observability.PORTS == {"ovn-central": 9476, "ovn-chassis": 9477, "ovn-bgp": 9478}
    assert {metrics.CHARMS[role] for role in observability.ROLES.values()} == set(observability.PORTS)


def test_the_exporter_runs_with_the_charms_python_and_packages():
    text = unit_text()
    assert exec_start(text) == [
        "/usr/bin/python3", "-m", "charmed_ovn.metrics", "--role", "central", "--port", "9476", "--app", "ovn-central",
    ]
    charm_dir = "/var/lib/juju/agents/unit-ovn-central-0/charm"
    assert f"Environment=PYTHONPATH={charm_dir}/lib:{charm_dir}/venv" in text.splitlines()


def test_the_exporter_of_another_application_name_reads_that_applications_files():
    text = unit_text(charm="ovn-chassis", app="edge-chassis")
    assert exec_start(text)[-6:] == ["--role", "chassis", "--port", "9477", "--app", "edge-chassis"]
    assert observability.exporter_unit("edge-chassis") == "charmed-ovn-exporter-edge-chassis.service"


def test_the_exporters_arguments_are_what_its_command_line_accepts():
    args = exec_start(unit_text(charm="ovn-bgp", app="ovn-bgp"))[3:]
    parsed = metrics.parser().parse_args(args)
    assert (parsed.role, parsed.port, parsed.app) == ("bgp", 9478, "ovn-bgp")


def test_new_code_changes_the_unit_file():
    assert unit_text(code_digest="sha256:1") != unit_text(code_digest="sha256:2")


@pytest.mark.parametrize(
    ("installed", "running", "step"),
    [
        (None, False, observability.START),
        ("old", False, observability.START),
        ("old", True, observability.RESTART),
        ("wanted", True, None),
    ],
)
def test_the_exporter_restarts_only_when_its_unit_file_changed(installed, running, step):
    assert observability.exporter_step(installed, "wanted", running) == step


def test_the_scrape_job_is_the_exporter_on_the_loopback_address():
    assert observability.scrape_jobs("ovn-chassis") == [
        {"metrics_path": "/metrics", "static_configs": [{"targets": ["127.0.0.1:9477"]}]}
    ]


@pytest.fixture
def charm_dir(tmp_path: Path) -> Path:
    (tmp_path / "src" / "prometheus_alert_rules").mkdir(parents=True)
    (tmp_path / "src" / "prometheus_alert_rules" / "raft.rules").write_text(RULES)
    (tmp_path / "src" / "grafana_dashboards").mkdir()
    (tmp_path / "src" / "grafana_dashboards" / "raft.json").write_text(json.dumps({"title": "Raft", "tags": ["ovn"]}))
    return tmp_path


def test_alert_rules_carry_the_juju_topology(charm_dir: Path):
    rules = observability.alert_rules(TOPOLOGY, charm_dir / observability.ALERT_RULES_DIR, "promql")
    [rule] = [rule for group in rules["groups"] for rule in group["rules"] if rule["alert"] == "RaftWithoutLeader"]
    assert rule["labels"] | TOPOLOGY.label_matcher_dict == rule["labels"]
    assert rule["labels"]["juju_application"] == "ovn-central"


def test_alert_rules_include_the_generic_host_health_group_the_cos_agent_library_adds(charm_dir: Path):
    rules = observability.alert_rules(TOPOLOGY, charm_dir / observability.ALERT_RULES_DIR, "promql")
    alerts = {rule["alert"] for group in rules["groups"] for rule in group["rules"]}
    assert {"RaftWithoutLeader", "HostDown", "HostMetricsMissing"} <= alerts


def test_no_log_rules_directory_means_no_log_rules(charm_dir: Path):
    assert observability.alert_rules(TOPOLOGY, charm_dir / observability.LOG_ALERT_RULES_DIR, "logql") == {}


def test_dashboards_are_compressed_with_the_cos_agent_librarys_uid_and_tag(charm_dir: Path):
    [encoded] = observability.dashboards("ovn-central", charm_dir)
    dashboard = json.loads(LZMABase64.decompress(encoded))
    assert dashboard["title"] == "Raft"
    assert dashboard["tags"] == ["ovn", "charm: ovn-central"]
    assert len(dashboard["uid"]) == 40


def test_the_unit_data_has_every_field_the_cos_agent_requirer_requires(charm_dir: Path):
    data = json.loads(observability.unit_data(TOPOLOGY, "ovn-central", charm_dir))
    required = {"metrics_alert_rules", "log_alert_rules", "dashboards", "metrics_scrape_jobs", "log_slots"}
    assert required <= set(data)
    assert data["log_slots"] == []
    assert data["include_log_files"] == [
        "/var/log/ovn/ovsdb-server-nb.log", "/var/log/ovn/ovsdb-server-sb.log", "/var/log/ovn/ovn-northd.log",
    ]


def test_the_unit_data_is_the_same_text_each_time(charm_dir: Path):
    """A hook that changes nothing rewrites nothing (a changed databag wakes the agent)."""
    assert observability.unit_data(TOPOLOGY, "ovn-central", charm_dir) == observability.unit_data(
        TOPOLOGY, "ovn-central", charm_dir
    )
