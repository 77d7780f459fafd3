"""Every shipped bundle, alone and with every set of overlays, is one `juju deploy` accepts:
charms that exist, options they declare with the declared types, endpoints that exist and agree
on their interface, placement on declared machines, subordinates without units. Each check is
also shown to catch the mistake it is there for."""

from __future__ import annotations

import copy
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.lab.model import LabError
from tests.unit import bundle_model
from tests.unit.bundle_model import BUNDLES, DEFAULT_BUNDLE, OVERLAYS, STANDALONE_BUNDLES, checked, deployed

HA_GATEWAYS = BUNDLES / "overlays" / "ha-gateways.yaml"
BGP = BUNDLES / "overlays" / "bgp.yaml"
DEFAULT_RELATIONS = {"ovn-central:ovsdb ovn-chassis:ovsdb", "ovn-central:certificates ovn-chassis:certificates"}


@pytest.mark.parametrize("combination", bundle_model.combinations(), ids=bundle_model.combination_id)
def test_every_bundle_and_overlay_combination_deploys(combination: tuple[Path, tuple[Path, ...]]):
    bundle, overlays = combination
    deployment = checked(deployed(bundle, overlays), bundle.parent)
    assert deployment.relations


def test_every_bundle_file_is_among_the_checked_ones():
    assert sorted(BUNDLES.glob("*.yaml")) == sorted(STANDALONE_BUNDLES)
    assert {overlay.name for overlay in OVERLAYS} == {"bgp.yaml", "external-ca.yaml", "ha-gateways.yaml"}


def test_the_default_bundle_is_three_machines_each_with_a_central_and_a_chassis():
    deployment = checked(deployed(DEFAULT_BUNDLE), DEFAULT_BUNDLE.parent)
    assert {app: (spec.charm, spec.units, spec.machines) for app, spec in deployment.applications.items()} == {
        "ovn-central": ("ovn-central", 3, (0, 1, 2)),
        "ovn-chassis": ("ovn-chassis", 3, (0, 1, 2)),
    }
    assert deployment.relations == DEFAULT_RELATIONS


def test_the_ha_gateways_overlay_adds_two_gateway_chassis_on_machines_of_their_own():
    deployment = checked(deployed(DEFAULT_BUNDLE, (HA_GATEWAYS,)), DEFAULT_BUNDLE.parent)
    gateway = deployment.applications["ovn-gateway"]
    assert (gateway.charm, gateway.units, gateway.machines) == ("ovn-chassis", 2, (3, 4))
    assert gateway.options == {"gateway": True, "bridge-mappings": "physnet1:br-provider"}
    assert deployment.applications["ovn-chassis"].options == {}  # the hypervisors stay plain chassis
    assert deployment.relations == DEFAULT_RELATIONS | {
        "ovn-central:ovsdb ovn-gateway:ovsdb", "ovn-central:certificates ovn-gateway:certificates",
    }


def test_the_bgp_overlay_relates_the_subordinate_to_its_principal_in_container_scope():
    deployment = checked(deployed(DEFAULT_BUNDLE, (BGP,)), DEFAULT_BUNDLE.parent)
    assert "ovn-bgp:chassis ovn-chassis:juju-info" in deployment.relations
    assert deployment.applications["ovn-bgp"].units == 0


def test_the_readme_lists_every_overlay():
    readme = (BUNDLES.parent / "README.md").read_text()
    for overlay in OVERLAYS:
        assert f"bundles/overlays/{overlay.name}" in readme, overlay.name


# --- each check catches its mistake -------------------------------------------------------------


def set_option(app: str, key: str, value: Any) -> Callable[[dict[str, Any]], None]:
    return lambda bundle: bundle["applications"][app].setdefault("options", {}).__setitem__(key, value)


def set_key(app: str, key: str, value: Any) -> Callable[[dict[str, Any]], None]:
    return lambda bundle: bundle["applications"][app].__setitem__(key, value)


def add_relation(a: str, b: str) -> Callable[[dict[str, Any]], None]:
    return lambda bundle: bundle["relations"].append([a, b])


def rename_key(app: str, old: str, new: str) -> Callable[[dict[str, Any]], None]:
    return lambda bundle: bundle["applications"][app].__setitem__(new, bundle["applications"][app].pop(old))


MUTATIONS: dict[str, tuple[Callable[[dict[str, Any]], None], str]] = {
    "unknown option": (set_option("ovn-central", "election-timr", 16), 'ovn-central: unknown option "election-timr"'),
    "a word for an int": (set_option("ovn-central", "election-timer", "sixteen"), 'option "election-timer" expected int, got str'),
    "a float for an int": (set_option("ovn-central", "election-timer", 16.5), 'option "election-timer" expected int, got float'),
    "a word for a boolean": (set_option("ovn-gateway", "gateway", "yes"), 'option "gateway" expected boolean, got str'),
    "boolean for an int": (set_option("ovn-central", "election-timer", True), 'option "election-timer" expected int, got bool'),
    "int for a string": (set_option("ovn-gateway", "bridge-mappings", 1), 'option "bridge-mappings" expected string, got int'),
    "unknown endpoint": (add_relation("ovn-gateway:ovsdbx", "ovn-central:ovsdb"), 'application "ovn-gateway" has no "ovsdbx" relation'),
    "interfaces that differ": (add_relation("ovn-gateway:certificates", "ovn-central:ovsdb"), "no relations found"),
    "two requirers": (add_relation("ovn-gateway:ovsdb", "ovn-chassis:ovsdb"), "no relations found"),
    "a peer endpoint": (add_relation("ovn-central:cluster", "ovn-chassis"), "no relations found"),
    "unknown application in a relation": (add_relation("ovn-router:ovsdb", "ovn-central:ovsdb"), 'application "ovn-router" not found'),
    "undeclared machine": (set_key("ovn-gateway", "to", ["3", "7"]), 'placement "7" refers to a machine not defined'),
    "more placements than units": (set_key("ovn-gateway", "num_units", 1), 'too many units specified in unit placement for application "ovn-gateway"'),
    "unused machine": (set_key("ovn-gateway", "to", ["3", "3"]), 'machine "4" is not referred to by a placement directive'),
    "unknown local charm": (set_key("ovn-gateway", "charm", "../build/ovn-nothing_amd64.charm"), "ovn-gateway: charm '../build/ovn-nothing_amd64.charm': not one of"),
    "unknown Charmhub charm": (set_key("self-signed-certificates", "charm", "vault-k8s"), "charm 'vault-k8s': not a Charmhub charm"),
    "subordinate with units": (set_key("ovn-bgp", "num_units", 3), 'application "ovn-bgp" is subordinate but has non-zero num_units'),
    "subordinate with placement": (set_key("ovn-bgp", "to", ["0"]), 'application "ovn-bgp" is subordinate but specifies unit placement'),
    "misspelt key": (rename_key("ovn-chassis", "num_units", "num_unit"), "ovn-chassis: unknown keys ['num_unit']"),
    "binding of an unknown endpoint": (set_key("ovn-chassis", "bindings", {"underlay": "alpha"}), 'binding for unknown endpoint "underlay"'),
}


@pytest.mark.parametrize("mistake", sorted(MUTATIONS))
def test_a_mistake_in_a_bundle_is_refused_with_its_reason(mistake: str):
    mutate, reason = MUTATIONS[mistake]
    every_overlay = deployed(DEFAULT_BUNDLE, OVERLAYS)
    checked(every_overlay, DEFAULT_BUNDLE.parent)  # the unmutated bundle passes
    broken = copy.deepcopy(every_overlay)
    mutate(broken)
    with pytest.raises(LabError, match=re.escape(reason)):
        checked(broken, DEFAULT_BUNDLE.parent)


@pytest.mark.parametrize(("kind", "value"), [("int", "16"), ("int", "0x10"), ("float", 2), ("float", "2.5"), ("boolean", "True")])
def test_juju_takes_strings_it_can_read_as_the_options_type(kind: str, value: Any):
    assert bundle_model.juju_accepts(kind, value)


def test_a_saas_offer_of_a_charm_we_do_not_have_is_refused():
    bundle = deployed(BUNDLES / "datapath-only.yaml")
    bundle["saas"]["ovn-central"]["url"] = "admin/ovn.ovn-northd"
    with pytest.raises(LabError, match="is not of one of our charms"):
        checked(bundle, BUNDLES)


def test_an_overlay_that_removes_an_application_drops_its_relations_as_juju_does():
    bundle = bundle_model.merge_overlay(deployed(DEFAULT_BUNDLE, (HA_GATEWAYS,)), {"applications": {"ovn-gateway": None}}, BUNDLES)
    bundle["machines"] = {m: spec for m, spec in bundle["machines"].items() if m in {"0", "1", "2"}}
    assert checked(bundle, BUNDLES).relations == DEFAULT_RELATIONS
