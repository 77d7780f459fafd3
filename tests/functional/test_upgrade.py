"""OVN's major upgrade in the lab (issue 10): the bundle deployed on bookworm's OVN 23.03 from a
local archive (`ovn-source`), then moved to the distribution's 25.03 by emptying `ovn-source`.

One upgrade, watched throughout: VMs on two chassis ping across a logical router at 10/s, every
central machine's raft roles are sampled each second, and `status` is read each second. The
leader's hook that converts the databases is killed half-way (the Southbound conversion hangs);
the next hook must finish the job. The tests then check what was recorded.
"""

from __future__ import annotations

import re
import subprocess
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime
from itertools import pairwise
from pathlib import Path

import pytest
import yaml
from tenacity import retry, retry_if_result, stop_after_delay, wait_fixed

from charmed_ovn import schema
from charmed_ovn.databases import DATABASES, NB, SB
from tests.functional.conftest import DEPLOY_TIMEOUT_S, MEASURED, REPO, Lab, assert_vms_ping
from tests.functional.traffic import ECHO_INTERVAL_S, Pinger
from tests.lab import archives
from tests.lab.machines import Machine
from tests.lab.model import open_model, read_model

pytestmark = pytest.mark.lab
MODEL = "upgrade"

CENTRALS = ["ovn-central/0", "ovn-central/1", "ovn-central/2"]
CHASSIS = ["ovn-chassis/0", "ovn-chassis/1", "ovn-chassis/2"]
BGP = ["ovn-bgp/0", "ovn-bgp/1", "ovn-bgp/2"]
BGP_OVERLAY = REPO / "bundles" / "overlays" / "bgp.yaml"
# A BGP interface on every chassis machine: one end of a veth pair with no router behind it (no
# dummy module in the lab's kernel); only the OVN version is in question here.
BGP_INTERFACE = "uplink0"
BGP_TOO_OLD = (
    "OVN 25.03 or newer needed for BGP (Northbound schema 7.0.0 < 7.11.0): "
    "set ovn-source on ovn-central and ovn-chassis to a newer archive"
)
# Below MicroOVN's 16 s, so that the raise before the major upgrade has something to do.
CONFIGURED_TIMER_S = 4
# The Southbound conversion hangs here (a stand-in for ovsdb-client on the leader's machine:
# /usr/local/bin comes first on the hooks' PATH) until the test kills the hook that ran it.
HANG_SHIM = "/usr/local/bin/ovsdb-client"
HANG_MARKER = "/run/sb-convert-hung"
NB_CONTENT = [
    ["lr-add", "lr0"],
    ["lrp-add", "lr0", "lr0-ls0", "02:00:00:00:01:fe", "172.16.0.254/24"],
    ["lrp-add", "lr0", "lr0-ls1", "02:00:00:00:02:fe", "172.16.1.254/24"],
    ["ls-add", "ls0"],
    ["ls-add", "ls1"],
    ["lsp-add", "ls0", "ls0-lr0", "--", "lsp-set-type", "ls0-lr0", "router", "--", "lsp-set-addresses", "ls0-lr0",
     "router", "--", "lsp-set-options", "ls0-lr0", "router-port=lr0-ls0"],
    ["lsp-add", "ls1", "ls1-lr0", "--", "lsp-set-type", "ls1-lr0", "router", "--", "lsp-set-addresses", "ls1-lr0",
     "router", "--", "lsp-set-options", "ls1-lr0", "router-port=lr0-ls1"],
    ["acl-add", "ls0", "to-lport", "1001", "icmp4", "allow-related"],
    ["acl-add", "ls0", "to-lport", "1000", "tcp.dst == 23", "drop"],
    ["lb-add", "lb0", "10.0.0.10:80", "172.16.0.1:8080,172.16.1.2:8080", "tcp"],
    ["ls-lb-add", "ls0", "lb0"],
    ["lr-lb-add", "lr0", "lb0"],
]
COMPARED_TABLES = ("ACL", "Load_Balancer")


def make_bundle(shipped: Path, directory: Path) -> Path:
    """The shipped bundle on the older OVN, with an election timer below MicroOVN's 16 s, and
    the BGP overlay with BGP off."""
    bundle = yaml.safe_load(shipped.read_text())
    for spec in bundle["applications"].values():
        spec["charm"] = str((shipped.parent / spec["charm"]).resolve())
        spec.setdefault("options", {})["ovn-source"] = archives.OLDER_OVN_SOURCE
    bundle["applications"]["ovn-central"]["options"]["election-timer"] = CONFIGURED_TIMER_S
    overlay = yaml.safe_load(BGP_OVERLAY.read_text())
    bgp = overlay["applications"]["ovn-bgp"]
    bgp.update(charm=str((BGP_OVERLAY.parent / bgp["charm"]).resolve()), options={"ext-connection": ""})
    bundle["applications"]["ovn-bgp"] = bgp
    bundle["relations"] += overlay["relations"]
    path = directory / "older-ovn.yaml"
    path.write_text(yaml.safe_dump(bundle))
    return path


# --- what is watched during the upgrade ------------------------------------------------------


@dataclass
class Observation:
    """One reading of the model and the databases."""

    at: float
    versions: dict[str, str]  # unit -> workload version
    statuses: dict[str, str]  # unit -> "name: message"
    nb_schema: str | None = None
    sb_schema: str | None = None


@dataclass
class RaftSample:
    at: float
    leaders: dict[str, int]  # database -> members that say they lead it
    timers_ms: set[int]  # the election timers members report


@dataclass
class Watch:
    """What the watchers recorded; `phases` are (name, start) in order."""

    observations: list[Observation] = field(default_factory=list)
    raft: list[RaftSample] = field(default_factory=list)
    phases: list[tuple[str, float]] = field(default_factory=list)
    stop: threading.Event = field(default_factory=threading.Event)

    def phase(self, name: str) -> None:
        self.phases.append((name, time.time()))


def central_machines(lab: Lab) -> dict[str, Machine]:
    with open_model(lab.model) as model:
        return {unit: model.machine_of(unit) for unit in CENTRALS}


ROLES_SCRIPT = " ; ".join(
    f"echo {db.name} $(ovn-appctl -t {db.control_socket} cluster/status {db.name} 2>/dev/null "
    "| sed -n -e 's/^Role: //p' -e 's/^Election timer: //p')"
    for db in DATABASES
)


def sample_raft(hosts: dict[str, Machine], watch: Watch) -> None:
    """Every second: each member's role and election timer for both databases."""
    with ThreadPoolExecutor(len(hosts)) as pool:
        while not watch.stop.is_set():
            started = time.time()
            outputs = pool.map(lambda machine: machine.run(["sh", "-c", ROLES_SCRIPT], timeout=10).stdout, hosts.values())
            leaders = {db.name: 0 for db in DATABASES}
            timers: set[int] = set()
            for output in outputs:
                for line in output.splitlines():
                    name, *fields = line.split()
                    if fields and fields[0] == "leader":
                        leaders[name] += 1
                    timers.update(int(value) for value in fields[1:2])
            watch.raft.append(RaftSample(started, leaders, timers))
            watch.stop.wait(max(0.0, 1.0 - (time.time() - started)))


def active_schemas(machine: Machine) -> tuple[str | None, str | None]:
    found = []
    for db in (NB, SB):
        result = machine.run(["ovsdb-client", "get-schema-version", f"unix:{db.socket}", db.name], timeout=10)
        found.append(result.stdout.strip() if result.returncode == 0 else None)
    return found[0], found[1]


def observe(lab: Lab, leader_machine: Machine, watch: Watch) -> None:
    """Every second: the units' versions and statuses, and the databases' running schemas."""
    while not watch.stop.is_set():
        started = time.time()
        model = read_model(lab.model)  # as `juju status`: not waiting for the hooks that run
        versions = {unit: spec.get("workload_version") or "" for unit, spec in model.units.items()}
        statuses = {unit: "{name}: {message}".format(**model.workload_status(unit)) for unit in model.units}
        nb, sb = active_schemas(leader_machine)
        watch.observations.append(Observation(started, versions, statuses, nb, sb))
        watch.stop.wait(max(0.0, 1.0 - (time.time() - started)))


def package_upgrade_window(machine: Machine) -> tuple[float, float]:
    """When the machine's OVN packages moved to another version: dpkg's log, from the first
    `upgrade` line to the last package it left installed (the machines' clock is the host's)."""
    log = machine.run(["cat", "/var/log/dpkg.log"], timeout=10, check=True).stdout
    lines = [line.split() for line in log.splitlines()]
    upgrades = [fields for fields in lines if fields[2] == "upgrade" and fields[3].startswith(("ovn-", "openvswitch-"))]
    assert upgrades, "no OVN package was upgraded on " + machine.name
    new_version = upgrades[0][5]
    done = [fields for fields in lines if fields[2:4] == ["status", "installed"] and fields[-1] == new_version]

    def moment(fields: list[str]) -> float:
        return datetime.fromisoformat(f"{fields[0]}T{fields[1]}+00:00").timestamp()

    return moment(upgrades[0]), moment(done[-1])


# --- the NB content that must survive ---------------------------------------------------------


# What a newer `ovn-nbctl show` derives and prints that an older one did not (no database content).
DERIVED_IN_SHOW = re.compile(r"^\s+ipv6-lla: .*\n", re.M)


def nb_snapshot(lab: Lab, columns: dict[str, list[str]] | None = None) -> dict[str, object]:
    """`ovn-nbctl show` and the compared tables, by their columns (the old schema's, when given:
    a newer schema adds columns)."""
    snapshot: dict[str, object] = {
        f"show {name}": DERIVED_IN_SHOW.sub("", lab.exec(CENTRALS[0], "ovn-nbctl", "show", name).stdout)
        for name in ("lr0", "ls0", "ls1")  # the test's own: ovn-bgp adds routers and switches of its own
    }
    for table in COMPARED_TABLES:
        selected = [f"--columns={','.join(columns[table])}"] if columns else []
        listed = lab.exec(CENTRALS[0], "ovn-nbctl", "-f", "json", *selected, "list", table).stdout
        parsed = yaml.safe_load(listed)  # JSON is YAML
        snapshot[table] = sorted((dict(zip(parsed["headings"], row, strict=True)) for row in parsed["data"]), key=repr)
    return snapshot


def columns_of(snapshot: dict[str, object]) -> dict[str, list[str]]:
    return {table: sorted(snapshot[table][0]) for table in COMPARED_TABLES}  # type: ignore[index]


# --- the interrupted conversion ---------------------------------------------------------------


def install_hang_shim(machine: Machine) -> None:
    """Make the leader machine's next Southbound conversion hang; everything else passes through."""
    machine.write_file(HANG_SHIM, (
        "#!/bin/sh\n"
        f'case "$*" in *convert*{SB.socket.name}*) echo $$ > {HANG_MARKER}; exec sleep 900;; esac\n'
        'exec /usr/bin/ovsdb-client "$@"\n'
    ), mode=0o755)


@retry(retry=retry_if_result(lambda hung: not hung), stop=stop_after_delay(DEPLOY_TIMEOUT_S), wait=wait_fixed(0.5))
def conversion_hung(machine: Machine) -> bool:
    return machine.run(["test", "-s", HANG_MARKER], timeout=10).returncode == 0


def kill_hook_and_hang(machine: Machine, unit: str) -> None:
    """Remove the shim, then kill -9 the unit's running hook (every process in its charm
    directory) and the hung conversion."""
    charm_dir = f"/var/lib/juju/agents/unit-{unit.replace('/', '-')}/charm"
    machine.run(
        ["sh", "-c",
         f"rm -f {HANG_SHIM}; for p in /proc/[0-9]*; do [ \"$(readlink $p/cwd)\" = {charm_dir} ] && kill -9 ${{p#/proc/}}; "
         f"done; kill -9 $(cat {HANG_MARKER}); rm -f {HANG_MARKER}"],
        timeout=30, check=True,
    )


def bgp_on_the_older_ovn(lab: Lab, hosts: dict[str, Machine]) -> tuple[dict[str, str], list[dict[str, str]]]:
    """Turn BGP on while OVN is too old for it: the ovn-bgp units' statuses, and what the machines
    and the Northbound have before and after (bridges, routers)."""

    def applied() -> dict[str, str]:
        return {
            **{unit: machine.run(["ovs-vsctl", "list-br"], timeout=10).stdout for unit, machine in hosts.items()},
            "routers": lab.exec(CENTRALS[0], "ovn-nbctl", "--bare", "--columns=name", "list", "Logical_Router").stdout,
        }

    before = applied()
    for machine in hosts.values():  # the central machines are the chassis machines
        machine.run(["sh", "-c", f"ip link add {BGP_INTERFACE} type veth peer name {BGP_INTERFACE}p && "
                     f"ip link set {BGP_INTERFACE} up && ip link set {BGP_INTERFACE}p up"], timeout=10, check=True)
    lab.run("config", "ovn-bgp", f"ext-connection={BGP_INTERFACE}")
    lab.run("wait", "--idle", "--timeout", str(DEPLOY_TIMEOUT_S), timeout=DEPLOY_TIMEOUT_S + 60)
    model = read_model(lab.model)
    statuses = {unit: "{name}: {message}".format(**model.workload_status(unit)) for unit in BGP}
    return statuses, [before, applied()]


# --- the upgrade, run once for the module -----------------------------------------------------


@dataclass
class Upgrade:
    watch: Watch
    before: dict[str, object]
    after: dict[str, object]
    schemas_before: tuple[str | None, str | None]
    schemas_after: tuple[str | None, str | None]
    echoes: dict[int, tuple[float, bool]]
    at_kill: tuple[str | None, str | None]  # the running schemas when the converting hook was killed
    status_text: str
    timers_after: set[int]
    upgrade_windows: dict[str, tuple[float, float]]  # central unit -> when its packages moved
    leader: str
    bgp_too_old: tuple[dict[str, str], list[dict[str, str]]]  # ovn-bgp statuses; bridges and routers around
    routers_after: list[str]


def settle_in_background(lab: Lab, done: list[subprocess.CompletedProcess[str]]) -> threading.Thread:
    thread = threading.Thread(
        target=lambda: done.append(lab.run("wait", "--timeout", str(DEPLOY_TIMEOUT_S), check=False,
                                           timeout=DEPLOY_TIMEOUT_S + 60)),
        daemon=True,
    )
    thread.start()
    return thread


@pytest.fixture(scope="module")
def upgrade(lab: Lab) -> Iterator[Upgrade]:
    for command in NB_CONTENT:
        lab.exec(CENTRALS[0], "ovn-nbctl", *command)
    lab.run("vm-add", "upg-vm1", "--chassis", CHASSIS[0], "--switch", "ls0", "--ip", "172.16.0.1/24",
            "--gateway", "172.16.0.254")
    lab.run("vm-add", "upg-vm2", "--chassis", CHASSIS[1], "--switch", "ls1", "--ip", "172.16.1.2/24",
            "--gateway", "172.16.1.254")
    assert_vms_ping(lab, "upg-vm1", "172.16.1.2")
    before = nb_snapshot(lab)
    hosts = central_machines(lab)
    bgp_too_old = bgp_on_the_older_ovn(lab, hosts)
    with open_model(lab.model) as model:
        leader = model.apps["ovn-central"]["leader"]
    schemas_before = active_schemas(hosts[leader])
    watch = Watch()
    pinger = Pinger("upg-vm1", "172.16.1.2")
    watchers = [threading.Thread(target=sample_raft, args=(hosts, watch), daemon=True),
                threading.Thread(target=observe, args=(lab, hosts[leader], watch), daemon=True)]
    for watcher in watchers:
        watcher.start()
    try:
        watch.phase("chassis ovn-source emptied (the co-located central's pin holds)")
        lab.run("config", "ovn-chassis", "ovn-source=")
        lab.run("wait", "--idle", "--timeout", str(DEPLOY_TIMEOUT_S), timeout=DEPLOY_TIMEOUT_S + 60)
        install_hang_shim(hosts[leader])
        watch.phase("central ovn-source emptied: rolling upgrade")
        lab.run("config", "ovn-central", "ovn-source=")
        settled: list[subprocess.CompletedProcess[str]] = []
        settler = settle_in_background(lab, settled)
        conversion_hung(hosts[leader])
        at_kill = active_schemas(hosts[leader])
        watch.phase("leader's converting hook killed; its retry")
        kill_hook_and_hang(hosts[leader], leader)
        settler.join(DEPLOY_TIMEOUT_S + 120)
        assert settled and settled[0].returncode == 0, settled and settled[0].stdout
        watch.phase("settled")
        assert_vms_ping(lab, "upg-vm1", "172.16.1.2")
        schemas_after = active_schemas(hosts[leader])
        after = nb_snapshot(lab, columns_of(before))
        bgp_routers = lab.exec(CENTRALS[0], "ovn-nbctl", "--bare", "--columns=name", "list", "Logical_Router").stdout.split()
    finally:
        watch.stop.set()
        for watcher in watchers:
            watcher.join(30)
        pinger.stop()
        hosts[leader].run(["rm", "-f", HANG_SHIM, HANG_MARKER], timeout=10)
    windows = {unit: package_upgrade_window(machine) for unit, machine in hosts.items()}
    yield Upgrade(watch, before, after, schemas_before, schemas_after, pinger.echoes(), at_kill,
                  lab.run("status").stdout, watch.raft[-1].timers_ms, windows, leader, bgp_too_old, bgp_routers)


# --- the acceptance ---------------------------------------------------------------------------


def old(version: str) -> bool:
    return version.startswith(archives.OLDER_OVN_UPSTREAM_VERSION)


def test_the_bundle_ran_the_older_ovn_before(upgrade: Upgrade):
    first = upgrade.watch.observations[0]
    assert all(old(first.versions[unit]) for unit in CENTRALS + CHASSIS), first.versions
    assert upgrade.schemas_before == (first.nb_schema, first.sb_schema)


def test_units_upgrade_one_central_at_a_time_and_every_unit_ends_on_the_new_ovn(upgrade: Upgrade):
    windows = sorted(upgrade.upgrade_windows.values())
    assert all(end <= next_start for (_, end), (next_start, _) in pairwise(windows)), upgrade.upgrade_windows
    leader_first = min(upgrade.upgrade_windows, key=lambda unit: upgrade.upgrade_windows[unit])
    assert leader_first == upgrade.leader
    last = upgrade.watch.observations[-1]
    assert not any(old(last.versions[unit]) for unit in CENTRALS + CHASSIS + BGP), last.versions
    chassis_phase_end = upgrade.watch.phases[1][1]
    during_chassis_phase = [o for o in upgrade.watch.observations if o.at < chassis_phase_end]
    assert all(old(o.versions[unit]) for o in during_chassis_phase for unit in CHASSIS)


def test_no_conversion_while_a_unit_runs_the_old_ovn_and_the_status_says_why(upgrade: Upgrade):
    for observation in upgrade.watch.observations:
        if any(old(version) for unit, version in observation.versions.items()):
            running = (observation.nb_schema, observation.sb_schema)
            # None: the leader's own server was restarting in its turn
            assert all(now in (None, then) for now, then in zip(running, upgrade.schemas_before, strict=True)), observation
    waiting = [
        o.statuses for o in upgrade.watch.observations
        if any(re.search(r"upgrade or attention required: OVN_Northbound schema \S+ -> \S+ waits for ovn-", s)
               for s in o.statuses.values())
    ]
    seen = sorted({status for o in upgrade.watch.observations for status in o.statuses.values()})
    assert waiting, f"no unit's status said which database waited for which units: {seen}"


def test_the_killed_conversion_converged_on_the_next_hook(upgrade: Upgrade):
    nb_new, sb_new = upgrade.schemas_after
    # Killed half-way: the Northbound converted, the Southbound not yet.
    assert upgrade.at_kill == (nb_new, upgrade.schemas_before[1]), upgrade.at_kill
    assert schema.version_key(nb_new or "0") > schema.version_key(upgrade.schemas_before[0] or "0")
    assert schema.version_key(sb_new or "0") > schema.version_key(upgrade.schemas_before[1] or "0")


def test_bgp_on_the_older_ovn_was_blocked_naming_ovn_source_with_nothing_applied(upgrade: Upgrade):
    statuses, (before, after) = upgrade.bgp_too_old
    assert statuses == {unit: f"blocked: {BGP_TOO_OLD}" for unit in BGP}
    assert after == before and before["routers"].split() == ["lr0"]


def test_bgp_recovered_once_the_northbound_was_converted(upgrade: Upgrade):
    last = upgrade.watch.observations[-1]
    assert all(last.statuses[unit].startswith(f"active: BGP on {BGP_INTERFACE}") for unit in BGP), last.statuses
    assert len(upgrade.routers_after) == 1 + len(BGP), upgrade.routers_after  # lr0 and one per chassis


def test_status_ends_with_both_databases_at_the_new_schema(lab: Lab, upgrade: Upgrade):
    result = lab.run("run", "ovn-central/leader", "status")
    report = yaml.safe_load(result.stdout)
    text = yaml.safe_dump(report)
    for version in upgrade.schemas_after:
        assert version and version in text, text
    assert "attention required" not in text and "waits for" not in text
    last = upgrade.watch.observations[-1]
    assert all(last.statuses[unit].startswith("active") for unit in CENTRALS + CHASSIS + BGP), last.statuses


def test_northbound_content_is_unchanged(upgrade: Upgrade):
    assert upgrade.after == upgrade.before


def test_lab_status_version_column_shows_the_new_ovn_on_every_unit(upgrade: Upgrade):
    rows = [line.split() for line in upgrade.status_text.splitlines() if line.startswith(("ovn-central/", "ovn-chassis/", "ovn-bgp/"))]
    assert len(rows) == 9
    for row in rows:
        assert row[2].split("+")[0] != archives.OLDER_OVN_UPSTREAM_VERSION and re.fullmatch(r"\d+\.\d+\.\d+\+ovs[\d.]+", row[2]), row


def test_raft_kept_a_leader_every_second_and_the_timer_was_raised(upgrade: Upgrade, request: pytest.FixtureRequest):
    samples = upgrade.watch.raft
    assert len(samples) >= 60
    leaderless = {db.name: [s.at for s in samples if s.leaders[db.name] == 0] for db in DATABASES}
    request.node.user_properties.append((
        MEASURED, f"raft sampled {len(samples)} times; samples without a leader: "
        + ", ".join(f"{name} {len(times)}" for name, times in leaderless.items()),
    ))
    assert all(s.leaders[db.name] <= 1 for s in samples for db in DATABASES)
    assert leaderless == {db.name: [] for db in DATABASES}
    # Raised before the first package moved (dpkg's log counts whole seconds), kept until the last.
    first, last = min(upgrade.upgrade_windows.values())[0], max(upgrade.upgrade_windows.values())[1]
    during = [s.timers_ms for s in samples if first + 1 <= s.at <= last]
    assert during and all(timers and min(timers) >= 16000 for timers in during), during
    assert upgrade.timers_after == {CONFIGURED_TIMER_S * 1000}  # back to the configured one


def test_vms_pinged_through_the_upgrade(upgrade: Upgrade, request: pytest.FixtureRequest):
    echoes = upgrade.echoes
    bounds = [*upgrade.watch.phases, ("end", float("inf"))]
    losses = []
    for (name, start), (_, end) in pairwise(bounds):
        in_phase = [answered for when, answered in echoes.values() if start <= when < end]
        losses.append(f"{name}: {in_phase.count(False)} of {len(in_phase)}")
    request.node.user_properties.append((MEASURED, "echoes lost per phase at 10/s: " + "; ".join(losses)))
    # ping ran the whole time (one echo every 100 ms from the first phase to the last reading)
    watched_s = upgrade.watch.observations[-1].at - upgrade.watch.phases[0][1]
    assert len(echoes) >= 0.9 * watched_s / ECHO_INTERVAL_S, (len(echoes), watched_s)
    lost = sum(not answered for _, answered in echoes.values())
    assert lost < len(echoes) * 0.05, losses
