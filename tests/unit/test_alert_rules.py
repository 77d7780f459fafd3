"""The charms' Prometheus alert rules (charms/*/src/prometheus_alert_rules): promtool accepts them
and their promtool tests (tests/unit/alerts) pass, every alert is shown firing and silent on series
labelled as the COS agent labels them, and every metric they read is one the exporter serves."""

import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from charmed_ovn.metrics import METRICS

REPO = Path(__file__).resolve().parents[2]
CHARMS = ("ovn-central", "ovn-chassis", "ovn-bgp")
RULE_FILES = sorted(REPO.glob("charms/*/src/prometheus_alert_rules/*.rules"))
PROMTOOL_TESTS = sorted((REPO / "tests/unit/alerts").glob("*.yaml"))
# Where tools/setup puts promtool (Debian's prometheus package is not installed, only its promtool).
PROMTOOL_CACHE = Path("/var/cache/charmed-ovn/promtool/promtool")
# The labels the COS agent puts on every series it scrapes from a unit.
TOPOLOGY = ("juju_model", "juju_model_uuid", "juju_application", "juju_unit", "juju_charm")
# The ones it also injects as matchers into each selector of a rule: an aggregation must keep them.
INJECTED = ("juju_model", "juju_model_uuid", "juju_application")
# Metrics that Prometheus makes itself, not the exporter.
PROMETHEUS_OWN = frozenset({"up"})
SERVED = frozenset(METRICS) | PROMETHEUS_OWN

# --- reading PromQL --------------------------------------------------------------------------------

_STRINGS = re.compile(r'"(?:\\.|[^"\\])*"|\'(?:\\.|[^\'\\])*\'|`[^`]*`')
_MATCHERS = re.compile(r"\{[^}]*\}")
_RANGES = re.compile(r"\[[^\]]*\]")
_LABEL_LISTS = re.compile(r"\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)")
# A name not inside another word, a number (1e3, 5m) or a Grafana variable ($juju_unit), and not
# called like a function or aggregation.
_NAME = re.compile(r"(?<![\w:$.])([A-Za-z_:][\w:]*)(?![\w:])(?!\s*\()")
_KEYWORDS = frozenset(
    {"and", "or", "unless", "bool", "offset", "by", "without", "on", "ignoring", "group_left", "group_right", "inf", "nan"}
)
_AGGREGATION = re.compile(
    r"\b(?:sum|min|max|avg|group|stddev|stdvar|count|count_values|bottomk|topk|quantile)\s*"
    r"(?:(?P<clause>by|without)\s*\((?P<labels>[^)]*)\))?\s*\("
)


def metric_names(expr: str) -> set[str]:
    """The metric names a PromQL expression reads: what is left once strings, label matchers,
    ranges, label lists, functions, keywords and numbers are taken out."""
    bare = _STRINGS.sub('""', expr)
    bare = _MATCHERS.sub(" ", bare)
    bare = _RANGES.sub(" ", bare)
    bare = _LABEL_LISTS.sub(" ", bare)
    return {name for name in _NAME.findall(bare) if name.lower() not in _KEYWORDS}


def aggregations_losing_topology(expr: str) -> list[str]:
    """Each aggregation of `expr` that does not group `by` every injected topology label."""
    return [
        match[0]
        for match in _AGGREGATION.finditer(_STRINGS.sub('""', expr))
        if match["clause"] != "by" or not set(INJECTED) <= {label.strip() for label in match["labels"].split(",")}
    ]


def series_labels(series: str) -> set[str]:
    """The label names of a promtool input series, `name{label="value",...}`."""
    matchers = re.search(r"\{(.*)\}", series)
    return set(re.findall(r"(\w+)\s*=", _STRINGS.sub('""', matchers[1]))) if matchers else set()


def alert_rules() -> list[tuple[Path, dict]]:
    return [
        (path, rule)
        for path in RULE_FILES
        for group in yaml.safe_load(path.read_text())["groups"]
        for rule in group["rules"]
        if "alert" in rule
    ]


# --- the reading itself ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("expr", "names"),
    [
        ("max by (juju_model, database) (ovn_raft_has_leader or ovn_raft_up == 0) == 0", {"ovn_raft_has_leader", "ovn_raft_up"}),
        ('rate(ovn_coverage_total{daemon="ovn-northd",counter=~"lflow.*"}[5m])', {"ovn_coverage_total"}),
        ("sum by (counter) (rate(ovn_coverage_total[$__rate_interval])) unless on (juju_unit) up == 0", {"ovn_coverage_total", "up"}),
        ("ovn_certificate_expiry_timestamp_seconds offset 1h - time() < 14 * 86400 >= 1e3", {"ovn_certificate_expiry_timestamp_seconds"}),
        ('topk($topk, bgp_session_established{protocol="a{b}"}) > bool 0', {"bgp_session_established"}),
        ("ovn_raft_servers - ignoring (database) group_left ovn_northd_up", {"ovn_raft_servers", "ovn_northd_up"}),
    ],
)
def test_metric_names_are_the_series_an_expression_reads(expr, names):
    assert metric_names(expr) == names


def test_an_aggregation_without_the_topology_mixes_applications():
    assert aggregations_losing_topology("sum(ovn_northd_active) < 1 or max by (juju_application) (x)") == [
        "sum(",
        "max by (juju_application) (",
    ]
    assert aggregations_losing_topology("sum by (juju_model, juju_model_uuid, juju_application) (x)") == []


# --- the rules -------------------------------------------------------------------------------------


def promtool_path() -> str:
    """tools/setup's promtool, else one on PATH; the test fails without one (no silent skip)."""
    found = str(PROMTOOL_CACHE) if PROMTOOL_CACHE.exists() else shutil.which("promtool")
    if not found:
        pytest.fail(f"promtool is neither at {PROMTOOL_CACHE} nor on PATH: run tools/setup")
    return found


@pytest.fixture(scope="module")
def promtool() -> str:
    return promtool_path()


@pytest.mark.parametrize("charm", CHARMS)
def test_each_charm_ships_alert_rules_and_their_promtool_tests(charm):
    assert list((REPO / "charms" / charm / "src/prometheus_alert_rules").glob("*.rules"))
    tested = {
        (path.parent / rule_file).resolve()
        for path in PROMTOOL_TESTS
        for rule_file in yaml.safe_load(path.read_text())["rule_files"]
    }
    assert set((REPO / "charms" / charm / "src/prometheus_alert_rules").glob("*.rules")) <= tested


@pytest.mark.parametrize("path", RULE_FILES, ids=lambda path: path.name)
def test_promtool_accepts_the_rules(promtool, path):
    result = subprocess.run([promtool, "check", "rules", str(path)], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("path", PROMTOOL_TESTS, ids=lambda path: path.name)
def test_promtool_tests_of_the_rules_pass(promtool, path):
    result = subprocess.run([promtool, "test", "rules", str(path)], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stdout + result.stderr


def test_every_alert_is_tested_both_firing_and_silent():
    checks = [
        (check["alertname"], bool(check.get("exp_alerts")))
        for path in PROMTOOL_TESTS
        for case in yaml.safe_load(path.read_text())["tests"]
        for check in case.get("alert_rule_test", [])
    ]
    alerts = {rule["alert"] for _, rule in alert_rules()}
    # promtool passes a silent check on an alert that does not exist: a misspelt name proves nothing.
    assert {name for name, _ in checks} <= alerts
    assert {name for name, fires in checks if fires} == alerts
    assert {name for name, fires in checks if not fires} == alerts


def test_promtool_input_series_carry_the_juju_topology():
    unlabelled = [
        series["series"]
        for path in PROMTOOL_TESTS
        for case in yaml.safe_load(path.read_text())["tests"]
        for series in case.get("input_series", [])
        if not set(TOPOLOGY) <= series_labels(series["series"])
    ]
    assert unlabelled == []


def test_rules_read_only_metrics_the_exporter_serves():
    unserved = {rule["alert"]: metric_names(rule["expr"]) - SERVED for _, rule in alert_rules()}
    assert {alert: names for alert, names in unserved.items() if names} == {}


def test_aggregations_in_rules_keep_the_juju_topology():
    losing = {rule["alert"]: aggregations_losing_topology(rule["expr"]) for _, rule in alert_rules()}
    assert {alert: found for alert, found in losing.items() if found} == {}


def test_every_alert_has_a_severity_and_says_where_and_what():
    incomplete = [
        f"{path.name}: {rule['alert']}"
        for path, rule in alert_rules()
        if rule.get("labels", {}).get("severity") not in ("warning", "critical")
        or not re.search(r"\$labels\.juju_(unit|application)", rule.get("annotations", {}).get("summary", ""))
        or "$labels.juju_model" not in rule.get("annotations", {}).get("description", "")
    ]
    assert incomplete == []


def test_alert_names_are_unique_across_the_charms():
    names = [rule["alert"] for _, rule in alert_rules()]
    assert len(names) == len(set(names))
