"""ovn-bgp in the lab (issue 9): the bundle with the BGP overlay, two FRR top-of-rack routers and
an external host (tests/functional/bgp_fabric.py). The tests run in order on one model: enable,
data plane, ECMP with BFD failover, manual BIRD configuration, disable, and removal of the
subordinate relation. Bad option values and hooks run again are the reliability suite's
(test_reliability.py), on a model with the same overlay.
"""

from __future__ import annotations

import json
import re
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from tenacity import retry, retry_if_exception_type, stop_after_delay, wait_fixed

from tests.functional import bgp_fabric
from tests.functional.conftest import (
    BUNDLE,
    DEPLOY_TIMEOUT_S,
    MEASURED,
    REPO,
    UPDATE_STATUS_INTERVAL,
    Lab,
    lab_leftovers,
    model_name,
)
from tests.lab import machines, vms
from tests.lab.model import open_model

pytestmark = pytest.mark.lab
MODEL = "bgp"
OVERLAY = REPO / "bundles" / "overlays" / "bgp.yaml"
ROLES = ("tor1", "tor2", "external")
PRE_EXISTING_MAPPING = "physnet1:br-ex"
GUEST_V4, GUEST_V6 = "192.168.10.10", "fd00::10"
FIP_V4, FIP_V6 = "172.16.10.2", "2001:db8:610::2"
VIP_V4, VIP_V6 = "172.16.20.5", "2001:db8:612::3"
SERVER_PORT = 8080
SESSION_DEADLINE_S = 120
# What the charms' hooks must leave exactly as they found it, per chassis machine.
MACHINE_SNAPSHOT = {
    "ovs": ["ovs-vsctl", "show"],
    "links": ["ip", "-o", "link"],
    "rules4": ["ip", "-4", "rule"],
    "rules6": ["ip", "-6", "rule"],
    "routes4": ["ip", "-4", "route", "show", "table", "all"],
    "routes6": ["ip", "-6", "route", "show", "table", "all"],
    "mappings": ["ovs-vsctl", "get", "Open_vSwitch", ".", "external_ids:ovn-bridge-mappings"],
}


class BgpLab(Lab):
    """The lab model plus the fabric's plain machines, by role."""

    machine_ids: dict[str, str]

    def on(self, role: str, *argv: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        return self.run("exec", self.machine_ids[role], "--", *argv, check=check)

    def host(self, role: str) -> str:
        with open_model(self.model) as model:
            return model.data["machines"][self.machine_ids[role]]["host"]

    def wait(self) -> None:
        self.run("wait", "--timeout", str(DEPLOY_TIMEOUT_S), timeout=DEPLOY_TIMEOUT_S + 60)

    def settle_after(self, *args: str) -> None:
        """Run a lab command, then every hook it causes (whatever the statuses end as)."""
        self.run(*args)
        self.settle()

    def settle(self) -> None:
        """Run every queued hook and every hook they cause."""
        self.run("wait", "--idle", "--timeout", "600", timeout=660)

    def status_of(self, unit: str) -> dict[str, str]:
        with open_model(self.model) as model:
            return model.workload_status(model.resolve_unit(unit))

    def action(self, unit: str, action: str, *params: str) -> dict:
        return yaml.safe_load(self.run("run", unit, action, *params).stdout)["results"]


def make_bundle(directory: Path) -> Path:
    """The shipped bundle and BGP overlay in one file, with BGP off to start with and a bridge
    mapping on every chassis that the integration must leave alone."""
    bundle = yaml.safe_load(BUNDLE.read_text())
    overlay = yaml.safe_load(OVERLAY.read_text())
    bgp = overlay["applications"]["ovn-bgp"]
    bgp["charm"] = str((OVERLAY.parent / bgp["charm"]).resolve())
    bgp["options"]["ext-connection"] = ""
    bundle["applications"]["ovn-chassis"].setdefault("options", {})["bridge-mappings"] = PRE_EXISTING_MAPPING
    for spec in bundle["applications"].values():
        spec["charm"] = str((BUNDLE.parent / spec["charm"]).resolve())
    bundle["applications"]["ovn-bgp"] = bgp
    for app, spec in overlay["applications"].items():  # options the overlay gives the bundle's own
        if app != "ovn-bgp":
            bundle["applications"][app].setdefault("options", {}).update(spec["options"])
    bundle["relations"] += overlay["relations"]
    path = directory / "bgp.yaml"
    path.write_text(yaml.safe_dump(bundle))
    return path


def cable(lab: BgpLab) -> None:
    """Add the fabric's machines and links, then make the ToRs and the external host."""
    with open_model(lab.model) as model:
        before = set(model.data["machines"])
    lab.run("add-machine", "-n", str(len(ROLES)))
    with open_model(lab.model) as model:
        new = sorted(set(model.data["machines"]) - before, key=int)
    lab.machine_ids = {f"chassis{i}": str(i) for i in range(3)} | dict(zip(ROLES, new, strict=True))
    for link in bgp_fabric.CABLES:
        (role_a, if_a), (role_b, if_b) = link.a, link.b
        lab.run("link", f"{lab.machine_ids[role_a]}:{if_a}", f"{lab.machine_ids[role_b]}:{if_b}")
    for tor in ("tor1", "tor2"):
        lab.on(tor, "sh", "-c", bgp_fabric.tor_setup_script(tor))
    lab.on("external", "sh", "-c", bgp_fabric.EXTERNAL_HOST_SCRIPT)
    for index in range(3):
        lab.on(f"chassis{index}", "sh", "-c", bgp_fabric.chassis_nic_script(["eth2", "ext-b"]))


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[BgpLab]:
    model = model_name(MODEL)
    lab = BgpLab(model)
    lab.run("destroy", check=False)
    try:
        bundle = make_bundle(tmp_path_factory.mktemp(model))
        lab.run("deploy", str(bundle), "--config", f"update-status-hook-interval={UPDATE_STATUS_INTERVAL}")
        cable(lab)  # before any hook runs: the machines come cabled, as in a rack
        lab.wait()
        yield lab
    finally:
        lab.run("destroy", timeout=300)
        assert lab_leftovers(model) == [], "destroy left lab resources behind"


@pytest.fixture(scope="module")
def before_enable(lab: BgpLab) -> dict[str, dict[str, str]]:
    """Every chassis machine and the Northbound as they are with BGP off."""
    return snapshot(lab)


def snapshot(lab: BgpLab) -> dict[str, dict[str, str]]:
    taken = {
        f"chassis{index}": {name: lab.on(f"chassis{index}", *argv).stdout for name, argv in MACHINE_SNAPSHOT.items()}
        for index in range(3)
    }
    taken["northbound"] = {
        "show": lab.exec("ovn-central/0", "ovn-nbctl", "show").stdout,
        "global": lab.exec("ovn-central/0", "ovn-nbctl", "get", "NB_Global", ".", "external_ids").stdout,
    }
    return taken


def bgp_units() -> list[str]:
    return [f"ovn-bgp/{n}" for n in range(3)]


def unit_on(lab: BgpLab, role: str) -> str:
    """The ovn-bgp unit on a chassis machine."""
    with open_model(lab.model) as model:
        return next(
            unit for unit, spec in model.units.items()
            if unit.startswith("ovn-bgp/") and spec["machine"] == lab.machine_ids[role]
        )


def established(lab: BgpLab, unit: str) -> list[str]:
    protocols = json.loads(lab.action(unit, "show-protocols")["protocols"])
    return sorted(p["name"] for p in protocols if p["info"].startswith("Established"))


@retry(retry=retry_if_exception_type(AssertionError), stop=stop_after_delay(SESSION_DEADLINE_S), wait=wait_fixed(2), reraise=True)
def wait_for_sessions(lab: BgpLab, unit: str, expected: list[str]) -> None:
    assert established(lab, unit) == expected


def learned_routes(lab: BgpLab) -> set[tuple[str, str, str]]:
    """SB Learned_Route as (prefix, next hop, logical port name)."""
    def rows(table: str, columns: str) -> list[list]:
        listed = lab.exec("ovn-central/0", "ovn-sbctl", "--format=json", f"--columns={columns}", "list", table).stdout
        return json.loads(listed)["data"]

    ports = {uuid[1]: name for uuid, name in rows("Port_Binding", "_uuid,logical_port")}
    return {(prefix, nexthop, ports.get(port[1], port[1])) for prefix, nexthop, port in rows("Learned_Route", "ip_prefix,nexthop,logical_port")}


def guest_router(lab: BgpLab) -> str:
    return f"lr-{lab.host('chassis0')}-microovn"


# --- enabled on eth2 ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def enabled(lab: BgpLab, before_enable: dict) -> BgpLab:
    lab.settle_after("config", "ovn-bgp", "ext-connection=eth2")
    lab.wait()
    return lab


def router_tunnel_keys(lab: BgpLab) -> dict[str, int]:
    """Router name -> the tunnel key northd gave its datapath (the table OVN writes routes to)."""
    listed = lab.exec("ovn-central/0", "ovn-sbctl", "--format=json", "--columns=tunnel_key,external_ids", "list", "Datapath_Binding").stdout
    keys = {}
    for key, external_ids in json.loads(listed)["data"]:
        name = dict(external_ids[1]).get("name", "")
        if name.endswith("-microovn"):
            keys[name] = key
    return keys


def test_every_unit_is_active_with_an_as_and_a_table_of_its_own(enabled: BgpLab):
    asns, tables = set(), {}
    for index in range(3):
        status = enabled.status_of(unit_on(enabled, f"chassis{index}"))
        found = re.fullmatch(r"BGP on eth2: AS (\d+), table (\d+) with policy rules \(no VRF in the kernel\)", status["message"])
        assert status["name"] == "active" and found, status
        asns.add(found[1])
        tables[f"lr-{enabled.host(f'chassis{index}')}-microovn"] = int(found[2])
    assert len(asns) == 3, "every unit has an AS number of its own"
    # The three units enabled at once; each router still got its own tunnel key, the unit's table.
    assert router_tunnel_keys(enabled) == tables


def test_each_chassis_peers_with_its_own_tor(enabled: BgpLab):
    for role, tor in (("chassis0", "tor1"), ("chassis1", "tor2")):
        wait_for_sessions(enabled, unit_on(enabled, role), ["dyn_microovn_eth2_1"])
        summary = json.loads(enabled.on(tor, "vtysh", "-c", "show bgp summary json").stdout)
        peer = summary["ipv4Unicast"]["peers"]["swp1"]
        assert peer["state"] == "Established", peer


TENANT_COMMANDS = (
    # The guest port must not learn the fabric's routes: every port of a router with dynamic
    # routing learns them unless its dynamic-routing-port-name says which interface is its own
    # (docs/how-to/bgp.md); a name that maps to no interface learns nothing.
    ["lrp-add", "{router}", "lrp-guest", "02:00:ff:00:00:01", "192.168.10.1/24", "fd00::1/64",
     "--", "set", "Logical_Router_Port", "lrp-guest", "options:dynamic-routing-port-name=lrp-guest"],
    ["ls-add", "ls-guest"],
    ["lsp-add", "ls-guest", "ls-guest-router", "--", "lsp-set-type", "ls-guest-router", "router",
     "--", "lsp-set-addresses", "ls-guest-router", "router",
     "--", "lsp-set-options", "ls-guest-router", "router-port=lrp-guest"],
    ["lsp-add", "ls-guest", "guest1", "--", "lsp-set-addresses", "guest1", f"02:00:00:00:10:10 {GUEST_V4} {GUEST_V6}"],
    ["lr-nat-add", "{router}", "dnat_and_snat", FIP_V4, GUEST_V4],
    ["lr-nat-add", "{router}", "dnat_and_snat", FIP_V6, GUEST_V6],
    ["lb-add", "lb-v4", f"{VIP_V4}:80", f"{GUEST_V4}:{SERVER_PORT}", "tcp"],
    ["lb-add", "lb-v6", f"[{VIP_V6}]:80", f"[{GUEST_V6}]:{SERVER_PORT}", "tcp"],
    ["lr-lb-add", "{router}", "lb-v4"],
    ["lr-lb-add", "{router}", "lb-v6"],
)
TENANT_UNDO = (
    ["--if-exists", "lr-lb-del", "{router}"], ["--if-exists", "lb-del", "lb-v4"], ["--if-exists", "lb-del", "lb-v6"],
    ["--if-exists", "lr-nat-del", "{router}"], ["--if-exists", "ls-del", "ls-guest"],
    ["--if-exists", "lrp-del", "lrp-guest"],
)
GUEST_VM = "bgp-guest1"


def nbctl_each(lab: BgpLab, commands: tuple[list[str], ...]) -> None:
    router = guest_router(lab)
    for command in commands:
        lab.exec("ovn-central/0", "ovn-nbctl", *(part.format(router=router) for part in command))


def remove_tenant(lab: BgpLab) -> None:
    """The operator's own objects go before BGP is disabled (the integration removes only its
    own); again at the end, when the router may be gone with the integration."""
    vms.vm_delete(GUEST_VM)
    routers = lab.exec("ovn-central/0", "ovn-nbctl", "--bare", "--columns=name", "list", "Logical_Router").stdout.split()
    nbctl_each(lab, tuple(c for c in TENANT_UNDO if guest_router(lab) in routers or "{router}" not in c))


@pytest.fixture(scope="module")
def tenant(enabled: BgpLab) -> Iterator[BgpLab]:
    """A guest network on chassis 0's BGP router, as MicroOVN's BGP data plane test builds it: a
    VM with dnat_and_snat addresses (IPv4, IPv6) and load balancer VIPs, serving HTTP."""
    nbctl_each(enabled, TENANT_COMMANDS)
    machine = machines.load_machine(enabled.host("chassis0"))
    vms.vm_add(machine, GUEST_VM, "02:00:00:00:10:10", [f"{GUEST_V4}/24"], iface_id="guest1", gateway="192.168.10.1")
    vms.vm_exec(GUEST_VM, ["ip", "-6", "addr", "add", f"{GUEST_V6}/64", "dev", "eth0", "nodad"], check=True)
    vms.vm_exec(GUEST_VM, ["ip", "-6", "route", "add", "default", "via", "fd00::1"], check=True)
    server = subprocess.Popen(
        ["ip", "netns", "exec", vms.vm_netns(GUEST_VM), "python3", "-m", "http.server", str(SERVER_PORT), "--bind", "::"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd="/tmp",
    )
    try:
        yield enabled
    finally:
        server.terminate()
        server.wait(timeout=10)
        remove_tenant(enabled)


def tor_route(lab: BgpLab, tor: str, prefix: str) -> dict:
    family = "ipv6" if ":" in prefix else "ipv4"
    return json.loads(lab.on(tor, "vtysh", "-c", f"show bgp {family} unicast {prefix} json").stdout)


@retry(retry=retry_if_exception_type(AssertionError), stop=stop_after_delay(60), wait=wait_fixed(1), reraise=True)
def wait_for_tor_routes(lab: BgpLab, tor: str, prefixes: list[str]) -> None:
    missing = [prefix for prefix in prefixes if not tor_route(lab, tor, prefix).get("paths")]
    assert missing == [], f"{tor} has no route to {missing}"


def router_port_link_local(lab: BgpLab, port: str) -> str:
    """The router port's IPv6 link-local address (EUI-64 of its MAC)."""
    mac = lab.exec("ovn-central/0", "ovn-nbctl", "get", "Logical_Router_Port", port, "mac").stdout.strip().strip('"')
    octets = [int(part, 16) for part in mac.split(":")]
    eui64 = [octets[0] ^ 0x02, *octets[1:3], 0xFF, 0xFE, *octets[3:]]
    return "fe80::" + ":".join(f"{eui64[i]:02x}{eui64[i + 1]:02x}" for i in range(0, 8, 2))


def introduce_tor(lab: BgpLab, tor: str, tor_port: str, interface: str) -> None:
    """The ToR pings chassis 0's router port on `interface` once, so that OVN has the ToR's MAC
    (Mac_Binding) for the next hop of the routes it learned: BGP and BFD go to the -bgp veth,
    and until the ToR sends the router port anything else, 25.03 may have no binding for it."""
    address = router_port_link_local(lab, f"lrp-{lab.host('chassis0')}-{interface}")
    lab.on(tor, "ping", "-c3", "-W1", f"{address}%{tor_port}", check=False)


def test_the_tor_learns_the_guest_addresses_and_ovn_learns_the_default_routes(tenant: BgpLab):
    wait_for_tor_routes(tenant, "tor1", [f"{FIP_V4}/32", f"{VIP_V4}/32", f"{FIP_V6}/128", f"{VIP_V6}/128"])
    port = f"lrp-{tenant.host('chassis0')}-eth2"
    learned = {(prefix, name) for prefix, _, name in learned_routes(tenant)}
    assert {("0.0.0.0/0", port), ("::/0", port)} <= learned, learned


@retry(retry=retry_if_exception_type(AssertionError), stop=stop_after_delay(60), wait=wait_fixed(1), reraise=True)
def assert_reaches(lab: BgpLab, *argv: str) -> None:
    result = lab.on("external", *argv, check=False)
    assert result.returncode == 0, f"{argv}: {result.stdout}{result.stderr}"


HTTP_GET = "import sys, urllib.request; print(urllib.request.urlopen(sys.argv[1], timeout=3).status)"


def test_the_external_host_reaches_the_guest_over_the_bgp_routes(tenant: BgpLab):
    introduce_tor(tenant, "tor1", "swp1", "eth2")
    assert_reaches(tenant, "ping", "-c", "3", "-W", "1", FIP_V4)
    assert_reaches(tenant, "ping", "-6", "-c", "3", "-W", "1", FIP_V6)
    assert_reaches(tenant, "python3", "-c", HTTP_GET, f"http://{VIP_V4}/")
    assert_reaches(tenant, "python3", "-c", HTTP_GET, f"http://[{VIP_V6}]/")
    # ... through the route tor1 learned over BGP from chassis 0
    for prefix in (f"{FIP_V4}/32", f"{VIP_V4}/32", f"{FIP_V6}/128", f"{VIP_V6}/128"):
        family = "-6" if ":" in prefix else "-4"
        route = tenant.on("tor1", "ip", family, "route", "show", "exact", prefix).stdout
        assert "proto bgp" in route and "dev swp1" in route, route


def test_the_status_actions_list_the_bgp_service(tenant: BgpLab):
    assert json.loads(tenant.action("ovn-bgp/0", "status")["services"]) == {"bgp": True}
    report = json.loads(tenant.action("ovn-central/0", "status", "format=json")["status"])
    hosts = {tenant.host(f"chassis{index}") for index in range(3)}
    assert {m["name"]: m["services"] for m in report["members"]} == dict.fromkeys(
        hosts, ["central", "chassis", "switch", "bgp"]
    )


# --- two interfaces: ECMP, and BFD failover -----------------------------------------------------

PING_INTERVAL_S = 0.01


def longest_gap(sent: int, answered: set[int]) -> int:
    """The longest run of unanswered echo sequence numbers below `sent`."""
    longest = run = 0
    for seq in range(1, sent):
        run = 0 if seq in answered else run + 1
        longest = max(longest, run)
    return longest


def ping_through_a_cut(lab: BgpLab, address: str, cut: list[str], replies_before: int = 100, replies_after: int = 300) -> tuple[int, int]:
    """Ping `address` from the external host every 10 ms; after `replies_before` replies run `cut`
    on tor1; stop once `replies_after` more came back. Returns (longest gap in echoes, sent)."""
    netns = machines.load_machine(lab.host("external")).netns
    ping = subprocess.Popen(
        ["ip", "netns", "exec", netns, "ping", "-n", "-i", str(PING_INTERVAL_S), "-W", "1", address],
        stdout=subprocess.PIPE, text=True,
    )
    answered: set[int] = set()
    deadline = time.monotonic() + 60
    try:
        assert ping.stdout is not None
        for line in ping.stdout:
            if found := re.search(r"icmp_seq=(\d+)", line):
                answered.add(int(found[1]))
            if len(answered) == replies_before:
                lab.on("tor1", *cut)
            if len(answered) >= replies_before + replies_after or time.monotonic() > deadline:
                break
    finally:
        ping.send_signal(signal.SIGINT)
        ping.communicate(timeout=10)
    assert len(answered) >= replies_before + replies_after, f"traffic stopped after the cut: {len(answered)} replies"
    sent = max(answered) + 1
    return longest_gap(sent, answered), sent


@pytest.fixture
def two_links(tenant: BgpLab) -> Iterator[BgpLab]:
    tenant.settle_after("config", "ovn-bgp", "ext-connection=eth2,ext-b")
    try:
        yield tenant
    finally:
        tenant.on("tor1", "ip", "link", "set", "swp1", "up")
        tenant.settle_after("config", "ovn-bgp", "ext-connection=eth2")


def test_two_interfaces_peer_with_two_tors_learn_both_next_hops_and_bfd_keeps_traffic_flowing(
    two_links: BgpLab, request: pytest.FixtureRequest
):
    lab, host = two_links, two_links.host("chassis0")
    wait_for_sessions(lab, unit_on(lab, "chassis0"), ["dyn_microovn_eth2_1", "dyn_microovn_ext_b_1"])
    assert lab.status_of(unit_on(lab, "chassis0"))["message"].startswith("BGP on eth2,ext-b: AS ")

    @retry(retry=retry_if_exception_type(AssertionError), stop=stop_after_delay(60), wait=wait_fixed(1), reraise=True)
    def both_next_hops() -> None:
        ports = {name for prefix, _, name in learned_routes(lab) if prefix == "0.0.0.0/0"}
        assert {f"lrp-{host}-eth2", f"lrp-{host}-ext-b"} <= ports, ports

    both_next_hops()
    introduce_tor(lab, "tor2", "swp3", "ext-b")
    assert "lrp-guest" in lab.exec("ovn-central/0", "ovn-nbctl", "show", guest_router(lab)).stdout, "the operator's port was removed"
    assert_reaches(lab, "ping", "-c", "3", "-W", "1", FIP_V4)
    gap, sent = ping_through_a_cut(lab, FIP_V4, ["ip", "link", "set", "swp1", "down"])
    gap_ms = round(gap * PING_INTERVAL_S * 1000)
    request.node.user_properties.append((MEASURED, f"BFD failover (tor1-chassis 0 link cut): {gap} echoes lost in a row = ~{gap_ms} ms, of {sent} sent every 10 ms"))
    assert established(lab, unit_on(lab, "chassis0")) == ["dyn_microovn_ext_b_1"]


# --- manual BIRD configuration -----------------------------------------------------------------


def test_manual_bgpd_config_sets_up_ovn_and_the_interfaces_and_leaves_bird_alone(tenant: BgpLab):
    unit, host = unit_on(tenant, "chassis0"), tenant.host("chassis0")
    operator_config = "# the operator's own\nlog syslog all;\nprotocol device {}\n"
    tenant.settle_after("config", "ovn-bgp", "manual-bgpd-config=true")
    try:
        machines.load_machine(host).write_file("/etc/bird/bird.conf", operator_config)
        tenant.settle_after("config", "ovn-bgp", "ext-connection=eth2,ext-b")  # a change BIRD would follow
        assert tenant.on("chassis0", "cat", "/etc/bird/bird.conf").stdout == operator_config
        assert re.fullmatch(r"BGP on eth2,ext-b: BIRD configured by the operator, table \d+ .*", tenant.status_of(unit)["message"])
        assert f"lrp-{host}-ext-b" in tenant.exec("ovn-central/0", "ovn-nbctl", "show", guest_router(tenant)).stdout
        assert tenant.on("chassis0", "ovs-vsctl", "br-exists", "br-ext-b", check=False).returncode == 0
        assert tenant.on("chassis0", "ip", "link", "show", "vext-b-bgp", check=False).returncode == 0
    finally:
        tenant.settle_after("config", "ovn-bgp", "manual-bgpd-config=false", "ext-connection=eth2")
    assert "vext-b-bgp" not in tenant.on("chassis0", "cat", "/etc/bird/bird.conf").stdout
    wait_for_sessions(tenant, unit, ["dyn_microovn_eth2_1"])


# --- disable: everything as before ------------------------------------------------------------


def differing(before: dict[str, dict[str, str]], after: dict[str, dict[str, str]]) -> list[str]:
    return [f"{machine} {name}" for machine, outputs in before.items() for name, text in outputs.items()
            if after[machine][name] != text]


def assert_as_before(lab: BgpLab, before: dict) -> None:
    after = snapshot(lab)
    assert differing(before, after) == []
    for index in range(3):
        assert PRE_EXISTING_MAPPING in after[f"chassis{index}"]["mappings"]


def test_disable_leaves_every_machine_and_the_northbound_as_before_enable(tenant: BgpLab, before_enable: dict):
    remove_tenant(tenant)
    tenant.settle_after("config", "ovn-bgp", "ext-connection=")
    assert_as_before(tenant, before_enable)
    assert tenant.on("chassis0", "systemctl", "is-active", "bird", check=False).stdout.strip() == "inactive"
    backups = tenant.on("chassis0", "ls", "/etc/bird").stdout.split()
    assert any(re.fullmatch(r"bird\.conf_\d+", name) for name in backups), backups
    assert tenant.status_of("ovn-bgp/0") == {"name": "active", "message": "BGP integration off (ext-connection is empty)"}


def revive_frr_neighbour(lab: BgpLab, tor: str, port: str) -> None:
    """FRR 10.3 (the ToRs') keeps an interface neighbour with BFD Idle for good once its BFD
    session went down while BGP was down (FRRouting/frr#18742, #18631): here, BIRD was stopped by
    the disable. A flap of the ToR's port makes it try again; `clear bgp` does not."""
    lab.on(tor, "sh", "-c", f"ip link set dev {port} down && ip link set dev {port} up")


def test_removing_the_subordinate_relation_removes_the_units_and_everything_they_made(lab: BgpLab, before_enable: dict):
    lab.settle_after("config", "ovn-bgp", "ext-connection=eth2")
    lab.wait()
    revive_frr_neighbour(lab, "tor1", "swp1")
    wait_for_sessions(lab, unit_on(lab, "chassis0"), ["dyn_microovn_eth2_1"])
    lab.settle_after("remove-relation", "ovn-bgp:chassis", "ovn-chassis:juju-info")
    with open_model(lab.model) as model:
        assert [unit for unit in model.units if unit.startswith("ovn-bgp/")] == []
    assert_as_before(lab, before_enable)
