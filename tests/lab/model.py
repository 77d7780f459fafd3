"""The lab's stand-in for a Juju controller: one model, its units, and the hooks Juju would run.

A model is a JSON document under LAB_HOME/models/<name>/ (so it survives between CLI invocations):
machines, applications, units with their event queues, relations with their databags, secrets,
leadership. Hooks run on the unit's machine through tests/lab/agent.py, one process per hook,
and at most one hook at a time per machine (Juju's machine lock), machines in parallel. After a
hook the model records what the charm changed and queues what Juju would queue: relation-changed
on the other side of a changed databag, secret-changed for consumers, and so on.
"""

from __future__ import annotations

import copy
import fcntl
import hashlib
import json
import random
import re
import shutil
import subprocess
import uuid
from collections.abc import Iterator, Mapping
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import yaml

from tests.lab import action_params, charm_archive, charm_config, fault, machines, network, paths

JUJU_VERSION = "3.6.0"
AGENT_PYTHON = "/usr/bin/python3"  # the machine's own: the charms bring their dependencies
AGENT_DIR = "/var/lib/juju/lab"
AGENT_PROGRAMS = ("agent.py", "toolclient.py", "hooktools.py", "juju_log.py", "fault.py")  # the agent, its hook tools, the fault hook
HOOK_TIMEOUT_S = 900
# Spaces the lab offers to bundle `bindings:`, and the machine network each one is.
SPACES = {"alpha": "lab0", "underlay": "lab1"}
SPACE_BRIDGES = {"lab0": "br-phy", "lab1": "br-data"}
DEFAULT_SPACE = "alpha"
STATUS_HISTORY = 100  # workload statuses kept per unit (show-status-log)
# Model config the lab knows, with its defaults. update-status-hook-interval is Juju's (same
# default and bounds); leader-lease-timeout is the lab's: Juju's leader holds a 60 s lease that
# its agent renews every 30 s, so another unit leads 30-60 s after the leader's machine died;
# the lab takes the worst case.
MODEL_CONFIG_DEFAULTS = {"update-status-hook-interval": "5m", "leader-lease-timeout": "60s"}
UPDATE_STATUS_BOUNDS_S = (60.0, 3600.0)
# Juju 3 spreads update-status: each wait is the interval +/- 20 %.
UPDATE_STATUS_JITTER = 0.2
# Workload status severities, as Juju derives an application's status from its units'.
STATUS_SEVERITY = {"error": 100, "blocked": 90, "maintenance": 80, "waiting": 70, "active": 60, "terminated": 50, "unknown": 40}
GO_DURATION_PART = re.compile(r"(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|ms|s|m|h)")
GO_DURATION_UNITS_S = {"ns": 1e-9, "us": 1e-6, "µs": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0, "h": 3600.0}
# Juju gives every charm this provider endpoint without its metadata declaring it (Juju docs,
# reference/application, "Application endpoint"); subordinates attach to any principal through it.
IMPLICIT_ENDPOINT = {"juju-info": {"role": "provides", "interface": "juju-info", "scope": "global"}}
# Linux refuses longer interface names (IFNAMSIZ 16, with the terminating NUL) and, in
# dev_valid_name(), '.' and '..' and names with '/', ':' or whitespace.
MAX_INTERFACE_NAME = 15
INTERFACE_NAME_FORBIDDEN = re.compile(r"[/:\s]")


# Hooks a test may run again on a settled unit (Model.rerun_hook).
RERUNNABLE_HOOKS = frozenset({
    "install", "start", "config_changed", "upgrade_charm", "update_status", "leader_elected", "leader_settings_changed",
    "relation_changed",
})


class LabError(RuntimeError):
    """A lab command cannot be carried out; the message says why."""


def models_dir() -> Path:
    return paths.LAB_HOME / "models"


def model_dir(name: str) -> Path:
    return models_dir() / name


@contextmanager
def open_model(name: str, *, create: bool = False) -> Iterator[Model]:
    """Load a model under an exclusive lock and save it when the block ends (also on error)."""
    directory = model_dir(name)
    if not create and not (directory / "model.json").exists():
        raise LabError(f"model {name!r} does not exist: deploy a bundle first")
    directory.mkdir(parents=True, exist_ok=True)
    with (directory / "lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        model = Model.load(name)
        try:
            model.catch_up(datetime.now(UTC).timestamp())
            yield model
        finally:
            if model.data is not None:
                model.save()


def read_model(name: str) -> Model:
    """The model as last saved, without the lock: what `juju status` shows while hooks run
    (the hook runner saves after every hook it applies). Never saved back."""
    if not (model_dir(name) / "model.json").exists():
        raise LabError(f"model {name!r} does not exist: deploy a bundle first")
    return Model.load(name)


def charm_metadata(charm: Path) -> dict[str, Any]:
    """The deployed .charm's metadata.yaml, with its config.yaml under `config` and its
    actions.yaml under `actions`."""
    try:
        return charm_archive.metadata(charm)
    except charm_archive.CharmError as error:
        raise LabError(str(error)) from None


def resolve_charm(bundle_dir: Path, charm: str) -> Path:
    """The .charm to deploy for a bundle's `charm:` entry (a source directory or a packed file):
    the lab variant tools/pack-charms builds, as the lab stores it (charm_archive.py)."""
    try:
        return charm_archive.resolve(bundle_dir, charm)
    except charm_archive.CharmError as error:
        raise LabError(str(error)) from None


def coerce_option(options: dict[str, Any], key: str, value: Any) -> Any:
    """A bundle option's YAML value as Juju takes it (charm_config.from_yaml; None: the default),
    or LabError in Juju's words."""
    try:
        return charm_config.from_yaml(options, key, value)
    except charm_config.OptionError as e:
        raise LabError(str(e)) from None


def endpoints_of(meta: dict[str, Any]) -> dict[str, dict[str, str]]:
    """endpoint -> {role, interface, scope} from charm metadata, with Juju's implicit `juju-info`."""
    result = copy.deepcopy(IMPLICIT_ENDPOINT)
    for role in ("peers", "requires", "provides"):
        for name, spec in (meta.get(role) or {}).items():
            result[name] = {"role": role, "interface": spec["interface"], "scope": spec.get("scope", "global")}
    return result


def is_subordinate(meta: dict[str, Any]) -> bool:
    return bool(meta.get("subordinate"))


Endpoint = tuple[str, str]  # (application, endpoint name)


def infer_endpoints(
    a: str, b: str, endpoints: Mapping[str, dict[str, dict[str, str]]], subordinates: set[str]
) -> tuple[Endpoint, Endpoint]:
    """The endpoints `juju integrate a b` relates (`app` or `app:endpoint` each), chosen as Juju's
    InferEndpoints does (juju/juju state/state.go): every provides/requires pair of one interface
    between the two applications, a container-scoped pair only where one side is a subordinate
    (containerScopeOk); where that leaves several, the pairs without the implicit juju-info
    endpoint; refused with Juju's words when none or still several remain."""

    def possible(spec: str) -> list[Endpoint]:
        app, _, name = spec.partition(":")
        if app not in endpoints:
            raise LabError(f'application "{app}" not found')
        if name and name not in endpoints[app]:
            raise LabError(f'application "{app}" has no "{name}" relation')
        return [(app, n) for n in ([name] if name else endpoints[app]) if endpoints[app][n]["role"] != "peers"]

    def can_relate(x: Endpoint, y: Endpoint) -> bool:
        ex, ey = endpoints[x[0]][x[1]], endpoints[y[0]][y[1]]
        container = "container" in (ex["scope"], ey["scope"])
        return (
            x[0] != y[0] and ex["interface"] == ey["interface"] and {ex["role"], ey["role"]} == {"provides", "requires"}
            and (not container or bool({x[0], y[0]} & subordinates))
        )

    def implicit(ep: Endpoint) -> bool:
        return ep[1] in IMPLICIT_ENDPOINT

    candidates = [(x, y) for x in possible(a) for y in possible(b) if can_relate(x, y)]
    if not candidates:
        raise LabError("no relations found")
    if len(candidates) > 1:
        candidates = [pair for pair in candidates if not (implicit(pair[0]) or implicit(pair[1]))] or candidates
    if len(candidates) > 1:
        keys = "; ".join(sorted(f'"{relation_key(pair)}"' for pair in candidates))
        raise LabError(f'ambiguous relation: "{a} {b}" could refer to {keys}')
    return candidates[0]


def relation_key(endpoints: tuple[Endpoint, ...] | list[list[str]]) -> str:
    """Juju's name of a relation: its endpoints as `app:endpoint`, sorted, space-separated."""
    return " ".join(sorted(f"{app}:{name}" for app, name in endpoints))


def subordinate_errors(applications: dict[str, Any], subordinates: set[str]) -> list[str]:
    """A bundle's subordinate applications that ask for units, refused as Juju's bundle
    verifier refuses them (juju/charm bundledata.go)."""
    errors = []
    for app in sorted(subordinates):
        spec = applications[app] or {}
        if spec.get("to"):
            errors.append(f'application "{app}" is subordinate but specifies unit placement')
        if int(spec.get("num_units") or 0) > 0:
            errors.append(f'application "{app}" is subordinate but has non-zero num_units')
    return errors


def merge_overlay(bundle: dict[str, Any], overlay: dict[str, Any], overlay_dir: Path) -> dict[str, Any]:
    """The bundle with an overlay applied, as `juju deploy --overlay` merges it (Juju docs, "How
    to manage charms or bundles", overlay bundles): an application's keys replace the bundle's,
    its `options`, `bindings` and `annotations` key by key; an application given no value is
    removed with its relations; relations are appended; machines are added. A local charm path
    (`./...`, `../...`) is relative to the overlay's own directory."""
    merged = copy.deepcopy(bundle)
    apps = merged.setdefault("applications", {}) or {}
    merged["applications"] = apps
    relations = list(merged.get("relations") or [])
    for app, spec in (overlay.get("applications") or {}).items():
        if spec is None:
            apps.pop(app, None)
            relations = [pair for pair in relations if app not in {end.partition(":")[0] for end in pair}]
            continue
        target = apps.setdefault(app, {})
        for key, value in spec.items():
            if key == "charm" and str(value).startswith("."):
                value = str((overlay_dir / value).resolve())
            if key in ("options", "bindings", "annotations") and isinstance(value, dict):
                target[key] = {**(target.get(key) or {}), **value}
            else:
                target[key] = value
    merged["relations"] = relations + list(overlay.get("relations") or [])
    if overlay.get("machines"):
        merged["machines"] = {**(merged.get("machines") or {}), **overlay["machines"]}
    return merged


def checked_interface_name(name: str) -> str:
    """A name Linux accepts for a network interface, else a LabError saying why."""
    if not name or len(name) > MAX_INTERFACE_NAME or name in (".", "..") or INTERFACE_NAME_FORBIDDEN.search(name):
        raise LabError(
            f"invalid interface name {name!r}: 1 to {MAX_INTERFACE_NAME} characters, "
            "no '/', ':' or whitespace, not '.' or '..'"
        )
    return name


def link_name_clash(links: list[dict[str, list[str]]], ends: list[tuple[str, str]]) -> str | None:
    """Which end of a new link takes an interface name the model's links already use on that
    machine (or the other end of the same link), if any."""
    taken = [tuple(end) for link in links for end in (link["a"], link["b"])]
    for position, end in enumerate(ends):
        if end in taken or end in ends[:position]:
            return f"machine {end[0]} already has an interface {end[1]!r}"
    return None


def parse_duration(text: str) -> float:
    """Seconds in a Go duration (`5m`, `1m30s`, `90s`), as Juju's model config takes it."""
    if text == "0":
        return 0.0
    if not re.fullmatch(f"(?:{GO_DURATION_PART.pattern})+", text):
        raise LabError(f'time: invalid duration "{text}"')
    return sum(float(number) * GO_DURATION_UNITS_S[unit] for number, unit in GO_DURATION_PART.findall(text))


def checked_model_config(key: str, value: str) -> str:
    """A model config value, refused with Juju's message where Juju refuses it."""
    if key not in MODEL_CONFIG_DEFAULTS:
        raise LabError(f"unknown model config key {key!r}; the lab has {', '.join(sorted(MODEL_CONFIG_DEFAULTS))}")
    seconds = parse_duration(value)
    if key == "update-status-hook-interval":
        low, high = UPDATE_STATUS_BOUNDS_S
        if seconds < low:
            raise LabError(f"update status hook frequency {value} cannot be less than 1m")
        if seconds > high:
            raise LabError(f"update status hook frequency {value} cannot be greater than 60m")
    return value


def new_application(
    charm_dir: str, config: dict[str, Any], bindings: dict[str, str], *, subordinate: bool = False
) -> dict[str, Any]:
    return {
        "charm_dir": charm_dir,
        "subordinate": subordinate,
        "config": config,
        "bindings": bindings,
        "leader": None,
        "leader_term": 0,  # bumped at each change of leader, as Juju's leadership version
        "next_unit": 0,
        "units": [],
        "status": {"name": "unknown", "message": ""},
    }


def derived_status(statuses: list[dict[str, str]]) -> dict[str, str]:
    """Juju's application status when the leader set none: the first most severe unit status."""
    result = {"name": "unknown", "message": ""}
    for status in statuses:
        if STATUS_SEVERITY.get(status["name"], 0) > STATUS_SEVERITY[result["name"]]:
            result = status
    return result


class Model:
    """One lab model. Mutating methods only queue hooks; `run_hooks` runs them."""

    def __init__(self, name: str, data: dict[str, Any]):
        self.name = name
        self.data = data

    # --- persistence --------------------------------------------------------------------------

    @classmethod
    def load(cls, name: str) -> Model:
        path = model_dir(name) / "model.json"
        if path.exists():
            return cls(name, json.loads(path.read_text()))
        return cls.new(name)

    @classmethod
    def new(cls, name: str) -> Model:
        return cls(
            name,
            {
                "uuid": str(uuid.uuid4()),
                "machines": {},
                "applications": {},
                "units": {},
                "relations": {},
                "secrets": {},
                "next_relation_id": 0,
                "next_event": 0,
                "clock_offset_s": 0,
                "config": {},
            },
        )

    def save(self) -> None:
        path = model_dir(self.name) / "model.json"
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(self.data, indent=1, sort_keys=True))
        tmp.replace(path)

    # --- lookups ------------------------------------------------------------------------------

    @property
    def units(self) -> dict[str, dict[str, Any]]:
        return self.data["units"]

    @property
    def apps(self) -> dict[str, dict[str, Any]]:
        return self.data["applications"]

    @property
    def underlay(self) -> str:
        """Address families of the model's machine networks (`deploy --underlay`)."""
        return self.data.get("underlay", "ipv4")

    def app_of(self, unit: str) -> str:
        return unit.split("/")[0]

    def unit_number(self, unit: str) -> int:
        return int(unit.split("/")[1])

    def resolve_unit(self, name: str) -> str:
        """`app/N` or `app/leader` to a unit name."""
        app, _, which = name.partition("/")
        if which == "leader":
            if app not in self.apps or not self.apps[app]["leader"]:
                raise LabError(f"application {app!r} has no leader")
            return self.apps[app]["leader"]
        if name not in self.units:
            raise LabError(f"unit {name!r} does not exist; units: {', '.join(sorted(self.units))}")
        return name

    def machine_of(self, unit: str) -> machines.Machine:
        return machines.load_machine(self.data["machines"][self.units[unit]["machine"]]["host"])

    def machine(self, machine_id: str) -> machines.Machine:
        if machine_id not in self.data["machines"]:
            raise LabError(
                f"model {self.name!r} has no machine {machine_id!r}; machines: {', '.join(sorted(self.data['machines']))}"
            )
        return machines.load_machine(self.data["machines"][machine_id]["host"])

    def resolve_target(self, target: str) -> machines.Machine:
        """A machine id (as `juju exec --machine`) or a unit (`--unit`): the machine to run on."""
        if target in self.data["machines"]:
            return self.machine(target)
        return self.machine_of(self.resolve_unit(target))

    def meta(self, app: str) -> dict[str, Any]:
        return charm_metadata(Path(self.apps[app]["charm_dir"]))

    # --- deployment ---------------------------------------------------------------------------

    def deploy(self, bundle_path: Path, overlays: list[Path] | None = None) -> None:
        """`juju deploy BUNDLE [--overlay FILE]...`: the bundle is checked as Juju's verifier
        checks it before any machine is made."""
        bundle = yaml.safe_load(bundle_path.read_text())
        for overlay in overlays or []:
            bundle = merge_overlay(bundle, yaml.safe_load(overlay.read_text()) or {}, overlay.parent)
        if self.apps:
            raise LabError(f"model {self.name!r} already has applications: destroy it first")
        applications = bundle.get("applications") or {}
        charms = {app: resolve_charm(bundle_path.parent, spec["charm"]) for app, spec in applications.items()}
        metas = {app: charm_metadata(charm) for app, charm in charms.items()}
        subordinates = {app for app, meta in metas.items() if is_subordinate(meta)}
        if errors := subordinate_errors(applications, subordinates):
            raise LabError("the provided bundle has the following errors:\n" + "\n".join(errors))
        for machine_id in bundle.get("machines") or {}:
            self.add_machine(str(machine_id))
        for app, spec in applications.items():
            charm_dir, meta = charms[app], metas[app]
            options = (meta.get("config") or {}).get("options") or {}
            config = {k: v["default"] for k, v in options.items() if "default" in v}
            for key, value in (spec.get("options") or {}).items():
                if (typed := coerce_option(options, key, value)) is not None:
                    config[key] = typed
            bindings = spec.get("bindings") or {}
            unknown = set(bindings.values()) - set(SPACES)
            if unknown:
                raise LabError(f"{app}: unknown space(s) {sorted(unknown)}; the lab has {sorted(SPACES)}")
            self.apps[app] = new_application(str(charm_dir), config, bindings, subordinate=app in subordinates)
            peers = meta.get("peers") or {}
            for endpoint, peer_spec in peers.items():
                self._new_relation([(app, endpoint)], peer_spec["interface"], peer=True)
            placements = [str(p) for p in spec.get("to") or []]
            for n in range(int(spec.get("num_units", 0 if app in subordinates else 1))):
                self.add_unit(app, placements[n] if n < len(placements) else None)
        for name, saas in (bundle.get("saas") or {}).items():
            self.consume(name, saas["url"])
        for pair in bundle.get("relations") or []:
            self.relate(pair[0], pair[1])

    def add_machine(self, machine_id: str | None = None) -> str:
        """A new machine (`juju add-machine`), booted; its id."""
        if machine_id is None:
            machine_id = str(max((int(m) for m in self.data["machines"]), default=-1) + 1)
        host = f"juju-{self.name}-{machine_id}"
        index = allocate_index(host)
        machines.create_machine(host, index, self.underlay)
        self.data["machines"][machine_id] = {"host": host, "index": index, "state": "started"}
        return machine_id

    def add_unit(self, app: str, machine_id: str | None = None) -> str:
        spec = self.apps[app]
        if "remote" in spec:
            raise LabError(f"{app} is a remote application: add units in model {spec['remote']['model']}")
        if spec.get("subordinate"):
            # Juju's words (juju/juju state/application.go AddUnit): subordinate units come
            # only with their principal's.
            raise LabError(f'cannot add unit to application "{app}": application is a subordinate')
        if machine_id is None or machine_id not in self.data["machines"]:
            machine_id = self.add_machine(machine_id)
        unit = self.admit_unit(app, machine_id)
        for new_unit in (unit, *self.admit_subordinates_of(unit)):
            self._install_charm(new_unit)
        return unit

    def admit_unit(self, app: str, machine_id: str, principal: str | None = None) -> str:
        """Record a new unit of `app` on a machine and queue its hooks in Juju's order: install,
        relation-created for every relation its application is in (peers too), leader-elected or
        leader-settings-changed, config-changed, start, and only then relation-joined/changed
        with each remote unit, both ways. A subordinate unit names its `principal` unit."""
        spec = self.apps[app]
        unit = f"{app}/{spec['next_unit']}"
        spec["next_unit"] += 1
        spec["units"].append(unit)
        self.units[unit] = {
            "machine": machine_id,
            "principal": principal,
            "queue": [],
            "status": {"name": "waiting", "message": "agent initialising"},
            "opened_ports": [],
            "workload_version": "",
            "error": None,
            "retry_after": None,
            "failures": 0,
            "next_update_status": None,  # the timer starts once the unit has started
            "leader_term_seen": None,
        }
        relations = self._live_relations_of(app)
        self._queue(unit, {"kind": "install"})
        for rid in relations:
            self._create_membership(unit, rid)
        if spec["leader"] is None:
            spec["leader"] = unit
            spec["leader_term"] += 1
        self._queue_leadership_hook(unit)
        self._queue(unit, {"kind": "config_changed"})
        self._queue(unit, {"kind": "start"})
        for rid in relations:
            self._join_members(unit, rid)
        return unit

    def _install_charm(self, unit: str) -> None:
        """Install the agent and its hook tools on the unit's machine, and unpack the
        application's .charm into the unit's charm directory, as the Juju agent does."""
        machine = self.machine_of(unit)
        for program in AGENT_PROGRAMS:
            machine.write_file(f"{AGENT_DIR}/{program}", (Path(__file__).parent / program).read_text(), mode=0o755)
        charm = Path(self.apps[self.app_of(unit)]["charm_dir"])
        archive = f"{AGENT_DIR}/charms/{unit.replace('/', '-')}.charm"
        machine.write_file(archive, charm.read_bytes())
        unpack = machine.run([AGENT_PYTHON, f"{AGENT_DIR}/agent.py", "unpack", archive, self.charm_dir(unit)])
        machine.run(["rm", "-f", archive])
        if unpack.returncode != 0:
            raise LabError(f"{unit}: unpacking {charm.name} failed:\n{unpack.stdout}{unpack.stderr}")

    def charm_dir(self, unit: str) -> str:
        return f"/var/lib/juju/agents/unit-{unit.replace('/', '-')}/charm"

    def relate(self, a: str, b: str) -> None:
        """`juju integrate a b`, with the charms of the subordinate units it brings installed."""
        for unit in self.record_relation(a, b):
            self._install_charm(unit)

    def record_relation(self, a: str, b: str) -> list[str]:
        """The relation and its members' hooks; a container-scoped one between a subordinate
        and a principal also admits one subordinate unit per principal unit, on its machine, as
        Juju does when the principal enters the relation's scope. Returns those new units."""
        (app_a, ep_a), (app_b, ep_b) = self._infer_endpoints(a, b)
        key = relation_key(((app_a, ep_a), (app_b, ep_b)))
        if self._find_relation(key) is not None:
            raise LabError(f'cannot add relation "{key}": relation {key} already exists')
        spec_a, spec_b = endpoints_of(self.meta(app_a))[ep_a], endpoints_of(self.meta(app_b))[ep_b]
        scope = "container" if "container" in (spec_a["scope"], spec_b["scope"]) else "global"
        rid = self._new_relation([(app_a, ep_a), (app_b, ep_b)], spec_a["interface"], peer=False, scope=scope)
        remote = next((app for app in (app_a, app_b) if "remote" in self.apps[app]), None)
        if remote is not None:
            local_app, local_ep = (app_a, ep_a) if remote == app_b else (app_b, ep_b)
            self._relate_across_models(rid, local_app, local_ep, remote, spec_a["interface"])
        for app in (app_a, app_b):
            for unit in self.apps[app]["units"]:
                if unit in self.units:  # a remote application's units join through its own model
                    self._create_membership(unit, rid)
                    self._join_members(unit, rid)
        return self._admit_subordinates(rid, [u for app in (app_a, app_b) for u in self.apps[app]["units"]])

    def admit_subordinates_of(self, principal: str) -> list[str]:
        """A new principal unit's subordinate units, one per container-scoped relation to a
        subordinate application (Juju adds them as the principal enters each one's scope)."""
        new_units = []
        for rid in self._live_relations_of(self.app_of(principal)):
            new_units += self._admit_subordinates(rid, [principal])
        return new_units

    def _admit_subordinates(self, rid: str, candidates: list[str]) -> list[str]:
        relation = self.data["relations"][rid]
        apps = [app for app, _ in relation["endpoints"]]
        subordinate = next((app for app in apps if self.apps[app].get("subordinate")), None)
        if relation.get("scope") != "container" or subordinate is None or relation["peer"]:
            return []
        principal_app = next(app for app in apps if app != subordinate)
        if self.apps[principal_app].get("subordinate"):
            return []  # between two subordinates: no unit of either comes from it
        has_one = {self.units[u].get("principal") for u in self.apps[subordinate]["units"] if u in self.units}
        return [
            self.admit_unit(subordinate, self.units[principal]["machine"], principal=principal)
            for principal in candidates
            if self.app_of(principal) == principal_app and principal in self.units
            and not self.units[principal].get("dying") and principal not in has_one
        ]

    def _infer_endpoints(self, a: str, b: str) -> tuple[Endpoint, Endpoint]:
        apps = [spec.partition(":")[0] for spec in (a, b)]
        known = [app for app in apps if app in self.apps]
        endpoints = {app: self._relatable_endpoints(app) for app in known}
        subordinates = {app for app in known if self.apps[app].get("subordinate")}
        return infer_endpoints(a, b, endpoints, subordinates)

    def _relatable_endpoints(self, app: str) -> dict[str, dict[str, str]]:
        """An application's endpoints; of a remote (cross-model) one only the offered endpoint."""
        endpoints = endpoints_of(self.meta(app))
        if remote := self.apps[app].get("remote"):
            return {remote["endpoint"]: endpoints[remote["endpoint"]]}
        return endpoints

    def _live_relations_of(self, app: str) -> list[str]:
        """The relations `app` is in that have not been removed."""
        return [
            rid for rid, relation in self.data["relations"].items()
            if not relation.get("removed") and app in [a for a, _ in relation["endpoints"]]
        ]

    def _find_relation(self, key: str) -> str | None:
        return next(
            (rid for rid, relation in self.data["relations"].items()
             if not relation["peer"] and not relation.get("removed") and relation_key(relation["endpoints"]) == key),
            None,
        )

    def _new_relation(self, endpoints: list[tuple[str, str]], interface: str, *, peer: bool, scope: str = "global") -> str:
        rid = str(self.data["next_relation_id"])
        self.data["next_relation_id"] += 1
        self.data["relations"][rid] = {
            "endpoints": [list(e) for e in endpoints],
            "interface": interface,
            "peer": peer,
            "scope": scope,  # "container": units see only the other side's units of their principal
            "app_data": {app: {} for app, _ in endpoints},
            "unit_data": {},
            "members": [],  # units in the relation
            "seen": {},  # unit -> remote units it has been told about (relation-joined)
        }
        return rid

    def _create_membership(self, unit: str, rid: str) -> None:
        """relation-created for the unit; its databag exists from now on, holding what Juju
        writes there itself: where the unit is reached on the relation's endpoint."""
        relation = self.data["relations"][rid]
        relation["unit_data"].setdefault(unit, {}).update(self._address_settings(unit, rid))
        relation["seen"].setdefault(unit, [])
        self._queue(unit, {"kind": "relation_created", "relation_id": rid})

    def _address_settings(self, unit: str, rid: str) -> dict[str, str]:
        """Juju's `private-address` (the unit's address in the default space), `ingress-address`
        and `egress-subnets` (its address on the endpoint's binding, as a /32)."""
        endpoint = next(ep for app, ep in self.data["relations"][rid]["endpoints"] if app == self.app_of(unit))
        ingress = self._addresses(unit, self._bound_network(unit, endpoint))[0]
        private = self._addresses(unit, SPACES[DEFAULT_SPACE])[0]
        return {"private-address": private, "ingress-address": ingress, "egress-subnets": network.host_cidr(ingress)}

    def _addresses(self, unit: str, lab_net: str) -> list[str]:
        """The unit's machine's addresses on `lab_net`, the one Juju prefers (IPv4) first."""
        return network.addresses(lab_net, self._machine_index(unit), self.underlay)

    def _bound_network(self, unit: str, binding: str) -> str:
        """The lab network of the space the unit's application binds `binding` to."""
        bindings = self.apps[self.app_of(unit)]["bindings"]
        return SPACES[bindings.get(binding, bindings.get("", DEFAULT_SPACE))]

    def _machine_index(self, unit: str) -> int:
        return self.data["machines"][self.units[unit]["machine"]]["index"]

    def _join_members(self, unit: str, rid: str) -> None:
        """The unit joins the relation's members: relation-joined/changed both ways."""
        relation = self.data["relations"][rid]
        for other in list(relation["members"]):
            if other != unit and self._see_each_other(relation, unit, other):
                self._join(unit, rid, other)
                self._join(other, rid, unit)
        relation["members"].append(unit)
        self._send(relation, {"kind": "join", "unit_number": self.unit_number(unit)})

    def _see_each_other(self, relation: dict[str, Any], unit: str, other: str) -> bool:
        """Units of the two sides see each other (of one application, only in a peer relation);
        in a container-scoped relation only those of one principal unit: a subordinate unit
        its principal (Juju's container scope: the principal's container, so its machine)."""
        if not relation["peer"] and self.app_of(other) == self.app_of(unit):
            return False
        return relation.get("scope") != "container" or self._principal_of(unit) == self._principal_of(other)

    def _principal_of(self, unit: str) -> str:
        return self.units[unit].get("principal") or unit

    def _join(self, unit: str, rid: str, remote: str) -> None:
        """Queue relation-joined and a first relation-changed. The unit sees the remote unit
        (relation-list, its databag) from its relation-joined hook on, as under Juju."""
        self._queue(unit, {"kind": "relation_joined", "relation_id": rid, "remote_unit": remote})
        self._queue(unit, {"kind": "relation_changed", "relation_id": rid, "remote_unit": remote})

    def _forget_pending_join(self, unit: str, rid: str, remote: str) -> None:
        """The remote unit left before `unit` was told it joined: Juju tells it nothing."""
        self.units[unit]["queue"] = [
            event for event in self.units[unit]["queue"]
            if event.get("running") or not (
                event["kind"] in ("relation_joined", "relation_changed")
                and event.get("relation_id") == rid and event.get("remote_unit") == remote
            )
        ]

    def remove_principal_unit(self, unit: str, *, force: bool = False) -> None:
        """`juju remove-unit`: a subordinate unit is refused in Juju's words (juju/juju apiserver
        application DestroyUnit); it goes with its principal unit or its relation."""
        if self.units[unit].get("principal"):
            raise LabError(
                f'unit "{unit}" is a subordinate, to remove use remove-relation. '
                f'Note: this will remove all units of "{self.app_of(unit)}"'
            )
        self.remove_unit(unit, force=force)

    def remove_unit(self, unit: str, *, force: bool = False) -> None:
        """Departed on both sides, broken, stop and remove on the unit (run by `tick`).

        `force` (`juju remove-unit --force`, for a unit whose machine is dead): the other units
        see it depart, and it is forgotten without running any hook of its own.
        """
        if self.units[unit].get("dying") and not force:
            return
        for subordinate in [u for u, spec in self.units.items() if spec.get("principal") == unit]:
            self.remove_unit(subordinate, force=force)  # Juju removes them before their principal
        self.units[unit]["dying"] = True
        for rid, relation in self.data["relations"].items():
            if unit not in relation["members"]:
                continue
            for other in relation["members"]:
                # Hooks about the leaving unit that have not run yet never will (Juju works
                # from the current membership): only relation-departed, if it was seen.
                if other in self.units and other != unit:
                    self._forget_pending_join(other, rid, unit)
                    self._forget_pending_join(unit, rid, other)
                if unit in relation["seen"].get(other, []):
                    relation["seen"][other].remove(unit)
                    self._queue(other, {"kind": "relation_departed", "relation_id": rid, "remote_unit": unit, "departing_unit": unit})
            for other in list(relation["seen"][unit]):
                relation["seen"][unit].remove(other)
                self._queue(unit, {"kind": "relation_departed", "relation_id": rid, "remote_unit": other, "departing_unit": unit})
            relation["members"].remove(unit)
            self._send(relation, {"kind": "depart", "unit_number": self.unit_number(unit)})
            self._queue(unit, {"kind": "relation_broken", "relation_id": rid})
        self._queue(unit, {"kind": "stop"})
        self._queue(unit, {"kind": "remove"})
        app = self.apps[self.app_of(unit)]
        if unit in app["units"]:
            app["units"].remove(unit)
        if force:
            self._forget_unit(unit)
        if app["leader"] == unit or app["leader"] not in app["units"]:
            self._elect(self.app_of(unit))  # a removed unit's lease is revoked at once

    def remove_relation(self, a: str, b: str) -> None:
        """`juju remove-relation a b`: relation-departed on both sides of every pair that saw each
        other, relation-broken on every member. Removing a container-scoped relation also removes
        the subordinate units it brought: Juju destroys a subordinate unit whose relation to its
        principal goes away."""
        key = relation_key(self._infer_endpoints(a, b))
        rid = self._find_relation(key)
        if rid is None:
            raise LabError(f'relation "{key}" not found')
        relation = self.data["relations"][rid]
        if relation.get("cross"):
            raise LabError("removing a cross-model relation is not supported in the lab")
        members = list(relation["members"])
        for unit in members:
            for other in members:
                if other != unit:
                    self._forget_pending_join(unit, rid, other)
            for other in relation["seen"][unit]:
                self._queue(unit, {"kind": "relation_departed", "relation_id": rid, "remote_unit": other, "departing_unit": other})
            relation["seen"][unit] = []
        relation.update(members=[], removed=True)
        for unit in members:
            self._queue(unit, {"kind": "relation_broken", "relation_id": rid})
        if relation.get("scope") == "container":
            for unit in members:
                if self.units[unit].get("principal") in members:
                    self.remove_unit(unit)

    def _drop_if_gone(self, rid: str) -> None:
        """A removed relation is forgotten once its last hook has run."""
        relation = self.data["relations"].get(rid)
        if relation and relation.get("removed") and not any(
            event.get("relation_id") == rid for spec in self.units.values() for event in spec["queue"]
        ):
            del self.data["relations"][rid]

    def _forget_unit(self, unit: str) -> None:
        for relation in self.data["relations"].values():
            relation["unit_data"].pop(unit, None)
            relation["seen"].pop(unit, None)
        self.data["secrets"] = {
            sid: s for sid, s in self.data["secrets"].items() if s["owner"] != unit
        }
        for secret in self.data["secrets"].values():
            secret["consumers"].pop(unit, None)
        del self.units[unit]

    def inject_fault(self, unit: str, target: str, after: int) -> None:
        """The unit's next hook raises inside the charm once `target` (module:function) has
        been called `after` times (tests/lab/fault.py). Not a Juju command: the test's stand-in
        for a hook that dies half-way. The hook fails, and Juju's retry runs without the fault."""
        if unit not in self.units:
            raise LabError(f'unit "{unit}" not found')
        try:
            self.units[unit]["fault"] = fault.spec(target, after)
        except ValueError as e:
            raise LabError(str(e)) from None

    def rerun_hook(self, unit: str, hook: str) -> None:
        """Queue one of the unit's hooks again (`config-changed`, `relation-changed:ENDPOINT`, ...),
        as a test of idempotence: Juju itself runs a hook again only after it failed. A relation
        hook runs for the unit's first relation on ENDPOINT, about the first remote unit it knows."""
        kind, _, endpoint = hook.partition(":")
        kind = kind.replace("-", "_")
        if kind not in RERUNNABLE_HOOKS:
            raise LabError(f"cannot run {hook!r} again; hooks: {', '.join(sorted(RERUNNABLE_HOOKS))}")
        if not kind.startswith("relation_"):
            self._queue(unit, {"kind": kind})
            return
        app = self.app_of(unit)
        rid = next(
            (rid for rid, relation in self.data["relations"].items()
             if [app, endpoint] in relation["endpoints"] and unit in relation["unit_data"]),
            None,
        )
        if rid is None:
            raise LabError(f"{unit} has no relation on endpoint {endpoint!r}")
        remotes = self.data["relations"][rid]["seen"].get(unit, [])
        self._queue(unit, {"kind": kind, "relation_id": rid, **({"remote_unit": remotes[0]} if remotes else {})})

    def set_config(self, app: str, values: dict[str, str]) -> None:
        """`juju config APP k=v ...`: the strings parsed as the controller parses them; one
        refused value and none is set (charm_config.parse_strings)."""
        options = (self.meta(app).get("config") or {}).get("options") or {}
        try:
            parsed = charm_config.parse_strings(options, values)
        except charm_config.OptionError as e:
            raise LabError(str(e)) from None
        self.apps[app]["config"].update(parsed)
        for unit in self.apps[app]["units"]:
            self._queue(unit, {"kind": "config_changed"})

    def add_user_secret(self, label: str, content: dict[str, str]) -> str:
        """A secret the operator owns (`juju add-secret`); charms see it once granted."""
        if any(s["owner"] == "model" and s["label"] == label for s in self.data["secrets"].values()):
            raise LabError(f"a secret named {label!r} already exists")
        sid = f"secret:{uuid.uuid4().hex[:20]}"
        self.data["secrets"][sid] = {
            "owner": "model",
            "label": label,
            "description": None,
            "expire": None,
            "rotate": None,
            "revisions": {"1": content},
            "latest": 1,
            "grants": {},
            "app_grants": [],
            "consumers": {},
            "expired_fired": None,
        }
        return sid

    def grant_user_secret(self, label: str, app: str) -> None:
        """`juju grant-secret`: the application's units may read the secret."""
        if app not in self.apps:
            raise LabError(f"no application {app!r}")
        matches = [s for s in self.data["secrets"].values() if s["owner"] == "model" and s["label"] == label]
        if not matches:
            raise LabError(f"no secret named {label!r}")
        if app not in matches[0]["app_grants"]:
            matches[0]["app_grants"].append(app)

    def advance_clock(self, seconds: float) -> None:
        """Move the clock hooks see forward; update-status then runs on every unit, as it would
        at its interval while that much time passed."""
        self.data["clock_offset_s"] += seconds
        for unit, spec in self.units.items():
            if self.machine_running(spec["machine"]):
                self._queue(unit, {"kind": "update_status"})

    # --- what the controller and the agents do on their own, as time passes -------------------

    def model_config(self) -> dict[str, str]:
        return {**MODEL_CONFIG_DEFAULTS, **self.data.get("config", {})}

    def set_underlay(self, underlay: str) -> None:
        """The address families of the machines this model will have (before any machine)."""
        if underlay not in network.UNDERLAYS:
            raise LabError(f"unknown underlay {underlay!r}; the lab has {', '.join(network.UNDERLAYS)}")
        if self.data["machines"] and underlay != self.underlay:
            raise LabError(f"model {self.name!r} already has {self.underlay} machines: destroy it first")
        self.data["underlay"] = underlay

    def set_model_config(self, values: dict[str, str], now: float) -> None:
        """`juju model-config k=v`: an agent's update-status timer restarts with a new interval."""
        for key, value in values.items():
            self.data.setdefault("config", {})[key] = checked_model_config(key, value)
        if "update-status-hook-interval" in values:
            for spec in self.units.values():
                if spec.get("next_update_status") is not None:
                    spec["next_update_status"] = self._next_update_status(now)

    def catch_up(self, now: float) -> None:
        """What Juju would have done by `now` without being asked: leases of dead leaders
        expired and other units elected, leadership hooks queued on units whose agents run,
        update-status queued where a unit's timer fired."""
        self._expire_leases(now)
        self._queue_leadership_hooks()
        self._queue_due_update_status(now)

    def _next_update_status(self, now: float) -> float:
        interval = parse_duration(self.model_config()["update-status-hook-interval"])
        return now + interval * random.uniform(1 - UPDATE_STATUS_JITTER, 1 + UPDATE_STATUS_JITTER)

    def _queue_due_update_status(self, now: float) -> None:
        for unit, spec in self.units.items():
            due = spec.get("next_update_status")
            if due is not None and due <= now and self.machine_running(spec["machine"]) and not spec.get("dying"):
                self._queue(unit, {"kind": "update_status"})
                spec["next_update_status"] = self._next_update_status(now)

    def _expire_leases(self, now: float) -> None:
        """A leader whose machine has been down for the lease timeout loses leadership; an
        application without a leader gets one as soon as one of its units' agents runs."""
        timeout = parse_duration(self.model_config()["leader-lease-timeout"])
        for app, spec in self.apps.items():
            if "remote" in spec:
                continue
            leader = spec["leader"]
            if leader not in self.units:
                if self._leader_candidates(app):
                    self._elect(app)
                continue
            machine = self.data["machines"][self.units[leader]["machine"]]
            if machine["state"] != "started" and now >= machine.get("down_since", 0.0) + timeout:
                self._elect(app)

    def _leader_candidates(self, app: str) -> list[str]:
        return [
            unit for unit in self.apps[app]["units"]
            if unit in self.units and self.machine_running(self.units[unit]["machine"]) and not self.units[unit].get("dying")
        ]

    def _elect(self, app: str) -> None:
        """A new leadership term: a unit whose agent runs leads (none if no agent runs)."""
        spec = self.apps[app]
        candidates = self._leader_candidates(app)
        spec["leader"] = candidates[0] if candidates else None
        spec["leader_term"] = spec.get("leader_term", 0) + 1

    def leadership_pending(self) -> bool:
        """A leader's machine is down and another unit will take over when the lease expires."""
        return any(
            "remote" not in spec and spec["leader"] in self.units
            and not self.machine_running(self.units[spec["leader"]]["machine"])
            and self._leader_candidates(app)
            for app, spec in self.apps.items()
        )

    def _queue_leadership_hooks(self) -> None:
        """Units whose agents run learn of a leadership term they have not seen: leader-elected
        on the leader, leader-settings-changed on the others (a deposed leader included)."""
        for unit, spec in self.units.items():
            seen = spec.get("leader_term_seen")
            if seen is None:
                continue  # admitted before the lab kept leadership terms
            if seen != self.apps[self.app_of(unit)]["leader_term"] and self.machine_running(spec["machine"]) and not spec.get("dying"):
                self._queue_leadership_hook(unit)

    def _queue_leadership_hook(self, unit: str) -> None:
        app = self.apps[self.app_of(unit)]
        kind = "leader_elected" if app["leader"] == unit else "leader_settings_changed"
        self._queue(unit, {"kind": kind})
        self.units[unit]["leader_term_seen"] = app["leader_term"]

    def _queue(self, unit: str, event: dict[str, Any]) -> None:
        if unit not in self.units:
            return  # a remote application's unit: its own model runs its hooks
        queue = self.units[unit]["queue"]
        if event["kind"] in ("relation_changed", "update_status", "config_changed", "leader_settings_changed") and any(
            not e.get("running") and {k: v for k, v in e.items() if k != "seq"} == event for e in queue
        ):
            return  # Juju coalesces repeated events that have not run yet
        self.data["next_event"] += 1
        queue.append({**event, "seq": self.data["next_event"]})

    # --- cross-model relations ---------------------------------------------------------------
    # Each model keeps its side of a cross-model relation, with the other side's application
    # as a proxy (units that run no hooks here). Databag changes and units joining or leaving
    # travel as messages to the other model's inbox, which its hook runner reads, as Juju's
    # controllers relay them. A unit of the offering model appears as itself; a consuming
    # unit appears as remote-<model uuid>/N, as in Juju.

    def offer(self, app: str, endpoint: str) -> str:
        """`juju offer app:endpoint`: the URL other models consume it under."""
        if app not in self.apps or endpoint not in endpoints_of(self.meta(app)):
            raise LabError(f"no endpoint {app}:{endpoint}")
        self.data.setdefault("offers", {})[app] = {"app": app, "endpoint": endpoint}
        return f"admin/{self.name}.{app}"

    def consume(self, name: str, url: str) -> None:
        """A bundle's `saas` entry: the offer at `url` ([controller:]user/model.offer) appears here
        as the application `name`."""
        model_name, _, offer = url.rpartition(":")[2].partition("/")[2].partition(".")
        with open_model(model_name) as other:
            spec = (other.data.get("offers") or {}).get(offer)
            if spec is None:
                raise LabError(f"model {model_name!r} offers no {offer!r}: run `offer` there first")
            offered = other.apps[spec["app"]]
            self.apps[name] = self._proxy_app(offered["charm_dir"], model_name, spec["app"], spec["endpoint"])

    @staticmethod
    def _proxy_app(charm_dir: str, model: str, app: str, endpoint: str) -> dict[str, Any]:
        return {
            "charm_dir": charm_dir,
            "remote": {"model": model, "app": app, "endpoint": endpoint},
            "config": {},
            "bindings": {},
            "leader": None,
            "units": [],
            "status": {"name": "active", "message": f"remote application in model {model}"},
        }

    def _relate_across_models(self, rid: str, local_app: str, local_ep: str, proxy: str, interface: str) -> None:
        """Create the offering model's side of the relation, with this application as a proxy."""
        remote = self.apps[proxy]["remote"]
        their_proxy = f"remote-{self.data['uuid'][:8]}"
        with open_model(remote["model"]) as other:
            other.apps[their_proxy] = self._proxy_app(self.apps[local_app]["charm_dir"], self.name, local_app, local_ep)
            their_rid = other._new_relation(
                [(remote["app"], remote["endpoint"]), (their_proxy, local_ep)], interface, peer=False
            )
            other.data["relations"][their_rid]["cross"] = {"model": self.name, "rid": rid, "proxy": their_proxy}
            self.data["relations"][rid]["cross"] = {"model": remote["model"], "rid": their_rid, "proxy": proxy}
            for unit in other.apps[remote["app"]]["units"]:
                other._create_membership(unit, their_rid)
                other._join_members(unit, their_rid)

    def _send(self, relation: dict[str, Any], message: dict[str, Any]) -> None:
        cross = relation.get("cross")
        if cross is None or not model_dir(cross["model"]).is_dir():
            return  # not cross-model, or the other model was destroyed
        inbox = model_dir(cross["model"]) / "inbox"
        inbox.mkdir(exist_ok=True)
        name = f"{datetime.now(UTC).timestamp():.6f}-{uuid.uuid4().hex[:8]}.json"
        (inbox / f".{name}").write_text(json.dumps({**message, "rid": cross["rid"]}))
        (inbox / f".{name}").replace(inbox / name)  # readers never see a partial message

    def _receive(self) -> None:
        """Apply the other models' messages in the order they were sent."""
        inbox = model_dir(self.name) / "inbox"
        for path in sorted(inbox.glob("[0-9]*.json")) if inbox.exists() else []:
            message = json.loads(path.read_text())
            path.unlink()
            rid = message["rid"]
            relation = self.data["relations"].get(rid)
            if relation is None:
                continue
            proxy = relation["cross"]["proxy"]
            local = [unit for unit in relation["members"] if unit in self.units]
            if message["kind"] == "app_data":
                relation["app_data"][proxy] = message["data"]
                for unit in local:
                    self._queue(unit, {"kind": "relation_changed", "relation_id": rid, "remote_unit": None})
                continue
            remote_unit = f"{proxy}/{message['unit_number']}"
            if message["kind"] == "join":
                self.apps[proxy]["units"].append(remote_unit)
                relation["unit_data"].setdefault(remote_unit, {})
                relation["seen"].setdefault(remote_unit, [])
                relation["members"].append(remote_unit)
                for unit in local:
                    self._join(unit, rid, remote_unit)
            elif message["kind"] == "unit_data":
                relation["unit_data"][remote_unit] = message["data"]
                for unit in local:
                    if remote_unit in relation["seen"][unit]:
                        self._queue(unit, {"kind": "relation_changed", "relation_id": rid, "remote_unit": remote_unit})
            elif message["kind"] == "depart":
                for unit in local:
                    self._forget_pending_join(unit, rid, remote_unit)
                    if remote_unit in relation["seen"][unit]:
                        relation["seen"][unit].remove(remote_unit)
                        self._queue(unit, {"kind": "relation_departed", "relation_id": rid, "remote_unit": remote_unit, "departing_unit": remote_unit})
                relation["members"] = [u for u in relation["members"] if u != remote_unit]
                relation["unit_data"].pop(remote_unit, None)
                self.apps[proxy]["units"].remove(remote_unit)

    # --- machines -----------------------------------------------------------------------------

    def machine_running(self, machine_id: str) -> bool:
        return self.data["machines"][machine_id]["state"] == "started"

    def kill_machine(self, machine_id: str) -> None:
        """Pull the plug. The units' agents die with the machine: they run nothing, and a
        leader keeps its lease until it times out (`catch_up` then elects another unit)."""
        machines.kill_machine(machines.load_machine(self.data["machines"][machine_id]["host"]))
        self.data["machines"][machine_id].update(state="down", down_since=datetime.now(UTC).timestamp())
        self._stop_agent_timers(machine_id)

    def cut_network(self, machine_id: str, net: str, plugged: bool = False) -> None:
        """A network partition: the machine's cable on `net` pulled (or plugged back). It keeps
        running, and so do its units' agents (Juju's would, talking to the controller over
        another network), but its traffic on `net` goes nowhere."""
        try:
            machines.set_underlay_cable(self.machine(machine_id), net, plugged)
        except ValueError as e:
            raise LabError(str(e)) from None

    def link(self, machine_a: str, if_a: str, machine_b: str, if_b: str) -> None:
        """A cable between two machines: interface `if_a` on one, `if_b` on the other, ends of
        one veth pair (no bridge, no address, both up, transmit checksum offload off as on the
        underlay's). Kept in the model: restored when a machine restarts, gone with `destroy`."""
        ends = [(machine_a, checked_interface_name(if_a)), (machine_b, checked_interface_name(if_b))]
        found = {machine_id: self.machine(machine_id) for machine_id, _ in ends}
        if clash := link_name_clash(self.data.get("links", []), ends):
            raise LabError(clash)
        for machine_id, name in ends:
            if network.link_exists(found[machine_id].netns, name):
                raise LabError(f"machine {machine_id} already has an interface {name!r}")
        network.create_cable(found[machine_a].netns, if_a, found[machine_b].netns, if_b)
        self.data.setdefault("links", []).append({"a": [machine_a, if_a], "b": [machine_b, if_b]})

    def _restore_links(self, machine_id: str) -> None:
        """Cables of the machine whose ends are gone are laid again; intact ones stay as they are
        (an end set down stays down, as a cable does not change over a reboot)."""
        for link in self.data.get("links", []):
            if machine_id not in (link["a"][0], link["b"][0]):
                continue
            ends = [(self.machine(m).netns, name) for m, name in (link["a"], link["b"])]
            if not all(network.link_exists(*end) for end in ends):
                for end in ends:
                    network.delete_link(*end)
                network.create_cable(*ends[0], *ends[1])

    def restart_machine(self, machine_id: str) -> None:
        machine = self.machine(machine_id)
        if machine.is_running():
            machines.stop_machine(machine)
        machines.start_machine(machine)
        self._restore_links(machine_id)
        self.data["machines"][machine_id].update(state="started", down_since=None)
        self._stop_agent_timers(machine_id)
        # The agents come back: leadership first (a deposed leader hears it now), then start,
        # which Juju runs again after a reboot.
        self.catch_up(datetime.now(UTC).timestamp())
        for unit, spec in self.units.items():
            if spec["machine"] == machine_id:
                self._queue(unit, {"kind": "start"})

    def _stop_agent_timers(self, machine_id: str) -> None:
        for spec in self.units.values():
            if spec["machine"] == machine_id:
                spec["next_update_status"] = None

    def destroy(self) -> None:
        """Destroy the model's machines, also one whose creation failed before the model
        recorded it (its host name says whose it is)."""
        own_host = re.compile(rf"juju-{re.escape(self.name)}-\d+")
        hosts = {machine["host"] for machine in self.data["machines"].values()}
        hosts |= {machine.name for machine in machines.list_machines() if own_host.fullmatch(machine.name)}
        # One machine that resists (processes slow to die under load) must not leave the
        # others running: every machine is tried, a failed one once more after the rest.
        failed = [host for host in sorted(hosts) if _destroy_error(host)]
        still_there = [f"{host}: {error}" for host in failed if (error := _destroy_error(host))]
        if still_there:
            raise LabError(f"model {self.name!r}: machines not destroyed: {'; '.join(still_there)}")
        self.data = None  # type: ignore[assignment]
        shutil.rmtree(model_dir(self.name), ignore_errors=True)

    # --- running hooks ------------------------------------------------------------------------

    def now(self) -> datetime:
        return datetime.now(UTC) + timedelta(seconds=self.data["clock_offset_s"])

    def pending(self) -> dict[str, list[dict[str, Any]]]:
        return {u: s["queue"] for u, s in self.units.items() if s["queue"]}

    def runnable(self, busy_machines: set[str]) -> list[str]:
        """For each idle, running machine: its unit whose next event is oldest."""
        now = datetime.now(UTC).timestamp()
        by_machine: dict[str, str] = {}
        for unit, spec in self.units.items():
            machine = spec["machine"]
            if not spec["queue"] or machine in busy_machines or not self.machine_running(machine):
                continue
            if spec["retry_after"] and spec["retry_after"] > now:
                continue
            current = by_machine.get(machine)
            if current is None or spec["queue"][0]["seq"] < self.units[current]["queue"][0]["seq"]:
                by_machine[machine] = unit
        return list(by_machine.values())

    def run_hooks(self, log: Any = print) -> int:
        """Run queued hooks until none is runnable; return how many ran.

        One hook at a time per machine (Juju's machine lock), machines in parallel. A hook's
        outcome is applied as soon as it ends, so one slow hook never holds up other machines.
        """
        ran = 0
        running: dict[Future[dict[str, Any]], tuple[str, dict[str, Any], dict[str, Any]]] = {}
        with ThreadPoolExecutor(max_workers=max(1, len(self.data["machines"]))) as pool:
            while True:
                self._receive()
                self._queue_expired_secrets()
                self.catch_up(datetime.now(UTC).timestamp())
                busy = {self.units[unit]["machine"] for unit, _, _ in running.values()}
                for unit in self.runnable(busy):
                    event = self.units[unit]["queue"][0]
                    event["running"] = True  # never coalesce a new event into one already running
                    self._begin_hook(unit, event)
                    request = self._request(unit, event)
                    running[pool.submit(self._execute, unit, request)] = (unit, event, request)
                if not running:
                    return ran
                done, _ = wait(running, return_when=FIRST_COMPLETED)
                for future in done:
                    unit, event, request = running.pop(future)
                    result = future.result()
                    self._apply(unit, event, request, result, log)
                    self._after_hook(unit, event, result)
                    ran += 1
                self.save()

    def _begin_hook(self, unit: str, event: dict[str, Any]) -> None:
        """The unit's view as the hook starts: from relation-joined on, it sees the remote unit."""
        if event["kind"] == "relation_joined":
            seen = self.data["relations"][event["relation_id"]]["seen"][unit]
            if event["remote_unit"] not in seen:
                seen.append(event["remote_unit"])

    def _after_hook(self, unit: str, event: dict[str, Any], result: dict[str, Any]) -> None:
        """A unit that has started gets update-status at the model's interval from now on."""
        if event["kind"] == "start" and result["ok"] and unit in self.units:
            self.units[unit]["next_update_status"] = self._next_update_status(datetime.now(UTC).timestamp())
        if event["kind"] == "relation_broken" and result["ok"]:
            self._drop_if_gone(event["relation_id"])

    def run_action(self, unit: str, action: str, params: dict[str, Any]) -> dict[str, Any]:
        """Run an action now. Juju checks the parameters against the action's schema before the
        unit ever sees it, and fills in defaults."""
        actions = self.meta(self.app_of(unit)).get("actions") or {}
        if action not in actions:
            raise LabError(f'action "{action}" not defined on unit "{unit}"')
        if not self.machine_running(self.units[unit]["machine"]):
            raise LabError(f"{unit}: its machine is down, so its agent runs nothing")
        try:
            full = action_params.checked_params(action, actions[action], params)
        except action_params.ActionParamsError as refused:
            raise LabError(str(refused)) from None
        event = {"kind": "action", "action": action, "params": full, "seq": 0}
        request = self._request(unit, event)
        result = self._execute(unit, request)
        self._apply(unit, event, request, result, print, action=True)
        return result

    def _execute(self, unit: str, request: dict[str, Any]) -> dict[str, Any]:
        """Run the hook on the unit's machine (agent.py); the outcome, from the context file the
        hook tools updated: {ok, error, state, and an action's results, logs and failure}."""
        machine = self.machine_of(unit)
        context = f"{AGENT_DIR}/hooks/{unit.replace('/', '-')}.context.json"
        machine.write_file(context, json.dumps(request), mode=0o600)  # secret content: root only
        argv = [AGENT_PYTHON, f"{AGENT_DIR}/agent.py", "hook", context]
        if offset := int(self.data["clock_offset_s"]):
            # The hook, and every tool it runs, sees the model's clock (libfaketime); the
            # machine's daemons keep the real one.
            argv = ["faketime", "-f", f"{offset:+d}", *argv]
        try:
            run = machine.run(argv, timeout=HOOK_TIMEOUT_S)
            outcome = json.loads(machine.read_file(context)) if run.returncode == 0 else None
        finally:
            machine.run(["rm", "-f", context])
        output = outcome["output"] if outcome else ""
        with (model_dir(self.name) / "agents.log").open("a") as log:
            took = f" dispatch={outcome['dispatch_seconds']}s" if outcome else ""
            log.write(f"== {unit} {request['event']['kind']} rc={run.returncode}{took}\n{run.stdout}{run.stderr}{output}")
        if outcome is None:
            return {"ok": False, "error": f"agent exited {run.returncode}: {(run.stdout + run.stderr)[-2000:]}"}
        ok = outcome["exit_code"] == 0
        result = {"ok": ok, "error": None if ok else f"exit status {outcome['exit_code']}:\n{output}", "state": outcome["state"]}
        if action := outcome.get("action"):
            result.update(action_results=action["results"], action_logs=action["logs"])
            if action["failed"] is not None:
                result["action_failed"] = action["failed"]
        return result

    def _request(self, unit: str, event: dict[str, Any]) -> dict[str, Any]:
        """The hook's context file (see hooktools.py): the event, and the unit's view of the
        model that the hook tools answer from and record the hook's changes in."""
        app = self.app_of(unit)
        spec = self.units[unit]
        event_out = {k: v for k, v in event.items() if k not in ("seq", "running")}
        if "relation_id" in event:
            event_out["relation_id"] = int(event["relation_id"])
        siblings = [u for u in self.apps[app]["units"] if u in self.units and u != unit]
        state = {
            "leader": self.apps[app]["leader"] == unit,
            "config": self.apps[app]["config"],
            "relations": self._relations_view(unit, event),
            "networks": self._networks_view(unit),
            "secrets": self._secrets_view(unit),
            "model_secret_ids": sorted(self.data["secrets"]),
            "opened_ports": spec["opened_ports"],
            "unit_status": self._status_seen_by(unit),
            "unit_statuses": {u: self._status_seen_by(u) for u in siblings},
            "app_status": self.apps[app]["status"],
            "workload_version": spec["workload_version"],
            "app_units": [u for u in self.apps[app]["units"] if not self.units.get(u, {}).get("dying")],
        }
        request = {
            "unit": unit,
            "app": app,
            "machine_id": spec["machine"],
            "model_name": self.name,
            "model_uuid": self.data["uuid"],
            "juju_version": JUJU_VERSION,
            "charm_dir": self.charm_dir(unit),
            "log_file": f"/var/log/juju/unit-{unit.replace('/', '-')}.log",
            "event": event_out,
            "state": state,
        }
        if event["kind"] != "action" and spec.get("fault"):
            request["fault"] = spec.pop("fault")  # this hook only: its retry runs clean
        if event["kind"] == "action":
            request["action"] = {"uuid": str(uuid.uuid4().int % 10**8), "params": event["params"], "results": {}, "logs": [], "failed": None}
        return request

    def _status_seen_by(self, unit: str) -> dict[str, str]:
        """The workload status the charm last set (`error` is the agent's, not the charm's)."""
        status = self.units[unit]["status"]
        return status if status["name"] != "error" else {"name": "unknown", "message": ""}

    def _relations_view(self, unit: str, event: dict[str, Any]) -> list[dict[str, Any]]:
        app = self.app_of(unit)
        views = []
        for rid, relation in self.data["relations"].items():
            in_relation = unit in relation["members"] or (
                event.get("relation_id") == rid and event["kind"] in ("relation_broken", "relation_departed")
            )
            if not in_relation:
                continue
            endpoint = next(ep for a, ep in relation["endpoints"] if a == app)
            remote_app = next((a for a, _ in relation["endpoints"] if a != app), app)
            seen = relation["seen"].get(unit, [])
            cross = relation.get("cross")
            view = {
                "kind": "peer" if relation["peer"] else "regular",
                "id": int(rid),
                "endpoint": endpoint,
                "interface": relation["interface"],
                "local_app_data": relation["app_data"].get(app, {}),
                "local_unit_data": relation["unit_data"].get(unit, {}),
                "remote_app_name": remote_app,
                "remote_app_data": relation["app_data"].get(remote_app, {}) if not relation["peer"] else {},
                "remote_units_data": {r: relation["unit_data"][r] for r in seen if r in relation["unit_data"]},
                "remote_model_uuid": self._model_uuid(cross["model"]) if cross else None,
            }
            departing = event.get("departing_unit") if event.get("relation_id") == rid else None
            if departing and departing != unit:
                # Juju: gone from relation-list, its settings still readable in relation-departed
                view["departing_unit_data"] = {departing: relation["unit_data"].get(departing, {})}
            views.append(view)
        return views

    def _model_uuid(self, name: str) -> str | None:
        """Another model's uuid (relation-model-get across models), if it still exists."""
        path = model_dir(name) / "model.json"
        return json.loads(path.read_text())["uuid"] if path.exists() else None

    def _networks_view(self, unit: str) -> list[dict[str, Any]]:
        meta = self.meta(self.app_of(unit))
        names = list(endpoints_of(meta)) + list(meta.get("extra-bindings") or {})
        views = []
        for name in names:
            lab_net = self._bound_network(unit, name)
            addresses = self._addresses(unit, lab_net)
            views.append(
                {
                    "binding_name": name,
                    "addresses": [{"value": address, "cidr": network.subnet(address)} for address in addresses],
                    "egress_subnets": [network.host_cidr(address) for address in addresses],
                    "interface": SPACE_BRIDGES[lab_net],
                }
            )
        return views

    def _secrets_view(self, unit: str) -> list[dict[str, Any]]:
        app = self.app_of(unit)
        views = []
        for sid, secret in self.data["secrets"].items():
            latest = secret["latest"]
            latest_content = secret["revisions"][str(latest)]
            if secret["owner"] in (unit, app):
                views.append(
                    {
                        "id": sid,
                        "owner": "unit" if secret["owner"] == unit else "app",
                        "tracked_content": latest_content,
                        "latest_content": latest_content,
                        "tracked_revision": latest,
                        "latest_revision": latest,
                        "label": secret["label"],
                        "description": secret["description"],
                        "expire": secret["expire"],
                        "rotate": secret["rotate"],
                        "remote_grants": secret["grants"],
                    }
                )
            elif self._granted(secret, unit):
                consumer = secret["consumers"].setdefault(unit, {"tracked": latest, "label": None})
                views.append(
                    {
                        "id": sid,
                        "owner": None,
                        "tracked_content": secret["revisions"][str(consumer["tracked"])],
                        "latest_content": latest_content,
                        "tracked_revision": consumer["tracked"],
                        "latest_revision": latest,
                        "label": consumer["label"],
                        "description": None,
                        "expire": None,
                        "rotate": None,
                        "remote_grants": {},
                    }
                )
        return views

    def _granted(self, secret: dict[str, Any], unit: str) -> bool:
        if self.app_of(unit) in secret.get("app_grants", []):
            return True
        for rid, names in secret["grants"].items():
            relation = self.data["relations"].get(rid)
            if relation and unit in relation["members"] and (unit in names or self.app_of(unit) in names):
                return True
        return False

    # --- applying a hook's outcome ------------------------------------------------------------

    def _apply(self, unit: str, event: dict[str, Any], request: dict[str, Any], result: dict[str, Any], log: Any, action: bool = False) -> None:
        spec = self.units[unit]
        event.pop("running", None)
        if action and not result["ok"]:
            # Juju fails the action and discards its changes; the unit is not in error.
            raise LabError(f"action failed with a charm error ({result['error']})")
        if not result["ok"]:
            spec["failures"] += 1
            self._set_status(unit, {"name": "error", "message": f'hook failed: "{event["kind"].replace("_", "-")}"'})
            spec["error"] = result["error"]
            backoff = min(5 * 2 ** (spec["failures"] - 1), 60)
            spec["retry_after"] = datetime.now(UTC).timestamp() + backoff
            log(f"{unit}: {event['kind']} failed (retry in {backoff}s):\n{result['error'].rstrip()}")
            return
        spec.update(error=None, retry_after=None, failures=0)
        if not action:
            spec["queue"].pop(0)
        out = result["state"]
        app = self.app_of(unit)
        before = {str(view["id"]): view for view in request["state"]["relations"]}
        for view in out["relations"]:
            rid = str(view["id"])
            if rid in before:
                self._apply_databags(unit, rid, before[rid], view)
        self._apply_secrets(unit, request["state"]["secrets"], out["secrets"])
        self._set_status(unit, out["unit_status"])
        spec.update(opened_ports=out["opened_ports"], workload_version=out["workload_version"])
        if out["app_status"] != request["state"]["app_status"]:  # status-set --application: leader only
            self.apps[app]["status"] = out["app_status"]
        if event["kind"] == "remove":
            self._forget_unit(unit)

    def _set_status(self, unit: str, status: dict[str, str]) -> None:
        """The unit's workload status, kept in its history when it changes (`juju show-status-log`
        lists the last ones; Juju keeps more, the lab the last STATUS_HISTORY)."""
        spec = self.units[unit]
        if status != spec["status"]:
            history = spec.setdefault("status_history", [])
            history.append({**status, "since": datetime.now(UTC).isoformat(timespec="seconds")})
            del history[:-STATUS_HISTORY]
        spec["status"] = status

    def status_log(self, unit: str) -> list[dict[str, str]]:
        """The unit's workload statuses, oldest first, as `juju show-status-log` shows them."""
        if unit not in self.units:
            raise LabError(f'unit "{unit}" not found')
        return list(self.units[unit].get("status_history", []))

    def _apply_databags(self, unit: str, rid: str, before: dict[str, Any], view: dict[str, Any]) -> None:
        """Apply what the hook itself wrote. Comparing with the hook's input, not with the model's
        current data, matters: other machines' hooks ran meanwhile, and a stale copy of a databag
        must never overwrite their writes (Juju applies a hook's relation-set calls, nothing else)."""
        relation = self.data["relations"].get(rid)
        if relation is None:
            return
        app = self.app_of(unit)
        if before["local_app_data"] != view["local_app_data"]:
            relation["app_data"][app] = view["local_app_data"]
            self._send(relation, {"kind": "app_data", "data": view["local_app_data"]})
            for other in relation["members"]:
                if other != unit and (relation["peer"] or self.app_of(other) != app):
                    # Juju: app data changes reach the other side with no remote unit.
                    self._queue(other, {"kind": "relation_changed", "relation_id": rid, "remote_unit": None})
        if before["local_unit_data"] != view["local_unit_data"] and unit in relation["unit_data"]:
            relation["unit_data"][unit] = view["local_unit_data"]
            self._send(relation, {"kind": "unit_data", "unit_number": self.unit_number(unit), "data": view["local_unit_data"]})
            for other in relation["members"]:
                if unit in relation["seen"].get(other, []):
                    self._queue(other, {"kind": "relation_changed", "relation_id": rid, "remote_unit": unit})

    def _apply_secrets(self, unit: str, before: list[dict[str, Any]], after: list[dict[str, Any]]) -> None:
        """Apply what the hook itself did to secrets (compared with its input, as for databags)."""
        app = self.app_of(unit)
        seen_ids = set()
        inputs = {view["id"]: view for view in before}
        for view in after:
            sid = view["id"]
            seen_ids.add(sid)
            secret = self.data["secrets"].get(sid)
            if secret is None:
                self.data["secrets"][sid] = {
                    "owner": unit if view["owner"] == "unit" else app,
                    "label": view["label"],
                    "description": view["description"],
                    "expire": view["expire"],
                    "rotate": view["rotate"],
                    "revisions": {"1": view["latest_content"]},
                    "latest": 1,
                    "grants": view["remote_grants"],
                    "consumers": {},
                    "expired_fired": None,
                }
                continue
            if view["owner"]:
                given = inputs.get(sid)
                if given is not None and view == given:
                    continue  # untouched by this hook
                if given is None or view["latest_content"] != given["latest_content"]:
                    secret["latest"] += 1
                    secret["revisions"][str(secret["latest"])] = view["latest_content"]
                    for consumer in secret["consumers"]:
                        self._queue(consumer, {"kind": "secret_changed", "secret_id": sid})
                secret.update(
                    label=view["label"], description=view["description"], expire=view["expire"],
                    rotate=view["rotate"], grants=view["remote_grants"],
                )
            else:
                secret["consumers"][unit] = {"tracked": view["tracked_revision"], "label": view["label"]}
        for view in before:
            if view["owner"] and view["id"] not in seen_ids:
                self.data["secrets"].pop(view["id"], None)  # secret-remove of all revisions

    def _queue_expired_secrets(self) -> None:
        now = self.now()
        for sid, secret in self.data["secrets"].items():
            if not secret["expire"] or secret["expired_fired"] == secret["latest"]:
                continue
            expire = datetime.fromisoformat(secret["expire"])
            if expire.tzinfo is None:
                expire = expire.replace(tzinfo=UTC)
            if expire > now:
                continue
            owner = secret["owner"]
            target = owner if owner in self.units else self.apps.get(owner, {}).get("leader")
            if target:
                secret["expired_fired"] = secret["latest"]
                self._queue(target, {"kind": "secret_expired", "secret_id": sid, "revision": secret["latest"]})

    # --- reporting ----------------------------------------------------------------------------

    def idle(self) -> bool:
        """No hook queued on a running machine, and no leadership change pending."""
        return not self.leadership_pending() and not any(
            spec["queue"] for spec in self.units.values() if self.machine_running(spec["machine"])
        )

    def settled(self) -> bool:
        """Idle, no hook failing, and every unit active, except on machines that are down:
        their agents are lost and run nothing until the machine is back or the unit is removed."""
        alive = [spec for spec in self.units.values() if self.machine_running(spec["machine"])]
        return self.idle() and all(spec["status"]["name"] == "active" and not spec["error"] for spec in alive)

    def workload_status(self, unit: str) -> dict[str, str]:
        """A unit's status as `juju status` shows it: unknown while its agent is lost."""
        if not self.machine_running(self.units[unit]["machine"]):
            return {"name": "unknown", "message": "agent lost"}
        return self.units[unit]["status"]

    def application_status(self, app: str) -> dict[str, str]:
        """As `juju status` shows it: what the leader set, else derived from the units'."""
        spec = self.apps[app]
        if spec["status"]["name"] != "unknown" or "remote" in spec:
            return spec["status"]
        units = sorted((u for u in spec["units"] if u in self.units), key=self.unit_number)
        return derived_status([self.workload_status(unit) for unit in units])


def allocate_index(host: str) -> int:
    """A lab-wide machine index (addresses derive from it), stable for a host name."""
    path = paths.LAB_HOME / "indexes.json"
    paths.LAB_HOME.mkdir(parents=True, exist_ok=True)
    with (paths.LAB_HOME / "indexes.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        indexes = json.loads(path.read_text()) if path.exists() else {}
        if host not in indexes:
            used = set(indexes.values())
            indexes[host] = next(i for i in range(200) if i not in used)
            path.write_text(json.dumps(indexes))
        return indexes[host]


def _destroy_error(host: str) -> str | None:
    """Destroy the lab machine `host` if it exists; what went wrong, or None."""
    try:
        machine = machines.load_machine(host)
    except machines.MachineError:
        pass  # already gone
    else:
        try:
            machines.destroy_machine(machine)
        except (machines.MachineError, OSError, subprocess.CalledProcessError) as error:
            return str(error)
    release_index(host)
    return None


def release_index(host: str) -> None:
    path = paths.LAB_HOME / "indexes.json"
    with (paths.LAB_HOME / "indexes.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # models are created and destroyed concurrently
        if path.exists():
            indexes = json.loads(path.read_text())
            indexes.pop(host, None)
            path.write_text(json.dumps(indexes))


def vm_mac(name: str) -> str:
    """A stable locally administered MAC for a lab VM."""
    digest = hashlib.sha256(name.encode()).digest()
    return "02:" + ":".join(f"{b:02x}" for b in digest[:5])

