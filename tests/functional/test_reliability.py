"""Reliability evidence (issue 13): faults, bad input, misbehaving remote charms and hooks run
again, each tried on one lab model in sequence and recorded as a row of the table the run
prints at its end (tests/functional/reliability.py; JSON in build/reliability/results.json).

The model is the shipped bundle with the BGP overlay on three machines, a top-of-rack router
(FRR) on a fourth, cabled to every chassis' `eth2`, and a misbehaving remote charm
(tests/charms/bad-remote) related to ovn-central's `certificates` and `ovsdb`. In order: every
hook run again (three rounds), every bad config value and action parameter of every charm
(tests/functional/bad_input.py), garbage relation data, then the faults, the most disruptive
last. Two VMs on two chassis ping each other at 10/s through each fault; before and after it
the Northbound and Southbound contents are compared: nothing may be lost. "Nothing changed" is
the machines' managed files, Open vSwitch, links, rules, routes and daemon PIDs and both
databases' contents (`fingerprint`), compared while a bad value is still set.

`tox -e reliability` runs this module alone; CI runs it with the rest of the lab tests.
"""

from __future__ import annotations

import difflib
import json
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml
from tenacity import Retrying, retry_if_exception_type, stop_after_delay, wait_fixed

from charmed_ovn import databases, raft, vlog
from tests.functional import bad_input, bgp_fabric, reliability
from tests.functional.conftest import (
    BUNDLE,
    DEPLOY_TIMEOUT_S,
    REPO,
    UPDATE_STATUS_INTERVAL,
    Lab,
    first_echo,
    lab_leftovers,
    model_name,
)
from tests.functional.reliability import NOTHING, Row
from tests.functional.traffic import Pinger
from tests.lab import machines
from tests.lab.model import LabError, model_dir, open_model, read_model

pytestmark = pytest.mark.lab
MODEL = "reliability"
OVERLAY = REPO / "bundles" / "overlays" / "bgp.yaml"
BAD_REMOTE = REPO / "tests" / "charms" / "bad-remote"
MACHINES = ("0", "1", "2")  # each: an ovn-central, an ovn-chassis and an ovn-bgp unit
CENTRALS = [f"ovn-central/{n}" for n in range(3)]
CHASSIS = [f"ovn-chassis/{n}" for n in range(3)]
BGP = [f"ovn-bgp/{n}" for n in range(3)]
TOR_PORTS = ("swp1", "swp2", "swp3")
VM_A, VM_B = ("rel-a", "10.77.0.1"), ("rel-b", "10.77.0.2")
RECOVERY_DEADLINE_S = 120
ELECTION_TIMER_S = 16  # the bundle's, MicroOVN's default
WRITE_INTERVAL_S = 0.1


# --- the model -------------------------------------------------------------------------------


class ReliabilityLab(Lab):
    tor: str = ""  # the ToR's machine id

    def settle(self) -> None:
        """Run every queued hook and every hook they cause, whatever the statuses end as."""
        self.run("wait", "--idle", "--timeout", "600", timeout=660)

    def wait_active(self) -> None:
        self.run("wait", "--timeout", str(DEPLOY_TIMEOUT_S), timeout=DEPLOY_TIMEOUT_S + 60)

    def machine_of(self, unit: str) -> str:
        with open_model(self.model) as model:
            return model.units[model.resolve_unit(unit)]["machine"]

    def statuses(self) -> dict[str, str]:
        """unit -> "name: message", as `juju status` shows them (the agent's error included)."""
        with open_model(self.model) as model:
            return {unit: "{name}: {message}".format(**spec["status"]) for unit, spec in model.units.items()}

    def host(self, target: str) -> machines.Machine:
        """The machine of a unit, or a machine by id."""
        model = read_model(self.model)
        machine_id = target if target in model.data["machines"] else model.units[model.resolve_unit(target)]["machine"]
        return machines.load_machine(model.data["machines"][machine_id]["host"])

    def sh(self, target: str, script: str, check: bool = True) -> str:
        """A shell script on the machine, run from here (as `exec`, without a lab process)."""
        done = self.host(target).run(["sh", "-c", script], timeout=300)
        if check and done.returncode != 0:
            raise AssertionError(f"{target}: {script}\nexited {done.returncode}: {done.stdout}{done.stderr}")
        return done.stdout

    def succeeds(self, target: str, script: str) -> bool:
        return self.host(target).run(["sh", "-c", script], timeout=60).returncode == 0


def make_bundle(directory: Path) -> Path:
    """bundle.yaml with the BGP overlay merged, as `juju deploy --overlay` merges it."""
    bundle = yaml.safe_load(BUNDLE.read_text())
    overlay = yaml.safe_load(OVERLAY.read_text())
    for spec in bundle["applications"].values():
        spec["charm"] = str((BUNDLE.parent / spec["charm"]).resolve())
    for app, spec in overlay["applications"].items():
        if app in bundle["applications"]:
            bundle["applications"][app].setdefault("options", {}).update(spec["options"])
        else:
            bundle["applications"][app] = spec | {"charm": str((OVERLAY.parent / spec["charm"]).resolve())}
    bundle["relations"] += overlay["relations"]
    # a misbehaving remote charm beside the first central, writing nothing until told to
    bundle["applications"]["bad-remote"] = {"charm": str(BAD_REMOTE), "num_units": 1, "to": ["0"]}
    bundle["relations"] += [["bad-remote:certificates", "ovn-central:certificates"], ["bad-remote:ovsdb", "ovn-central:ovsdb"]]
    path = directory / "reliability.yaml"
    path.write_text(yaml.safe_dump(bundle))
    return path


def cable_the_tor(lab: ReliabilityLab) -> None:
    """One ToR (FRR, BGP unnumbered) on a machine of its own, cabled to every chassis' eth2."""
    lab.tor = lab.run("add-machine").stdout.split()[-1]
    for index, port in enumerate(TOR_PORTS):
        lab.run("link", f"{index}:eth2", f"{lab.tor}:{port}")
        lab.sh(str(index), bgp_fabric.chassis_nic_script(["eth2"]))
    lab.sh(lab.tor, bgp_fabric.tor_setup_script("tor1"))


def deploy_three_charms(lab: ReliabilityLab, directory: Path) -> None:
    """The suite's model (`make_bundle`, bundle file in `directory`) deployed, the ToR cabled,
    every unit active."""
    lab.run("deploy", str(make_bundle(directory)), "--config", f"update-status-hook-interval={UPDATE_STATUS_INTERVAL}")
    cable_the_tor(lab)
    lab.wait_active()


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ReliabilityLab]:
    lab = ReliabilityLab(model_name(MODEL))
    lab.run("destroy", check=False)
    try:
        deploy_three_charms(lab, tmp_path_factory.mktemp(lab.model))
        lab.run("vm-add", VM_A[0], "--chassis", CHASSIS[1], "--switch", "rel", "--ip", f"{VM_A[1]}/24")
        lab.run("vm-add", VM_B[0], "--chassis", CHASSIS[2], "--switch", "rel", "--ip", f"{VM_B[1]}/24")
        first_echo(VM_A[0], VM_B[1])
        yield lab
    finally:
        lab.run("destroy", timeout=300)
        assert lab_leftovers(lab.model) == [], "destroy left lab resources behind"


# --- what must not change, and what must not be lost -----------------------------------------


SERVICES = {
    "ovn-central": ("ovn-ovsdb-server-nb", "ovn-ovsdb-server-sb", "ovn-northd"),
    "ovn-chassis": ("ovsdb-server", "ovs-vswitchd", "ovn-controller"),
    "ovn-bgp": ("bird",),
}
ALL_SERVICES = [service for services in SERVICES.values() for service in services]
MANAGED_DIRS = "/var/lib/charmed-ovn /etc/systemd/system /usr/local/bin /etc/bird /etc/default"  # what the charms write
MACHINE_FINGERPRINT = (
    # every file the charms manage, by content
    # (not config-seen.json: the security log's memory of the options set, which must change
    # when an operator sets one, refused or not)
    f"find {MANAGED_DIRS} -type f -not -name '*.log' -not -name config-seen.json 2>/dev/null | sort | xargs sha256sum; "
    "echo; ovs-vsctl show; ovs-vsctl get Open_vSwitch . external_ids other_config; ovs-vsctl get-ssl; "
    "{ ip -o link | sed 's/ qlen [0-9]*//'; ip rule; ip -4 route show table all; ip -6 route show table all; } "
    # the lab's VM plugs, whose link-local routes come and go on the kernel's own time, and the
    # routes router advertisements on the underlay teach (another lab model's ToR sends them):
    # the network's state, not the charms'
    "| grep -v -e ' vm-' -e ' proto ra '"
)


def pids(lab: ReliabilityLab, machine: str) -> dict[str, str]:
    """service -> main PID on a machine (0: not running)."""
    shown = lab.sh(machine, f"systemctl show -p MainPID --value {' '.join(ALL_SERVICES)}").split()
    return dict(zip(ALL_SERVICES, shown, strict=True))


def fingerprint(lab: ReliabilityLab) -> dict[str, str]:
    """The three machines' managed files, Open vSwitch, links, rules and routes, daemon PIDs,
    and both databases: what a hook that changes nothing must leave exactly as it was."""
    with ThreadPoolExecutor(3) as pool:
        files = dict(zip(MACHINES, pool.map(lambda m: lab.sh(m, MACHINE_FINGERPRINT), MACHINES), strict=True))
        daemons = dict(zip(MACHINES, pool.map(lambda m: json.dumps(pids(lab, m)), MACHINES), strict=True))
    return {f"machine {m}": files[m] for m in MACHINES} | {f"machine {m} pids": daemons[m] for m in MACHINES} | contents(lab)


def contents(lab: ReliabilityLab, via: str = CENTRALS[0]) -> dict[str, str]:
    """The Northbound and Southbound as an operator reads them (rows, not raft state)."""
    return {
        "northbound": lab.sh(via, "ovn-nbctl show; ovn-nbctl list-lr; ovn-nbctl get-connection; "
                                  "ovn-nbctl --bare --columns=name list Logical_Switch | sort"),
        "southbound": lab.sh(via, "ovn-sbctl show; ovn-sbctl get-connection; "
                                  "ovn-sbctl --bare --columns=name,hostname list Chassis | sort"),
    }


def differences(before: dict[str, str], after: dict[str, str]) -> list[str]:
    """What changed, each part named with its first changed lines (-before/+after)."""
    changed = []
    for name, text in before.items():
        if after.get(name) != text:
            lines = [line for line in difflib.unified_diff(text.splitlines(), after.get(name, "").splitlines(), lineterm="", n=0)
                     if line[:1] in "+-" and line[:3] not in ("+++", "---")]
            changed.append(f"{name} ({'; '.join(lines[:4])})")
    return changed


# --- idempotency -----------------------------------------------------------------------------


# "leadership": leader-elected on the leader, leader-settings-changed on the others
HOOK_KINDS = ("install", "config_changed", "start", "upgrade_charm", "update_status", "leadership", "relation_changed")


def queue_every_hook(lab: ReliabilityLab, kinds: tuple[str, ...] = HOOK_KINDS) -> int:
    """Every kind of hook a settled unit can get (of `kinds`), queued once on every unit of the
    model: the lifecycle hooks, its leadership hook, and relation-changed on each of its
    relations (about one remote unit: the hook is the same for each). How many were queued."""
    queued = 0
    with open_model(lab.model) as model:
        for unit in list(model.units):
            leader = model.apps[model.app_of(unit)]["leader"] == unit
            for kind in kinds:
                if kind == "leadership":
                    model._queue(unit, {"kind": "leader_elected" if leader else "leader_settings_changed"})
                elif kind == "relation_changed":
                    for rid, relation in model.data["relations"].items():
                        if unit in relation["members"] and relation["seen"][unit]:
                            model._queue(unit, {"kind": kind, "relation_id": rid, "remote_unit": relation["seen"][unit][0]})
                else:
                    model._queue(unit, {"kind": kind})
            queued += len(model.units[unit]["queue"])
    return queued


def databags(lab: ReliabilityLab) -> str:
    with open_model(lab.model) as model:
        return json.dumps(model.data["relations"], sort_keys=True)


def test_every_hook_of_every_unit_three_times_in_a_row_changes_nothing(lab: ReliabilityLab, request: pytest.FixtureRequest):
    before, bags = fingerprint(lab), databags(lab)
    rows = []
    for round_ in (1, 2, 3):
        queued = queue_every_hook(lab)
        lab.wait_active()
        changed = differences(before, fingerprint(lab)) + (["relation data"] if databags(lab) != bags else [])
        rows.append(reliability.record(request, Row(
            "idempotency", f"every hook kind of every unit of the three charms, round {round_} ({queued} hooks)",
            "changed: " + ", ".join(changed) if changed else "no file, database row, link, route or daemon PID changed",
            ok=not changed,
        )))
    reliability.assert_all_ok(rows)


# --- bad input: config -----------------------------------------------------------------------


def shown(value: object) -> str:
    """A value as the table shows it: short, its length when it is long."""
    text = repr(value)
    return text if len(text) <= 32 else f"{text[:24]}...' ({len(str(value))} chars)"


def configure(lab: ReliabilityLab, app: str, option: str, value: str) -> str | None:
    """`juju config APP option=value`, then every hook it causes; Juju's refusal, or None."""
    with open_model(lab.model) as model:
        try:
            model.set_config(app, {option: value})
        except LabError as refused:
            return str(refused)
    lab.settle()
    return None


def app_statuses(lab: ReliabilityLab, app: str) -> set[str]:
    return {status for unit, status in lab.statuses().items() if unit.startswith(f"{app}/")}


def lab_config_cases(charm: str) -> list[bad_input.ConfigCase]:
    """The config cases tried here: every one Juju refuses (no hook runs), and the first that
    reaches the charm for each option (each costs a hook on every unit; the charm tests
    test_charm_bad_config.py try every one of them against the same exact messages)."""
    chosen, reached = [], set()
    for case in bad_input.config_cases(charm):
        if case.expected[0] == bad_input.REFUSED:
            chosen.append(case)
        elif case.expected[0] == bad_input.BLOCKED and case.option not in reached:
            reached.add(case.option)
            chosen.append(case)
    return chosen


@pytest.mark.parametrize("charm", bad_input.CHARMS)
def test_every_bad_config_value_is_refused_or_blocks_exactly_and_changes_nothing(
    lab: ReliabilityLab, charm: str, request: pytest.FixtureRequest
):
    before = fingerprint(lab)
    rows = []
    cases: dict[str, list[bad_input.ConfigCase]] = {}
    for case in lab_config_cases(charm):
        cases.setdefault(case.option, []).append(case)
    for option, option_cases in cases.items():
        with open_model(lab.model) as model:
            current = model.apps[charm]["config"][option]
        # refusals and blocks first, with the machines checked while the last bad value is set;
        # values that are valid (and may change the machine, e.g. BGP off) after that
        ordered = sorted(option_cases, key=lambda case: case.expected[0] == bad_input.ACCEPTED)
        last_bad = max((i for i, case in enumerate(ordered) if case.expected[0] != bad_input.ACCEPTED), default=-1)
        for index, case in enumerate(ordered):
            refused = configure(lab, charm, option, case.value)
            outcome, message = case.expected
            statuses = app_statuses(lab, charm)
            if outcome == bad_input.REFUSED:
                ok, happened = refused == message, f"refused: {refused}"
            elif outcome == bad_input.BLOCKED:
                ok, happened = refused is None and statuses == {f"blocked: {message}"}, "; ".join(sorted(statuses))
            else:
                ok = refused is None and not any(s.startswith(("blocked", "error")) for s in statuses)
                happened = "accepted: " + "; ".join(sorted(statuses))
            rows.append(reliability.record(request, Row(
                "bad input", f"{charm} {option}={shown(case.value)} ({case.kind})", happened[:160], ok=ok)))
            if index == last_bad and (changed := differences(before, fingerprint(lab))):
                rows.append(reliability.record(request, Row(
                    "bad input", f"{charm} {option}: the machines while it is bad", "changed: " + ", ".join(changed)[:300],
                    ok=False)))
        if all(case.expected[0] == bad_input.REFUSED for case in option_cases):
            continue  # Juju refused every value: nothing reached the charm, nothing to set back
        configure(lab, charm, option, str(current))
        lab.wait_active()
        changed = differences(before, fingerprint(lab)) if all(c.expected[0] != bad_input.ACCEPTED for c in option_cases) else []
        rows.append(reliability.record(request, Row(
            "bad input", f"{charm} {option} set back to {shown(current)}",
            "every unit active" + (", the machines as before" if not changed else "; changed: " + ", ".join(changed)[:300]),
            ok=not changed)))
    reliability.assert_all_ok(rows)


# --- bad input: actions ----------------------------------------------------------------------


MISSING_SECRET = "secret:d5b1t000000000000000"  # a well-formed Juju secret id (20 base32hex characters), in no model


def server_ids(lab: ReliabilityLab, db: databases.Database) -> str:
    shown = lab.sh(CENTRALS[0], f"ovn-appctl -t {db.control_socket} cluster/status {db.name}")
    return ", ".join(sorted(raft.parse_cluster_status(shown).servers))


def log_modules(lab: ReliabilityLab, unit: str, daemon: vlog.Daemon) -> str:
    return ", ".join(sorted(vlog.parse_vlog_list(lab.sh(unit, " ".join([*daemon.appctl, "vlog/list"])))))


@pytest.fixture(scope="module")
def action_facts(lab: ReliabilityLab) -> dict[str, dict[str, str]]:
    """What the action cases' messages name, per charm: the clusters' server ids, the first
    daemon's log modules, and user secrets the operator added (one not granted to ovn-central,
    one granted without the keys a CA needs)."""
    ungranted = lab.run("add-secret", "rel-ungranted", "certificate=x", "private-key=y").stdout.strip()
    keyless = lab.run("add-secret", "rel-keyless", "colour=blue").stdout.strip()
    lab.run("grant-secret", "rel-keyless", "ovn-central")
    facts = {"secret_id": MISSING_SECRET, "ungranted_secret_id": ungranted, "keyless_secret_id": keyless,
             "nb_servers": server_ids(lab, databases.NB), "sb_servers": server_ids(lab, databases.SB)}
    return {
        "ovn-central": facts | {"modules": log_modules(lab, CENTRALS[0], vlog.CENTRAL_DAEMONS["ovn-northd"])},
        "ovn-chassis": facts | {"modules": log_modules(lab, CHASSIS[0], vlog.CHASSIS_DAEMONS["ovn-controller"])},
        "ovn-bgp": facts,
    }


def run_action(lab: ReliabilityLab, unit: str, action: str, params: dict) -> tuple[str, str | None]:
    """("refused"|"failed"|"completed", the message) of `juju run UNIT ACTION params`."""
    with open_model(lab.model) as model:
        try:
            result = model.run_action(model.resolve_unit(unit), action, params)
        except LabError as refused:
            return bad_input.REFUSED, str(refused)
    if "action_failed" in result:
        return bad_input.FAILED, result["action_failed"]
    return "completed", None


def lab_action_cases(charm: str) -> list[bad_input.ActionCase]:
    """Every case Juju's schema check refuses, and one of the charm's own failures per parameter
    (and per secret case of set-ca): the ops.testing tests of each action try the rest."""
    chosen, reached = [], set()
    for case in bad_input.action_cases(charm):
        key = (case.action, case.parameter, case.needs)
        if case.expected[0] == bad_input.REFUSED or key not in reached:
            reached.add(key)
            chosen.append(case)
    return chosen


@pytest.mark.parametrize("charm", bad_input.CHARMS)
def test_every_bad_action_parameter_is_refused_or_fails_exactly_and_changes_nothing(
    lab: ReliabilityLab, charm: str, action_facts: dict[str, dict[str, str]], request: pytest.FixtureRequest
):
    before = fingerprint(lab)
    facts = action_facts[charm]
    rows = []
    for case in lab_action_cases(charm):
        wanted = {name: facts[name] for name in case.needs}
        outcome, message = run_action(lab, f"{charm}/{case.unit}", case.action, case.resolved(**wanted))
        expected = (case.expected[0], case.message(**wanted))
        params = ", ".join(f"{key}={shown(value)}" for key, value in case.params.items())
        rows.append(reliability.record(request, Row(
            "bad input", f"{charm} {case.action} {params} ({case.kind})", f"{outcome}: {message}"[:200],
            ok=(outcome, message) == expected)))
    changed = differences(before, fingerprint(lab))
    rows.append(reliability.record(request, Row(
        "bad input", f"{charm}: the machines after every bad action", "changed: " + ", ".join(changed)[:300] if changed
        else "no file, database row, link, route or daemon PID changed", ok=not changed)))
    reliability.assert_all_ok(rows)


# --- bad input: relation data from a misbehaving remote charm --------------------------------


GARBAGE = ("csr-unparsable", "csr-huge", "csr-wrong-name", "csr-forged", "wrong-keys", "not-json", "huge-value")


def warnings_about(lab: ReliabilityLab, remote: str, since: dict[str, int]) -> list[str]:
    """The WARNING lines naming `remote` that each central unit logged after `since` (bytes)."""
    found = []
    for n, unit in enumerate(CENTRALS):
        log = f"/var/log/juju/unit-ovn-central-{n}.log"
        tail = lab.sh(unit, f"tail -c +{since[unit] + 1} {log} | grep WARNING | grep -F {remote} || true")
        found += [f"{unit}: {line.split(': ', 1)[-1]}" for line in tail.splitlines()]
    return found


def log_sizes(lab: ReliabilityLab) -> dict[str, int]:
    return {unit: int(lab.sh(unit, f"stat -c %s /var/log/juju/unit-ovn-central-{n}.log")) for n, unit in enumerate(CENTRALS)}


def test_garbage_from_a_misbehaving_remote_is_logged_and_ignored_and_other_units_are_served(
    lab: ReliabilityLab, request: pytest.FixtureRequest
):
    before = fingerprint(lab)
    rows = []
    try:
        for kind in GARBAGE:
            since = log_sizes(lab)
            configure(lab, "bad-remote", "garbage", kind)
            statuses = lab.statuses()
            others = {unit: status for unit, status in statuses.items() if not unit.startswith("bad-remote/")}
            unwell = sorted(f"{unit} {status}" for unit, status in others.items() if not status.startswith("active"))
            warned = warnings_about(lab, "bad-remote/0", since)
            changed = differences(before, fingerprint(lab))
            rows.append(reliability.record(request, Row(
                "relation data", f"bad-remote writes {kind} on certificates and ovsdb",
                (f"logged: {warned[0][:90]}" if warned else "NOT logged") + "; "
                + (("not active: " + ", ".join(unwell)) if unwell else "every other unit active, no hook error")
                + ("; changed: " + ", ".join(changed) if changed else ""),
                ok=bool(warned) and not unwell and not changed)))
    finally:
        configure(lab, "bad-remote", "garbage", "none")
    lab.wait_active()
    reliability.assert_all_ok(rows)


# --- faults: daemons killed ------------------------------------------------------------------


@dataclass(frozen=True)
class Daemon:
    service: str  # the systemd unit
    process: str  # the daemon's process name
    pid: str  # a command printing the daemon's own PID (not a wrapper's, such as ovn-ctl's)
    unit: str  # the charm's unit on the machine the daemon is killed on
    serving: str  # a command that succeeds once the daemon serves again


def cluster_member(db: databases.Database) -> str:
    return f"ovn-appctl -t {db.control_socket} cluster/status {db.name} | grep -q '^Status: cluster member'"


NB_SERVING, SB_SERVING = cluster_member(databases.NB), cluster_member(databases.SB)
DAEMONS = (
    Daemon("ovn-ovsdb-server-nb", "ovsdb-server", "cat /run/ovn/ovnnb_db.pid", CENTRALS[1], NB_SERVING),
    Daemon("ovn-ovsdb-server-sb", "ovsdb-server", "cat /run/ovn/ovnsb_db.pid", CENTRALS[1], SB_SERVING),
    Daemon("ovn-northd", "ovn-northd", "cat /run/ovn/ovn-northd.pid", CENTRALS[1],
           "ovn-appctl -t ovn-northd status | grep -q 'Status: '"),
    Daemon("ovs-vswitchd", "ovs-vswitchd", "cat /run/openvswitch/ovs-vswitchd.pid", CHASSIS[1],
           "ovs-appctl version && ovs-ofctl dump-flows br-int | grep -q table="),
    Daemon("ovn-controller", "ovn-controller", "cat /run/ovn/ovn-controller.pid", CHASSIS[1],
           "ovn-appctl -t ovn-controller connection-status | grep -qx connected"),
    Daemon("bird", "bird", "systemctl show -p MainPID --value bird", BGP[1], "birdc show status | grep -q 'Daemon is up'"),
)
SESSIONS_BACK_S = 180  # the ToR notices the old session gone (hold time), then reconnects
SESSION_ESTABLISHED = "birdc show protocols | grep -q Established"


def bgp_sides(lab: ReliabilityLab, unit: str) -> str:
    """BIRD's protocols and last log lines on `unit`'s machine, and the ToR's BGP summary."""
    bird = lab.sh(unit, "birdc show protocols; journalctl -u bird -n 8 --no-pager -o cat", check=False)
    tor = lab.sh(lab.tor, "vtysh -c 'show bgp summary' -c 'show bfd peers brief'", check=False)
    return " | ".join(line.strip() for line in (bird + tor).splitlines() if line.strip())


def wait_until(lab: ReliabilityLab, target: str, script: str, deadline_s: float = RECOVERY_DEADLINE_S) -> float:
    """Seconds until `script` succeeds on `target` (AssertionError at the deadline)."""
    started = time.monotonic()
    for attempt in Retrying(stop=stop_after_delay(deadline_s), wait=wait_fixed(0.2),
                            retry=retry_if_exception_type(AssertionError), reraise=True):
        with attempt:
            assert lab.succeeds(target, script), f"{target}: {script}"
    return time.monotonic() - started


def run_update_status(lab: ReliabilityLab, units: list[str]) -> dict[str, str]:
    """Each unit's status after its next update-status (queued now rather than waited for: the
    hook is the same, only sooner)."""
    for unit in units:
        lab.run("rerun-hook", unit, "update-status")
    lab.settle()
    statuses = lab.statuses()
    return {unit: statuses[unit] for unit in units}


@pytest.mark.parametrize("daemon", DAEMONS, ids=[d.service for d in DAEMONS])
def test_a_daemon_killed_with_sigkill_comes_back_and_its_unit_is_active_on_its_own(
    lab: ReliabilityLab, daemon: Daemon, request: pytest.FixtureRequest
):
    if daemon.service == "bird":  # the sessions it is to bring back are up before it is killed
        wait_until(lab, daemon.unit, SESSION_ESTABLISHED, SESSIONS_BACK_S)
    before = contents(lab)
    old_pid = lab.sh(daemon.unit, daemon.pid).strip()
    assert lab.sh(daemon.unit, f"cat /proc/{old_pid}/comm").strip() == daemon.process
    pinger = Pinger(VM_A[0], VM_B[1])
    killed_at = time.time()
    lab.sh(daemon.unit, f"kill -9 {old_pid}")
    try:
        recovery = wait_until(lab, daemon.unit, f'pid=$({daemon.pid}) && [ -n "$pid" ] && [ "$pid" != "{old_pid}" ] '
                                                f'&& kill -0 "$pid" && {daemon.serving}')
        if daemon.service == "bird":  # and the BGP sessions with the ToR up again
            try:
                recovery = wait_until(lab, daemon.unit, SESSION_ESTABLISHED, SESSIONS_BACK_S)
            except AssertionError:  # say what each side sees, in the table
                reliability.record(request, Row("fault", f"kill -9 bird on {daemon.unit}'s machine", "no session Established: "
                                                + bgp_sides(lab, daemon.unit), ok=False))
                raise
    finally:
        pinger.stop()
    sent, lost_echoes = pinger.lost_between(killed_at, time.time())
    statuses = run_update_status(lab, [daemon.unit])
    after = contents(lab)
    lost = differences(before, after)
    row = reliability.record(request, Row(
        "fault", f"kill -9 {daemon.process} ({daemon.service}) on {daemon.unit}'s machine",
        f"restarted by systemd, serving; {daemon.unit} {statuses[daemon.unit]}; ping: {lost_echoes} of {sent} echoes lost",
        ok=statuses[daemon.unit].startswith("active") and not lost,
        recovery_s=recovery, lost=", ".join(lost) or NOTHING,
    ))
    reliability.assert_all_ok([row])


# --- faults: a hook dies half-way ------------------------------------------------------------


def test_a_hook_that_fails_half_way_errors_and_its_retry_converges_with_nothing_half_applied(
    lab: ReliabilityLab, request: pytest.FixtureRequest
):
    """ovn-chassis/1's config-changed raises after Open vSwitch took the new settings and
    before the controller's drop-in is written; Juju's retry must finish the job, leaving the
    machine as the other chassis that applied the same change cleanly."""
    faulty, clean = CHASSIS[1], CHASSIS[2]
    lab.run("inject-fault", faulty, "charmed_ovn.services:write_drop_in")
    started = time.monotonic()
    lab.run("config", "ovn-chassis", "ovn-monitor-all=true", "ovn-openflow-probe-interval=30")
    try:
        history = []
        for attempt in Retrying(stop=stop_after_delay(RECOVERY_DEADLINE_S), wait=wait_fixed(1),
                                retry=retry_if_exception_type(AssertionError), reraise=True):
            with attempt:
                lab.run("wait", "--idle", "--timeout", "30", timeout=60, check=False)
                history.append(lab.statuses()[faulty])
                assert history[-1].startswith("active"), history[-1]
        recovery = time.monotonic() - started
        applied = {unit: lab.sh(unit, "ovs-vsctl get Open_vSwitch . external_ids:ovn-monitor-all "
                                      "external_ids:ovn-openflow-probe-interval; "
                                      "cat /etc/systemd/system/ovn-controller.service.d/*.conf | sha256sum")
                   for unit in (faulty, clean)}
        errored = any(status.startswith("error") for status in history) or error_in_log(lab, faulty)
        row = reliability.record(request, Row(
            "fault", f"{faulty}'s config-changed raises half-way (after Open vSwitch, before the drop-in)",
            f"{'hook error, then' if errored else 'NO hook error seen;'} retried: {history[-1]}; "
            f"settings and drop-in {'as on' if applied[faulty] == applied[clean] else 'DIFFER from'} {clean}",
            ok=errored and applied[faulty] == applied[clean], recovery_s=recovery,
        ))
    finally:
        lab.run("config", "ovn-chassis", "ovn-monitor-all=false", "ovn-openflow-probe-interval=0")
        lab.wait_active()
    reliability.assert_all_ok([row])


def error_in_log(lab: ReliabilityLab, unit: str) -> bool:
    """Whether the unit's last hooks include the injected failure (agents.log keeps each)."""
    log = (model_dir(lab.model) / "agents.log").read_text()
    return f"== {unit} config_changed rc=" in log and "InjectedFaultError" in log


# --- faults: certificates --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("unit", "damage"),
    [
        (CHASSIS[2], "rm -f {key}"),
        (CENTRALS[2], "head -c 300 /dev/urandom > {key}"),
    ],
    ids=["chassis-key-deleted", "central-key-corrupted"],
)
def test_a_damaged_key_file_is_detected_and_the_certificate_reissued(
    lab: ReliabilityLab, unit: str, damage: str, request: pytest.FixtureRequest
):
    app = unit.split("/")[0]
    service = "ovn-controller" if app == "ovn-chassis" else "ovnnb"
    pki_dir = f"/var/lib/charmed-ovn/{app}/pki"
    key = f"{pki_dir}/{service}-privkey.pem"
    cert_before = lab.sh(unit, f"sha256sum {pki_dir}/{service}-cert.pem")
    lab.sh(unit, damage.format(key=key))
    started = time.monotonic()
    statuses = run_update_status(lab, [unit])
    lab.wait_active()
    recovery = time.monotonic() - started
    cert_after = lab.sh(unit, f"sha256sum {pki_dir}/{service}-cert.pem")
    matches = lab.sh(unit, f"openssl x509 -noout -pubkey -in {pki_dir}/{service}-cert.pem | sha256sum; "
                           f"openssl pkey -pubout -in {key} | sha256sum").splitlines()
    row = reliability.record(request, Row(
        "fault", f"{unit}: {damage.format(key=key)}",
        f"at the next update-status: {statuses[unit]}; then {lab.statuses()[unit]}; certificate "
        f"{'reissued' if cert_after != cert_before else 'NOT reissued'}, "
        f"{'matching' if matches[0] == matches[1] else 'NOT matching'} the new key",
        ok=cert_after != cert_before and matches[0] == matches[1] and lab.statuses()[unit].startswith("active"),
        recovery_s=recovery,
    ))
    reliability.assert_all_ok([row])


# --- faults: the raft leader's machine, a reboot, a partition --------------------------------


WRITER = f"""i=0
while :; do
    i=$((i+1))
    if ovn-nbctl --timeout=2 ls-add writer-$i >/dev/null 2>&1; then echo "$i $(date +%s.%N)" >> /root/acked; fi
    sleep {WRITE_INTERVAL_S}
done
"""


class Writer:
    """A client on `unit`'s machine committing one Northbound row every 100 ms, recording the
    rows whose commit was acknowledged, with the time."""

    def __init__(self, lab: ReliabilityLab, unit: str) -> None:
        self.lab, self.unit = lab, unit
        lab.sh(unit, "rm -f /root/acked; systemctl reset-failed nb-writer 2>/dev/null; "
                     f"systemd-run --unit=nb-writer sh -c '{WRITER}'")

    def acknowledged(self) -> list[tuple[int, float]]:
        lines = self.lab.sh(self.unit, "cat /root/acked 2>/dev/null || true").split("\n")
        return [(int(i), float(t)) for i, t in (line.split() for line in lines if line.strip())]

    def stop(self) -> list[tuple[int, float]]:
        self.lab.exec(self.unit, "systemctl", "stop", "nb-writer", check=False)
        return self.acknowledged()

    def wait_for_writes(self, count: int) -> None:
        # each attempt may first try a remote that is down (2 s), so writes come slower then
        for attempt in Retrying(stop=stop_after_delay(180), wait=wait_fixed(0.5),
                                retry=retry_if_exception_type(AssertionError), reraise=True):
            with attempt:
                assert len(self.acknowledged()) >= count


def writer_rows(lab: ReliabilityLab, unit: str) -> set[int]:
    """The writer's rows in `unit`'s own copy of the Northbound."""
    names = lab.sh(unit, f"ovsdb-client dump unix:{databases.NB.socket} OVN_Northbound Logical_Switch name")
    return {int(word.split("-")[1].strip('"')) for word in names.split() if word.strip('"').startswith("writer-")}


def nb_leader(lab: ReliabilityLab) -> str:
    for unit in CENTRALS:
        shown = lab.exec(unit, "ovn-appctl", "-t", str(databases.NB.control_socket), "cluster/status",
                         databases.NB.name, check=False).stdout
        if shown and raft.parse_cluster_status(shown).role == "leader":
            return unit
    raise AssertionError("no Northbound leader")


def longest_gap(acked: list[tuple[int, float]], after: float) -> float:
    times = sorted(t for _, t in acked)
    return max((b - a for a, b in zip(times, times[1:], strict=False) if b >= after), default=0.0)


@dataclass(frozen=True)
class LeaderKill:
    """What a writer saw when the Northbound leader's machine was killed under it."""

    leader: str
    writer_unit: str
    acked: list[tuple[int, float]]  # (row, time) of each acknowledged write
    gap: float  # the longest pause between acknowledged writes after the kill, s
    present: set[int]  # the writer's rows in the writer's machine's Northbound afterwards


def kill_the_nb_leader_under_a_writer(lab: ReliabilityLab) -> LeaderKill:
    """A writer on a follower commits; the leader's machine is killed; 20 more writes are waited
    for. The machine is started again whatever happened (its rejoin is not waited for)."""
    leader = nb_leader(lab)
    writer_unit = next(unit for unit in CENTRALS if unit != leader)
    writer = Writer(lab, writer_unit)
    writer.wait_for_writes(20)
    killed_at = time.time()
    dead = lab.machine_of(leader)
    lab.run("kill-machine", dead)
    try:
        try:
            writer.wait_for_writes(len(writer.acknowledged()) + 20)
        finally:
            acked = writer.stop()
        return LeaderKill(leader, writer_unit, acked, longest_gap(acked, killed_at), writer_rows(lab, writer_unit))
    finally:  # the dead machine comes back whatever happened: what follows needs all three
        lab.run("restart-machine", dead)


def test_the_nb_leaders_machine_killed_writes_resume_within_the_election_timer(lab: ReliabilityLab, request: pytest.FixtureRequest):
    lab.wait_active()  # from a settled model, whatever the fault before left
    kill = kill_the_nb_leader_under_a_writer(lab)
    leader, acked, gap, present = kill.leader, kill.acked, kill.gap, kill.present
    missing = sorted(i for i, _ in acked if i not in present)
    reliability.record(request, Row(
        "fault", f"the Northbound raft leader's machine ({leader}) killed, a writer committing every 100 ms",
        f"writes resumed after {gap:.1f} s (election timer {ELECTION_TIMER_S} s + 2 s allowed); "
        f"{len(acked)} writes acknowledged", ok=gap <= ELECTION_TIMER_S + 2 and not missing,
        recovery_s=gap, lost=f"{len(missing)} acknowledged writes" if missing else NOTHING,
    ))
    lab.wait_active()  # the dead machine back: it rejoins with its data
    back = writer_rows(lab, leader)
    reliability.assert_all_ok([reliability.record(request, Row(
        "fault", f"{leader}'s machine started again after the kill",
        f"{lab.statuses()[leader]}; its Northbound has {len(back & {i for i, _ in acked})} of {len(acked)} acknowledged writes",
        ok={i for i, _ in acked} <= back,
        lost=NOTHING if {i for i, _ in acked} <= back else f"{len({i for i, _ in acked} - back)} writes on {leader}",
    ))])
    assert gap <= ELECTION_TIMER_S + 2 and not missing, (gap, missing)


def chassis_rows(lab: ReliabilityLab) -> list[str]:
    return lab.sh(CENTRALS[0], "ovn-sbctl --bare --columns=hostname list Chassis").split()


def test_a_restarted_machine_rejoins_with_its_data_and_its_chassis_has_one_row(lab: ReliabilityLab, request: pytest.FixtureRequest):
    lab.wait_active()  # from a settled model, whatever the fault before left
    unit = CENTRALS[1]
    machine = lab.machine_of(unit)
    before = contents(lab)
    started = time.monotonic()
    lab.run("restart-machine", machine)
    lab.wait_active()
    wait_until(lab, CHASSIS[1], "ovn-appctl -t ovn-controller connection-status | grep -qx connected")
    recovery = time.monotonic() - started
    status = raft.parse_cluster_status(lab.exec(unit, "ovn-appctl", "-t", str(databases.NB.control_socket),
                                                "cluster/status", databases.NB.name).stdout)
    hostnames = chassis_rows(lab)
    lost = differences(before, contents(lab, via=unit))
    row = reliability.record(request, Row(
        "fault", f"machine {machine} ({unit}, {CHASSIS[1]}) restarted",
        f"{status.status} of {len(status.servers)}; chassis rows {len(hostnames)} for {len(set(hostnames))} hosts; "
        f"{unit} {lab.statuses()[unit]}",
        ok=status.status == "cluster member" and len(hostnames) == len(set(hostnames)) and not lost,
        recovery_s=recovery, lost=", ".join(lost) or NOTHING,
    ))
    reliability.assert_all_ok([row])


def test_a_partitioned_central_refuses_writes_the_majority_serves_and_healing_makes_one_cluster(
    lab: ReliabilityLab, request: pytest.FixtureRequest
):
    lab.wait_active()  # from a settled model, whatever the fault before left
    minority = nb_leader(lab)  # the hardest case: the leader is the one cut off
    majority = [unit for unit in CENTRALS if unit != minority]
    writer = Writer(lab, majority[0])
    writer.wait_for_writes(10)
    cut_at = time.time()
    lab.run("cut-network", lab.machine_of(minority))
    try:
        writer.wait_for_writes(len(writer.acknowledged()) + 20)
        refused = lab.exec(minority, "ovn-nbctl", "--timeout=5", "--no-leader-only",
                           f"--db=unix:{databases.NB.socket}", "ls-add", "minority-write", check=False)
    finally:
        lab.run("cut-network", lab.machine_of(minority), "--heal")
    healed_at = time.monotonic()
    acked = writer.stop()
    gap = longest_gap(acked, cut_at)
    for attempt in Retrying(stop=stop_after_delay(RECOVERY_DEADLINE_S), wait=wait_fixed(1),
                            retry=retry_if_exception_type(AssertionError), reraise=True):
        with attempt:
            on_each = {unit: writer_rows(lab, unit) for unit in CENTRALS}
            assert all({i for i, _ in acked} <= rows for rows in on_each.values())
    recovery = time.monotonic() - healed_at
    leaders = [unit for unit in CENTRALS if raft.parse_cluster_status(lab.exec(
        unit, "ovn-appctl", "-t", str(databases.NB.control_socket), "cluster/status", databases.NB.name).stdout).role == "leader"]
    written_in_minority = "minority-write" in lab.sh(majority[0], "ovn-nbctl --bare --columns=name list Logical_Switch")
    row = reliability.record(request, Row(
        "fault", f"{minority} (the Northbound leader) cut off the network, then healed",
        f"majority resumed writes after {gap:.1f} s; minority write {'refused' if refused.returncode else 'ACCEPTED'}"
        f"{' and not in the cluster' if not written_in_minority else ' and IN the cluster'}; after healing: "
        f"{len(leaders)} leader, every member has all {len(acked)} acknowledged writes",
        ok=refused.returncode != 0 and not written_in_minority and len(leaders) == 1,
        recovery_s=recovery,
    ))
    lab.wait_active()
    reliability.assert_all_ok([row])


# --- faults: disk full -----------------------------------------------------------------------


DB_DIR = "/var/lib/ovn"
TMPFS_MB = 64
STOP_DATABASES = "systemctl stop ovn-northd ovn-ovsdb-server-nb ovn-ovsdb-server-sb"
ON_TMPFS = f"""set -e
{STOP_DATABASES}
mv {DB_DIR} {DB_DIR}.disk && mkdir {DB_DIR}
mount -t tmpfs -o size={TMPFS_MB}m tmpfs {DB_DIR}
cp -a {DB_DIR}.disk/. {DB_DIR}/
systemctl start ovn-ovsdb-server-nb ovn-ovsdb-server-sb ovn-northd
"""
OFF_TMPFS = f"""set -e
rm -rf {DB_DIR}.disk && mkdir {DB_DIR}.disk && cp -a {DB_DIR}/. {DB_DIR}.disk/
umount {DB_DIR} && rmdir {DB_DIR} && mv {DB_DIR}.disk {DB_DIR}
systemctl start ovn-ovsdb-server-nb ovn-ovsdb-server-sb ovn-northd
"""


def test_a_full_database_disk_shows_a_clear_status_and_corrupts_nothing(lab: ReliabilityLab, request: pytest.FixtureRequest):
    lab.wait_active()  # from a settled model, whatever the fault before left
    unit = CENTRALS[2]
    lab.sh(unit, ON_TMPFS)
    try:
        try:
            wait_until(lab, unit, NB_SERVING)
            wait_until(lab, unit, SB_SERVING)
        except AssertionError:  # the databases did not come up on the tmpfs: say why, in the table
            journal = lab.sh(unit, "journalctl -u ovn-ovsdb-server-nb -u ovn-ovsdb-server-sb -n 6 --no-pager -o cat", check=False)
            reliability.record(request, Row("fault", f"{unit}: the databases moved onto a {TMPFS_MB} MiB tmpfs",
                                            "did not serve again: " + " | ".join(journal.splitlines())[-300:], ok=False))
            raise
        lab.sh(unit, f"dd if=/dev/zero of={DB_DIR}/filler bs=1M 2>/dev/null || true")
        # writes elsewhere in the cluster: the full member's log must take them and cannot
        for n in range(20):
            lab.exec(CENTRALS[0], "ovn-nbctl", "--timeout=10", "ls-add", f"disk-full-{n}")
        full = run_update_status(lab, [unit])[unit]
        lab.sh(unit, f"rm -f {DB_DIR}/filler")
        started = time.monotonic()
        wait_until(lab, unit, NB_SERVING)
        wait_until(lab, unit, SB_SERVING)
        back = run_update_status(lab, [unit])[unit]  # the hook that finds room again mends the files
        recovery = time.monotonic() - started
        present = lab.sh(unit, f"ovsdb-client dump unix:{databases.NB.socket} OVN_Northbound Logical_Switch name", check=False)
    finally:
        lab.sh(unit, STOP_DATABASES)  # the files as the servers leave them, read while nothing writes them
        checks = lab.sh(unit, f"ovsdb-tool check-cluster {databases.NB.file} 2>&1 && ovsdb-tool check-cluster {databases.SB.file} 2>&1 "
                              "&& echo clean", check=False)
        lab.sh(unit, OFF_TMPFS)
        wait_until(lab, unit, NB_SERVING)  # the servers start from those files
        wait_until(lab, unit, SB_SERVING)
        for n in range(20):
            lab.exec(CENTRALS[0], "ovn-nbctl", "--if-exists", "ls-del", f"disk-full-{n}")
    missing = [n for n in range(20) if f"disk-full-{n}" not in present]
    row = reliability.record(request, Row(
        "fault", f"{unit}: {DB_DIR} on a {TMPFS_MB} MiB tmpfs filled up while the cluster took 20 writes",
        f"while full: {full}; space back: {back}; ovsdb-tool check-cluster: {'clean' if 'clean' in checks else checks.strip()}; "
        "both servers started again from the files",
        ok=full.startswith("blocked") and back.startswith("active") and "clean" in checks and not missing,
        recovery_s=recovery, lost=f"writes {missing} missing on {unit}" if missing else NOTHING,
    ))
    reliability.assert_all_ok([row])


def test_no_daemon_was_left_down_and_no_test_row_remains(lab: ReliabilityLab):
    """After every fault: all units active, every daemon running, the suite's rows removed."""
    lab.wait_active()
    for machine in MACHINES:
        assert "0" not in pids(lab, machine).values(), pids(lab, machine)
    names = [name for name in lab.sh(CENTRALS[0], "ovn-nbctl --bare --columns=name list Logical_Switch").split()
             if name.startswith(("writer-", "disk-full-"))]
    for start in range(0, len(names), 200):  # one transaction per 200 rows
        lab.sh(CENTRALS[0], "ovn-nbctl " + " -- ".join(f"--if-exists ls-del {name}" for name in names[start:start + 200]))
    assert not [name for name in lab.sh(CENTRALS[0], "ovn-nbctl --bare --columns=name list Logical_Switch").split()
                if name.startswith(("writer-", "disk-full-"))]
