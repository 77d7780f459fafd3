"""Observability through COS: the unit's exporter (a systemd service) and its `cos-agent` data.

The COS agent (grafana-agent or opentelemetry-collector, a subordinate on the same machine) reads
one unit databag key, `config`: the cos_agent interface's `CosAgentProviderUnitData`, as the
`charms.grafana_agent.v0.cos_agent` library writes it (that library is not on PyPI; cosl is, and
does the parts that need care: Juju topology in alert rules, dashboard uids and compression):

- `metrics_scrape_jobs`: the exporter on 127.0.0.1 at the charm's port (`PORTS`);
- `metrics_alert_rules`: `src/prometheus_alert_rules`, with Juju topology labels, plus cosl's
  generic HostHealth group (target down, metrics missing), as the library adds it;
- `log_alert_rules`: `src/loki_alert_rules` (none yet);
- `dashboards`: `src/grafana_dashboards/*.json`, LZMA+base64, each with the uid the library
  derives from the charm name and the file's path, tagged `charm: <name>`;
- `log_slots`: snap log slots, for snapped workloads: none here (OVN comes from deb packages);
- `include_log_files`: the daemons' log files (/var/log/ovn, /var/log/openvswitch; BIRD logs to
  syslog). The machine agents collect every file under /var/log by default (their `path_exclude`
  option leaves some out), so these files reach Loki even through an agent that predates the
  field; naming them keeps them collected where the operator narrowed that down.
"""

from __future__ import annotations

import hashlib
import json
import logging
import sys
from pathlib import Path
from typing import Literal

import ops
from charmlibs import systemd
from cosl import DashboardPath40UID, JujuTopology, LZMABase64
from cosl.rules import Rules, generic_alert_groups

from charmed_ovn import paths, services
from charmed_ovn.files import write_file

logger = logging.getLogger(__name__)

RELATION = "cos-agent"
DATABAG_KEY = "config"  # CosAgentProviderUnitData.KEY
# Each charm's exporter port (127.0.0.1 only) and the role its exporter serves.
PORTS = {"ovn-central": 9476, "ovn-chassis": 9477, "ovn-bgp": 9478}
ROLES = {"ovn-central": "central", "ovn-chassis": "chassis", "ovn-bgp": "bgp"}
ALERT_RULES_DIR = Path("src/prometheus_alert_rules")
LOG_ALERT_RULES_DIR = Path("src/loki_alert_rules")
DASHBOARDS_DIR = Path("src/grafana_dashboards")
# The log files of each charm's daemons (ovn-ctl's and ovs-ctl's names; BIRD logs to syslog).
LOG_FILES = {
    "ovn-central": [f"{paths.OVN_LOG_DIR}/{name}.log" for name in ("ovsdb-server-nb", "ovsdb-server-sb", "ovn-northd")],
    "ovn-chassis": [
        f"{paths.OVN_LOG_DIR}/ovn-controller.log",
        "/var/log/openvswitch/ovs-vswitchd.log",
        "/var/log/openvswitch/ovsdb-server.log",
    ],
    "ovn-bgp": [],
}
START, RESTART = "start", "restart"


def exporter_unit(app: str) -> str:
    """The exporter's systemd unit of application `app`'s unit on this machine."""
    return f"charmed-ovn-exporter-{app}.service"


def exporter_argv(charm: str, app: str) -> list[str]:
    return ["-m", "charmed_ovn.metrics", "--role", ROLES[charm], "--port", str(PORTS[charm]), "--app", app]


def render_exporter_unit(charm: str, app: str, charm_dir: Path, python: str, code_digest: str) -> str:
    """The exporter's unit file: the charm's own Python and packages, as its dispatch runs them
    (PYTHONPATH=lib:venv); `code_digest` names the code it runs, so that a new charm revision
    changes the file and restarts it."""
    pythonpath = f"{charm_dir / 'lib'}:{charm_dir / 'venv'}"
    return "\n".join([
        "# Managed by the charmed OVN bundle: changes are overwritten.",
        f"# Exporter code {code_digest}",
        "[Unit]",
        f"Description=Charmed OVN metrics exporter of {app} (127.0.0.1:{PORTS[charm]})",
        "After=network.target",
        "",
        "[Service]",
        f"Environment=PYTHONPATH={pythonpath}",
        "ExecStart=" + " ".join([python, *exporter_argv(charm, app)]),
        "Restart=always",
        "RestartSec=5",
        "",
        "[Install]",
        "WantedBy=multi-user.target",
        "",
    ])


def exporter_step(installed: str | None, wanted: str, running: bool) -> str | None:
    """What the exporter's service needs: START when it is not running, RESTART when it runs
    from another unit file than `wanted`, None when it runs from `wanted`."""
    if not running:
        return START
    return RESTART if installed != wanted else None


def scrape_jobs(charm: str) -> list[dict]:
    return [{"metrics_path": "/metrics", "static_configs": [{"targets": [f"127.0.0.1:{PORTS[charm]}"]}]}]


def alert_rules(topology: JujuTopology, directory: Path, query_type: Literal["promql", "logql"]) -> dict:
    """The rules of `directory`, with Juju topology labels; promql rules also get cosl's generic
    HostHealth group, as the cos_agent library adds it."""
    rules = Rules(query_type=query_type, topology=topology)
    rules.add_path(directory)
    if query_type == "promql":
        rules.add(generic_alert_groups.application_rules, group_name_prefix=topology.identifier)
    return rules.as_dict()


def dashboards(charm: str, charm_dir: Path) -> list[str]:
    """The charm's dashboards as the cos_agent library sends them."""
    encoded = []
    for path in sorted((charm_dir / DASHBOARDS_DIR).glob("*.json")):
        dashboard = json.loads(path.read_text())
        dashboard["uid"] = DashboardPath40UID.generate(charm, str(path.relative_to(charm_dir)))
        tags = dashboard.get("tags", [])
        if not any(tag.startswith("charm: ") for tag in tags):
            tags.append(f"charm: {charm}")
        dashboard["tags"] = tags
        encoded.append(LZMABase64.compress(json.dumps(dashboard)))
    return encoded


def unit_data(topology: JujuTopology, charm: str, charm_dir: Path) -> str:
    """The `config` value of the unit's cos-agent databag (CosAgentProviderUnitData as JSON)."""
    return json.dumps({
        "metrics_alert_rules": alert_rules(topology, charm_dir / ALERT_RULES_DIR, "promql"),
        "log_alert_rules": alert_rules(topology, charm_dir / LOG_ALERT_RULES_DIR, "logql"),
        "dashboards": dashboards(charm, charm_dir),
        "metrics_scrape_jobs": scrape_jobs(charm),
        "log_slots": [],
        "include_log_files": LOG_FILES[charm],
    }, sort_keys=True)


class CosAgent(ops.Object):
    """The exporter on every hook that can change it, the cos-agent data on its relation's
    events too, and nothing left of either once the unit is removed."""

    def __init__(self, charm: ops.CharmBase):
        super().__init__(charm, RELATION)
        self._charm = charm
        on = charm.on
        refresh = [on.install, on.start, on.upgrade_charm, on.config_changed, on.update_status]
        for event in [*refresh, on[RELATION].relation_joined, on[RELATION].relation_changed]:
            self.framework.observe(event, self._refresh)
        self.framework.observe(on.remove, self._remove)

    def _refresh(self, _: ops.EventBase) -> None:
        charm, app, charm_dir = self._charm.meta.name, self._charm.app.name, self._charm.charm_dir
        run_exporter(exporter_unit(app), render_exporter_unit(charm, app, charm_dir, sys.executable, code_digest(charm_dir)))
        if not (relations := self._charm.model.relations[RELATION]):
            return  # the rules and dashboards are read and compressed only for an agent
        data = unit_data(JujuTopology.from_charm(self._charm), charm, charm_dir)
        for relation in relations:
            databag = relation.data[self._charm.unit]
            if databag.get(DATABAG_KEY) != data:
                databag[DATABAG_KEY] = data

    def _remove(self, _: ops.RemoveEvent) -> None:
        remove_exporter(exporter_unit(self._charm.app.name))


# --- machine adapters ---------------------------------------------------------------------------


def code_digest(charm_dir: Path) -> str:
    """A digest of the code the exporter runs: the shared package and the versions of its
    dependencies (the venv's dist-info names)."""
    digest = hashlib.sha256()
    for path in sorted((charm_dir / "lib" / "charmed_ovn").rglob("*.py")):
        digest.update(str(path.relative_to(charm_dir)).encode() + b"\0" + path.read_bytes())
    for dist_info in sorted((charm_dir / "venv").glob("*.dist-info")):
        digest.update(dist_info.name.encode() + b"\0")
    return f"sha256:{digest.hexdigest()[:16]}"


def run_exporter(unit: str, content: str) -> None:
    """Install the exporter's unit file and keep it running: started (and enabled) when it is
    not running, restarted only when its unit file changed."""
    path = paths.SYSTEMD_DIR / unit
    installed = path.read_text() if path.exists() else None
    step = exporter_step(installed, content, services.is_active(unit))
    if installed != content:
        write_file(path, content, mode=0o644)
        systemd.daemon_reload()
    try:
        if step == START:
            services.unmask_and_start([unit])
        elif step == RESTART:
            services.restart(unit)
    except systemd.SystemdError as e:  # metrics missing must not stop the unit's hooks: COS alerts on it
        logger.warning("the exporter %s does not run: %s", unit, e)


def remove_exporter(unit: str) -> None:
    """Stop, disable and delete the exporter's unit."""
    path = paths.SYSTEMD_DIR / unit
    if path.exists():
        services.stop_and_disable(unit)
        path.unlink()
        systemd.daemon_reload()
