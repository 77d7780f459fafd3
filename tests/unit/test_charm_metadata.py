"""Every charm's charmcraft.yaml says what Charmhub and `juju info` show a user: title, summary,
description, links, and a description (and type) for every config option, action, action
parameter and endpoint."""

from __future__ import annotations

import copy
from pathlib import Path
from urllib.parse import urlparse

import pytest
import yaml

CHARMS = Path(__file__).resolve().parents[2] / "charms"
CHARM_NAMES = ("ovn-central", "ovn-chassis", "ovn-bgp")
# charmcraft 4.5 takes these links as http(s) URLs only (`contact` is free text). `issues` is left
# out: the bundle has no public tracker yet, and OVN's own is not the place for the charms' bugs.
URL_LINKS = ("documentation", "source", "website")
CONFIG_TYPES = {"string", "int", "float", "boolean", "secret"}
PARAM_TYPES = {"string", "integer", "number", "boolean", "array", "object"}


def load(charm: str) -> dict:
    return yaml.safe_load((CHARMS / charm / "charmcraft.yaml").read_text())


def described(entry: object) -> bool:
    return isinstance(entry, dict) and isinstance(entry.get("description"), str) and bool(entry["description"].strip())


def metadata_gaps(metadata: dict) -> list[str]:
    """What a user would miss in this charm's metadata, one line per gap (empty: complete)."""
    gaps = [field for field in ("title", "summary", "description") if not str(metadata.get(field) or "").strip()]
    links = metadata.get("links") or {}
    for link in URL_LINKS:
        if urlparse(str(links.get(link, ""))).scheme not in ("http", "https"):
            gaps.append(f"links.{link}: not an http(s) URL")
    if not str(links.get("contact") or "").strip():
        gaps.append("links.contact")
    for name, option in (metadata.get("config") or {}).get("options", {}).items():
        if not described(option):
            gaps.append(f"config {name}: no description")
        if option.get("type") not in CONFIG_TYPES:
            gaps.append(f"config {name}: type {option.get('type')!r}")
    for name, action in (metadata.get("actions") or {}).items():
        if not described(action):
            gaps.append(f"action {name}: no description")
        if (action or {}).get("additionalProperties") is not False:
            gaps.append(f"action {name}: additionalProperties is not false")
        for param, spec in ((action or {}).get("params") or {}).items():
            if not described(spec):
                gaps.append(f"action {name} param {param}: no description")
            if spec.get("type") not in PARAM_TYPES:
                gaps.append(f"action {name} param {param}: type {spec.get('type')!r}")
    for role in ("requires", "provides", "peers"):
        for name, endpoint in (metadata.get(role) or {}).items():
            if not described(endpoint):
                gaps.append(f"{role} {name}: no description")
    return gaps


@pytest.mark.parametrize("charm", CHARM_NAMES)
def test_every_charm_metadata_is_complete(charm):
    assert metadata_gaps(load(charm)) == []


@pytest.mark.parametrize("charm", CHARM_NAMES)
def test_every_charm_has_config_actions_and_endpoints_to_check(charm):
    metadata = load(charm)
    assert metadata["config"]["options"] and metadata["actions"] and metadata["requires"] | metadata.get("provides", {})


def test_a_removed_description_is_a_gap():
    metadata = copy.deepcopy(load("ovn-central"))
    del metadata["config"]["options"]["election-timer"]["description"]
    metadata["actions"]["set-log-level"]["params"]["level"]["description"] = " "
    del metadata["provides"]["ovsdb"]["description"]
    assert metadata_gaps(metadata) == [
        "config election-timer: no description",
        "action set-log-level param level: no description",
        "provides ovsdb: no description",
    ]


def test_an_untyped_parameter_an_open_action_and_a_relative_link_are_gaps():
    metadata = copy.deepcopy(load("ovn-chassis"))
    del metadata["actions"]["list-certificates"]["params"]["format"]["type"]
    del metadata["actions"]["pause"]["additionalProperties"]
    metadata["links"]["documentation"] = "docs/index.md"
    del metadata["summary"]
    assert metadata_gaps(metadata) == [
        "summary",
        "links.documentation: not an http(s) URL",
        "action list-certificates param format: type None",
        "action pause: additionalProperties is not false",
    ]
