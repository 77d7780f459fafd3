"""The charms' Grafana dashboards (charms/*/src/grafana_dashboards): JSON that the COS libraries
take as it is (a uid of their own form, every panel on the `${prometheusds}` datasource), queries
promtool parses, reading only metrics the exporter serves and covering what each charm is about."""

import json
import subprocess
from itertools import combinations
from pathlib import Path

import pytest
import yaml
from cosl import DashboardPath40UID

from tests.unit.test_alert_rules import CHARMS, REPO, SERVED, metric_names, promtool_path

DASHBOARDS = sorted(REPO.glob("charms/*/src/grafana_dashboards/*.json"))
DATASOURCE = "${prometheusds}"
# What each charm's dashboards must show (issue 12): raft health, northd and the chassis count;
# ovn-controller and OVS; the BGP sessions; and on every charm coverage rates and certificates.
SHOWN = {
    "ovn-central": {
        "ovn_raft_is_leader", "ovn_raft_has_leader", "ovn_raft_term", "ovn_raft_log_index", "ovn_raft_servers",
        "ovn_raft_connected_peers", "ovn_raft_is_member", "ovn_raft_up", "ovn_northd_up", "ovn_northd_active",
        "ovn_southbound_chassis", "ovn_coverage_total", "ovn_certificate_expiry_timestamp_seconds",
    },
    "ovn-chassis": {
        "ovn_controller_up", "ovn_controller_southbound_connected", "ovs_vswitchd_up", "ovn_coverage_total",
        "ovn_certificate_expiry_timestamp_seconds",
    },
    "ovn-bgp": {"bird_up", "bgp_session_established", "ovn_certificate_expiry_timestamp_seconds"},
}


def charm_of(path: Path) -> str:
    return path.relative_to(REPO / "charms").parts[0]


def panels(dashboard: dict) -> list[dict]:
    """Every panel but the rows, including those folded inside a row."""
    found = []
    for panel in dashboard.get("panels", []):
        found.extend(panels(panel) if panel.get("type") == "row" else [panel])
    return found


def expressions(dashboard: dict) -> list[str]:
    return [target["expr"] for panel in panels(dashboard) for target in panel.get("targets", []) if "expr" in target]


def load(path: Path) -> dict:
    return json.loads(path.read_text())


@pytest.mark.parametrize("charm", CHARMS)
def test_each_charm_ships_a_dashboard_showing_what_it_runs(charm):
    shown = {name for path in DASHBOARDS if charm_of(path) == charm for expr in expressions(load(path)) for name in metric_names(expr)}
    assert SHOWN[charm] - shown == set()


@pytest.mark.parametrize("path", DASHBOARDS, ids=lambda path: path.name)
def test_dashboard_has_a_title_and_the_uid_the_cos_libraries_would_give_it(path):
    dashboard = load(path)
    assert isinstance(dashboard.get("title"), str) and dashboard["title"]
    # The grafana_dashboard library keeps a uid of its own form, so Grafana's URL for the
    # dashboard does not change between revisions or depend on who forwards it.
    assert dashboard.get("uid") == DashboardPath40UID.generate(charm_of(path), str(path.relative_to(REPO / "charms" / charm_of(path))))


def test_dashboard_titles_and_uids_are_unique():
    dashboards = [load(path) for path in DASHBOARDS]
    for key in ("title", "uid"):
        values = [dashboard[key] for dashboard in dashboards]
        assert len(values) == len(set(values))


@pytest.mark.parametrize("path", DASHBOARDS, ids=lambda path: path.name)
def test_every_panel_queries_the_prometheus_datasource_variable(path):
    wrong = [
        panel.get("title")
        for panel in panels(load(path))
        if not panel.get("targets")
        or panel.get("datasource", {}).get("uid") != DATASOURCE
        or any(target.get("datasource", {}).get("uid") != DATASOURCE or not target.get("expr") for target in panel["targets"])
    ]
    assert wrong == []


@pytest.mark.parametrize("path", DASHBOARDS, ids=lambda path: path.name)
def test_panels_have_unique_ids_and_do_not_overlap_on_the_grid(path):
    laid_out = load(path)["panels"]
    ids = [panel["id"] for panel in laid_out]
    assert len(ids) == len(set(ids))
    assert all(panel["gridPos"]["x"] + panel["gridPos"]["w"] <= 24 for panel in laid_out)

    def overlap(a: dict, b: dict) -> bool:
        return a["x"] < b["x"] + b["w"] and b["x"] < a["x"] + a["w"] and a["y"] < b["y"] + b["h"] and b["y"] < a["y"] + a["h"]

    assert [(a["title"], b["title"]) for a, b in combinations(laid_out, 2) if overlap(a["gridPos"], b["gridPos"])] == []


def test_dashboards_read_only_metrics_the_exporter_serves():
    unserved = {path.name: {name for expr in expressions(load(path)) for name in metric_names(expr)} - SERVED for path in DASHBOARDS}
    assert {name: names for name, names in unserved.items() if names} == {}


@pytest.mark.parametrize("path", DASHBOARDS, ids=lambda path: path.name)
def test_dashboard_queries_are_promql_that_promtool_parses(path, tmp_path):
    # promtool parses expressions as recording rules; Grafana's interval variables stand for a range.
    rules = {
        "groups": [
            {
                "name": "dashboard",
                "rules": [
                    {"record": f"dashboard:query_{index}", "expr": expr.replace("$__rate_interval", "5m")}
                    for index, expr in enumerate(expressions(load(path)))
                ],
            }
        ]
    }
    rules_file = tmp_path / "dashboard.rules"
    rules_file.write_text(yaml.safe_dump(rules))
    result = subprocess.run([promtool_path(), "check", "rules", str(rules_file)], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stdout + result.stderr
