"""The shipped bundles as `juju deploy` reads them, checked without a controller.

Shared by test_bundles.py (every bundle and overlay combination is deployable) and
test_terraform.py (the Terraform product module declares what bundle.yaml does). The overlay merge
and the endpoint inference are the lab's (tests/lab/model.py), which follow Juju's; this module
adds what Juju's bundle verifier checks before it deploys anything: charms, options and their
types, placement, subordinates, bindings.
"""

from __future__ import annotations

import functools
import itertools
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from tests.lab.model import (
    LabError,
    endpoints_of,
    infer_endpoints,
    is_subordinate,
    merge_overlay,
    relation_key,
    subordinate_errors,
)
from tests.lab.paths import REPO_ROOT

BUNDLES = REPO_ROOT / "bundles"
DEFAULT_BUNDLE = BUNDLES / "bundle.yaml"
STANDALONE_BUNDLES = (DEFAULT_BUNDLE, BUNDLES / "datapath-only.yaml")
OVERLAYS = tuple(sorted((BUNDLES / "overlays").glob("*.yaml")))
CHARMS = REPO_ROOT / "charms"
# Charms from Charmhub that the overlays name, with the endpoints of their published metadata
# (canonical/self-signed-certificates-operator, charmcraft.yaml); no options of theirs are set.
CHARMHUB = {
    "self-signed-certificates": {
        "provides": {
            "certificates": {"interface": "tls-certificates"},
            "send-ca-cert": {"interface": "certificate_transfer"},
        },
        "requires": {"tracing": {"interface": "tracing", "limit": 1}},
    },
}
# Keys of a bundle application Juju reads (juju/charm bundledata.go ApplicationSpec); Juju
# ignores any other key silently, so a misspelt one (`num_unit`) would go unnoticed.
APPLICATION_KEYS = frozenset({
    "charm", "channel", "revision", "base", "series", "num_units", "to", "expose", "exposed-endpoints",
    "options", "annotations", "constraints", "storage", "devices", "bindings", "trust", "resources",
    "offers", "plan", "scale", "placement", "requires-trust",
})
# The strings Go's strconv.ParseBool reads, which Juju's boolean options accept besides true/false.
GO_BOOLEANS = frozenset({"1", "t", "T", "TRUE", "true", "True", "0", "f", "F", "FALSE", "false", "False"})
# Placement directives that name no machine of the bundle (Juju's bundle placement syntax).
NEW_MACHINE = "new"


def load(path: Path) -> dict[str, Any]:
    return yaml.safe_load(path.read_text()) or {}


def deployed(bundle_path: Path, overlays: tuple[Path, ...] = ()) -> dict[str, Any]:
    """The bundle as `juju deploy BUNDLE --overlay ...` sees it, the overlays merged in order."""
    bundle = load(bundle_path)
    for overlay in overlays:
        bundle = merge_overlay(bundle, load(overlay), overlay.parent)
    return bundle


def combinations() -> list[tuple[Path, tuple[Path, ...]]]:
    """Every bundle on its own, and the default bundle with every set of overlays (the overlays
    relate to ovn-central, which datapath-only.yaml only consumes)."""
    found: list[tuple[Path, tuple[Path, ...]]] = [(bundle, ()) for bundle in STANDALONE_BUNDLES]
    for size in range(1, len(OVERLAYS) + 1):
        found += [(DEFAULT_BUNDLE, chosen) for chosen in itertools.combinations(OVERLAYS, size)]
    return found


def combination_id(combination: tuple[Path, tuple[Path, ...]]) -> str:
    bundle, overlays = combination
    return "+".join([bundle.stem, *(overlay.stem for overlay in overlays)])


@functools.cache
def charm_project(name: str) -> dict[str, Any]:
    """charms/<name>/charmcraft.yaml: the metadata, config and actions a packed charm carries
    (read once per run: callers only read it)."""
    return load(CHARMS / name / "charmcraft.yaml")


def local_charm_name(bundle_dir: Path, reference: str) -> str | None:
    """The charms/<name> a bundle's local `charm:` means: a packed file named as
    tools/pack-charms names them (<name>_<arch>.charm) or a source directory; None if neither."""
    path = (bundle_dir / reference).resolve()
    name = path.name.split("_")[0] if path.suffix == ".charm" else path.name
    return name if (CHARMS / name / "charmcraft.yaml").exists() else None


def charm_metadata(bundle_dir: Path, reference: str) -> dict[str, Any]:
    """What Juju knows of a bundle's `charm:` entry: our charm's charmcraft.yaml for a local
    path, the published metadata for a Charmhub name; LabError for anything else."""
    if reference.startswith((".", "/")):
        if (name := local_charm_name(bundle_dir, reference)) is None:
            raise LabError(f"charm {reference!r}: not one of the charms in {CHARMS}")
        return charm_project(name)
    if reference not in CHARMHUB:
        raise LabError(f"charm {reference!r}: not a Charmhub charm these bundles are checked against")
    return CHARMHUB[reference]


@dataclass(frozen=True)
class Application:
    """An application as deployed: its charm, units, the machines they go to (positions in the
    deployment's list of machines) and its options (typed as the charm declares them)."""

    charm: str
    units: int
    machines: tuple[int, ...]
    options: dict[str, Any]


@dataclass
class Deployment:
    """What a bundle deploys: its applications and their metadata, its relations by Juju's name."""

    applications: dict[str, Application]
    metadata: dict[str, dict[str, Any]]
    relations: set[str]


def charm_name(reference: str, bundle_dir: Path) -> str:
    """The charm's name: charms/<name> for a local path, the Charmhub name otherwise."""
    local = local_charm_name(bundle_dir, reference) if reference.startswith((".", "/")) else None
    return local or reference


def machine_positions(placements: list[Any], machine_order: list[str]) -> tuple[int, ...]:
    """Which machines `to:` puts units on: the positions, in order, of the bundle machines it
    names ("0", "lxd:0")."""
    targets = [str(p).rpartition(":")[2] for p in placements]
    return tuple(sorted(machine_order.index(target) for target in targets if target in machine_order))


def parses(convert: Callable[[str], Any], text: str) -> bool:
    try:
        convert(text)
    except ValueError:
        return False
    return True


def juju_accepts(kind: str, value: Any) -> bool:
    """Whether Juju takes a bundle option's YAML value for an option of this type (juju/charm
    config.go, through juju/schema's String, Int, Float and Bool checkers): a string option
    only a string; an int a whole number or a string of one; a float any number or a string of
    one; a boolean a boolean or a string strconv.ParseBool reads."""
    if isinstance(value, bool):
        return kind == "boolean"
    if kind == "string":
        return isinstance(value, str)
    if kind == "int":
        return isinstance(value, int) or (isinstance(value, str) and parses(lambda text: int(text, 0), value))
    if kind == "float":
        return isinstance(value, (int, float)) or (isinstance(value, str) and parses(float, value))
    return kind == "boolean" and isinstance(value, str) and value in GO_BOOLEANS


def option_errors(app: str, declared: dict[str, Any], given: dict[str, Any]) -> list[str]:
    errors = []
    for key, value in given.items():
        if key not in declared:
            errors.append(f'{app}: unknown option "{key}"')
        elif not juju_accepts(kind := declared[key].get("type", "string"), value):
            errors.append(f'{app}: option "{key}" expected {kind}, got {type(value).__name__}({value!r})')
    return errors


def placement_errors(app: str, spec: dict[str, Any], machines: set[str], applications: set[str]) -> list[str]:
    """`to:` names machines the bundle declares ("0", "lxd:0"), "new", or another application,
    and no more of them than the application has units (juju/charm bundledata.go)."""
    errors = []
    placements = [str(p) for p in spec.get("to") or []]
    if len(placements) > int(spec.get("num_units") or 0):
        errors.append(f'too many units specified in unit placement for application "{app}"')
    for placement in placements:
        target = placement.rpartition(":")[2]
        if target == NEW_MACHINE or target.split("/")[0] in applications:
            continue
        if target not in machines:
            errors.append(f'placement "{placement}" refers to a machine not defined in this bundle')
    return errors


def unused_machines(bundle: dict[str, Any]) -> list[str]:
    placed = {str(p).rpartition(":")[2] for spec in (bundle.get("applications") or {}).values() for p in (spec or {}).get("to") or []}
    return [f'machine "{m}" is not referred to by a placement directive' for m in map(str, bundle.get("machines") or {}) if m not in placed]


def checked(bundle: dict[str, Any], bundle_dir: Path) -> Deployment:
    """The bundle's applications and relations, or a LabError listing everything `juju deploy`
    would refuse in it."""
    applications: dict[str, Any] = bundle.get("applications") or {}
    machines = {str(m) for m in bundle.get("machines") or {}}
    errors: list[str] = []
    metadata: dict[str, dict[str, Any]] = {}
    for app, spec in applications.items():
        spec = spec or {}
        if unknown := sorted(set(spec) - APPLICATION_KEYS):
            errors.append(f"{app}: unknown keys {unknown}")
        try:
            metadata[app] = charm_metadata(bundle_dir, str(spec.get("charm", "")))
        except LabError as error:
            errors.append(f"{app}: {error}")
            continue
        declared = (metadata[app].get("config") or {}).get("options") or {}
        errors += option_errors(app, declared, spec.get("options") or {})
        errors += placement_errors(app, spec, machines, set(applications))
        endpoints = endpoints_of(metadata[app])
        errors += [f'{app}: binding for unknown endpoint "{name}"' for name in spec.get("bindings") or {} if name and name not in endpoints]
    errors += unused_machines(bundle)
    subordinates = {app for app, meta in metadata.items() if is_subordinate(meta)}
    errors += subordinate_errors({app: applications[app] for app in metadata}, subordinates)
    for name, saas in (bundle.get("saas") or {}).items():
        offered = str(saas.get("url", "")).rpartition(".")[2]  # admin/<model>.<application>
        if (CHARMS / offered / "charmcraft.yaml").exists():
            metadata[name] = charm_project(offered)
        else:
            errors.append(f'saas "{name}": offer {saas.get("url")!r} is not of one of our charms')
    relations: set[str] = set()
    for pair in bundle.get("relations") or []:
        try:
            relations |= relation_keys([pair], metadata)
        except LabError as error:
            errors.append(f"relation {pair}: {error}")
    if errors:
        raise LabError("the bundle has the following errors:\n" + "\n".join(errors))
    machine_order = [str(m) for m in bundle.get("machines") or {}]
    deployed_apps = {
        app: Application(
            charm=charm_name(str(spec["charm"]), bundle_dir),
            units=int(spec.get("num_units") or 0),
            machines=machine_positions(spec.get("to") or [], machine_order),
            options=dict(spec.get("options") or {}),
        )
        for app, spec in applications.items()
    }
    return Deployment(deployed_apps, metadata, relations)


def relation_keys(relations: list[list[str]], metadata: dict[str, dict[str, Any]]) -> set[str]:
    """Relations given as endpoint pairs, by Juju's name, their endpoints inferred as Juju does."""
    endpoints = {app: endpoints_of(meta) for app, meta in metadata.items()}
    subordinates = {app for app, meta in metadata.items() if is_subordinate(meta)}
    return {relation_key(infer_endpoints(a, b, endpoints, subordinates)) for a, b in relations}
